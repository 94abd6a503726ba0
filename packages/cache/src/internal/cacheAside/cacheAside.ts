import { CacheLoadError, type InvalidConfigError, type PersistenceError } from "@integration-patterns/core"
import * as IntegrationPatterns from "@integration-patterns/core/IntegrationPatterns"
import { healthy, type PatternHealth } from "@integration-patterns/core/internal/registry"
import { readSetting } from "@integration-patterns/core/internal/settingDefault"
import { decodeOptions } from "@integration-patterns/core/internal/validation"
import { cacheEvictions, cacheLoads, cacheLookups, PatternMetrics } from "@integration-patterns/core/Metrics"
import * as PatternEvents from "@integration-patterns/core/PatternEvents"
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type * as MetricLabel from "effect/MetricLabel"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { LRUCache } from "lru-cache"
import type { CacheAside, CacheAsideEvent, GetOptions, LoadError, Options, WarmResult } from "../../CacheAside.js"
import { CacheStore, type Partition } from "../../CacheStore.js"
import { type Entry, freshness, type Invalidation, invalidationTarget, makeEntry, type Timing } from "./entry.js"
import { reader } from "./clock.js"
import { checkTogether, defaults, OptionsSchema, resolve, type Resolved } from "./options.js"
import { Counters, type CacheStats } from "./stats.js"

/** Returned by the synchronous lookup when the caller must take the slow path. @internal */
export const MISS: unique symbol = Symbol.for("@integration-patterns/cache/MISS")

type Loader<A, E, R> = (key: string) => Effect.Effect<A, E, R>

/**
 * One load in flight for one key. Every concurrent miss of the key awaits the same
 * deferred, so the loader runs once however many callers miss at the same moment.
 */
interface Flight<A> {
  readonly deferred: Deferred.Deferred<A, unknown>
  /** Lookups waiting on this load; they are counted as hits or misses when it settles. */
  waiters: number
  /** Set when the key was invalidated while the load ran: its result is returned but not stored. */
  invalidated: boolean
}

interface NegativeEntry {
  readonly error: CacheLoadError
  readonly until: number
}

const emptyTags: ReadonlyArray<string> = []

const tagsOf = <B>(options: GetOptions<B> | undefined, value: B): ReadonlyArray<string> =>
  options?.tags === undefined ? emptyTags : typeof options.tags === "function" ? options.tags(value) : options.tags

/** @internal */
export class CacheAsideImpl<A> implements CacheAside<A, PersistenceError> {
  readonly counters: Counters
  private readonly flights = new Map<string, Flight<A>>()
  private readonly negative: LRUCache<string, NegativeEntry> | undefined
  private readonly local: ((key: string, now: number) => Entry<A> | undefined) | undefined
  private readonly timing: Timing
  private readonly metricsOn: boolean
  private readonly hitTags: ReadonlyArray<MetricLabel.MetricLabel>
  private readonly missTags: ReadonlyArray<MetricLabel.MetricLabel>
  private readonly staleTags: ReadonlyArray<MetricLabel.MetricLabel>
  /** Bumped by tag, prefix and whole-cache invalidations: loads started before one are not stored. */
  private epoch = 0
  private storeDown = false
  private readonly now: () => number

  constructor(
    readonly name: string,
    private readonly config: Resolved,
    private readonly partition: Partition<A>,
    counters: Counters,
    clock: Clock.Clock,
    private readonly bus: PatternEvents.PatternEventsService,
    private readonly metrics: PatternMetrics,
    private readonly scope: Scope.Scope
  ) {
    this.counters = counters
    this.now = reader(clock)
    this.local = partition.local
    this.timing = { ttl: config.ttl, staleTtl: config.staleTtl, refreshAhead: config.refreshAhead }
    this.negative = config.negativeTtl > 0
      ? new LRUCache<string, NegativeEntry>({ max: config.maxSize })
      : undefined
    this.metricsOn = metrics.enabled
    this.hitTags = metrics.outcome("hit")
    this.missTags = metrics.outcome("miss")
    this.staleTags = metrics.outcome("stale")
  }

  // ---------------------------------------------------------------------------------
  // Lookup

  /**
   * The hit path, synchronous: a fresh entry in process memory, or {@link MISS}. The
   * Promise facade calls it directly, so both APIs count hits the same way.
   */
  unsafeGetFresh(key: string): A | typeof MISS {
    const local = this.local
    if (local === undefined) return MISS
    const now = this.now()
    const entry = local(key, now)
    if (entry === undefined || now >= entry.refreshAt) return MISS
    this.counters.hits++
    if (this.metricsOn) cacheLookups.unsafeUpdate(1, this.hitTags)
    return entry.value
  }

  get<B extends A, E, R>(
    key: string,
    loader: Loader<B, E, R>,
    options?: GetOptions<B>
  ): Effect.Effect<B, LoadError<E> | PersistenceError, R> {
    return Effect.suspend(() => {
      const value = this.unsafeGetFresh(key)
      return value === MISS ? this.lookup(key, loader, options) : Effect.succeed(value as B)
    })
  }

  private lookup<B extends A, E, R>(
    key: string,
    loader: Loader<B, E, R>,
    options: GetOptions<B> | undefined
  ): Effect.Effect<B, LoadError<E> | PersistenceError, R> {
    const now = this.now()
    const entry = this.local === undefined ? undefined : this.local(key, now)
    if (entry !== undefined) {
      const state = freshness(entry, now)
      if (state !== "expired") {
        if (state === "stale") this.servedStale(key, 1)
        else this.countLookups("hit", 1)
        const value = entry.value as B
        // Refresh-ahead and stale-while-revalidate: one background reload per key.
        return state === "fresh" || this.flights.has(key)
          ? Effect.succeed(value)
          : Effect.as(this.start(key, loader, options, 0, this.partition.remote), value)
      }
    }
    if (this.negative !== undefined) {
      const cached = this.negative.get(key)
      if (cached !== undefined) {
        if (now < cached.until) {
          this.counters.negativeHits++
          return Effect.fail(cached.error as LoadError<E>)
        }
        this.negative.delete(key)
      }
    }
    const joined = this.flights.get(key)
    if (joined !== undefined) {
      joined.waiters++
      return Deferred.await(joined.deferred) as Effect.Effect<B, LoadError<E> | PersistenceError>
    }
    return Effect.flatMap(
      this.start(key, loader, options, 1, this.partition.remote),
      (flight) => Deferred.await(flight.deferred) as Effect.Effect<B, LoadError<E> | PersistenceError>
    )
  }

  /**
   * Joins the key's flight, or registers a new one and forks its job, in one
   * uninterruptible step: a flight registered but never forked would leave its waiters
   * waiting forever.
   */
  private start<B extends A, E, R>(
    key: string,
    loader: Loader<B, E, R>,
    options: GetOptions<B> | undefined,
    waiters: number,
    lookupFirst: boolean
  ): Effect.Effect<Flight<A>, never, R> {
    return Effect.uninterruptible(Effect.suspend(() => {
      const joined = this.flights.get(key)
      if (joined !== undefined) {
        joined.waiters += waiters
        return Effect.succeed(joined)
      }
      const flight = this.register(key, waiters)
      return Effect.as(this.fork(key, loader, options, flight, lookupFirst), flight)
    }))
  }

  private register(key: string, waiters: number): Flight<A> {
    const flight: Flight<A> = { deferred: Deferred.unsafeMake(FiberId.none), waiters, invalidated: false }
    this.flights.set(key, flight)
    return flight
  }

  private fork<B extends A, E, R>(
    key: string,
    loader: Loader<B, E, R>,
    options: GetOptions<B> | undefined,
    flight: Flight<A>,
    lookupFirst: boolean
  ): Effect.Effect<Fiber.RuntimeFiber<void>, never, R> {
    const current = { flight }
    // The fiber starts uninterruptible (it is forked from one), so the guard is in place
    // before anything can interrupt it; the job itself is interruptible, so closing the
    // cache's scope stops a running loader. Whatever ends the job must not leave
    // waiters hanging on the deferred.
    const guarded = Effect.onExit(Effect.interruptible(this.job(key, loader, options, current, lookupFirst)), (exit) =>
      Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => this.settle(key, current.flight, exit, "miss")))
    return Effect.forkIn(guarded, this.scope)
  }

  /**
   * A load runs in a fiber of the cache's own scope, not in the caller's: a caller that
   * is interrupted stops waiting, and the other waiters still get the value.
   */
  private job<B extends A, E, R>(
    key: string,
    loader: Loader<B, E, R>,
    options: GetOptions<B> | undefined,
    current: { flight: Flight<A> },
    lookupFirst: boolean
  ): Effect.Effect<void, never, R> {
    const self = this
    return Effect.gen(function*() {
      if (lookupFirst) {
        const found = yield* Effect.either(self.partition.get(key))
        if (found._tag === "Right") {
          self.storeRecovered()
          const entry = found.right
          const now = self.now()
          const state = entry === undefined ? "expired" : freshness(entry, now)
          if (entry !== undefined && state !== "expired") {
            self.settle(key, current.flight, Exit.succeed(entry.value), state === "stale" ? "stale" : "hit")
            // Refresh-ahead or stale: reload in the background, unless another load already does.
            if (state === "fresh" || self.flights.has(key)) return
            current.flight = self.register(key, 0)
          }
        } else if (found.left.reason === "Decode") {
          self.decodeFailed(key, found.left)
        } else {
          self.storeFailed("get", key, found.left)
          if (self.config.failClosed && found.left.reason === "Unavailable") {
            return self.settle(key, current.flight, Exit.fail(found.left), "miss")
          }
        }
      }
      const flight = current.flight
      if (flight.waiters > 0) self.missed(key)
      const epoch = self.epoch
      const started = self.now()
      const result = yield* Effect.exit(loader(key))
      const now = self.now()
      if (Exit.isFailure(result)) return self.settle(key, flight, self.loadFailed(key, result.cause, now), "miss")
      const value = result.value
      self.loaded(key, now - started, flight.waiters === 0)
      self.negative?.delete(key)
      if (!flight.invalidated && epoch === self.epoch) {
        yield* self.store(key, makeEntry(value, tagsOf(options, value), now, self.timing))
      }
      self.settle(key, flight, Exit.succeed(value), "miss")
    })
  }

  private settle(
    key: string,
    flight: Flight<A>,
    exit: Exit.Exit<unknown, unknown>,
    outcome: "hit" | "miss" | "stale"
  ): void {
    if (this.flights.get(key) === flight) this.flights.delete(key)
    const waiters = flight.waiters
    flight.waiters = 0
    if (waiters > 0) {
      if (outcome === "stale") this.servedStale(key, waiters)
      else this.countLookups(outcome, waiters)
    }
    Deferred.unsafeDone(flight.deferred, exit as Exit.Exit<A, unknown>)
  }

  private countLookups(outcome: "hit" | "miss", n: number): void {
    if (outcome === "hit") {
      this.counters.hits += n
      if (this.metricsOn) cacheLookups.unsafeUpdate(n, this.hitTags)
    } else {
      this.counters.misses += n
      if (this.metricsOn) cacheLookups.unsafeUpdate(n, this.missTags)
    }
  }

  private loadFailed(key: string, cause: Cause.Cause<unknown>, now: number): Exit.Exit<A, unknown> {
    if (Cause.isInterruptedOnly(cause)) return Exit.failCause(cause)
    this.counters.loadFailures++
    this.metrics.count(cacheLoads, "failure")
    const failure = Cause.failureOption(cause)
    // Defects stay defects: only a typed failure becomes a CacheLoadError.
    if (failure._tag === "None") return Exit.failCause(cause)
    const error = new CacheLoadError({ cache: this.name, key, cause: failure.value })
    if (this.negative !== undefined) {
      this.negative.set(key, { error, until: now + this.config.negativeTtl })
    }
    if (this.bus.active) this.publish({ _tag: "CacheLoadFailed", key, error, timestamp: now })
    return Exit.fail(error)
  }

  private store(key: string, entry: Entry<A>): Effect.Effect<void> {
    return Effect.matchEffect(this.partition.set(key, entry), {
      onFailure: (error) => Effect.sync(() => this.storeFailed("set", key, error)),
      onSuccess: () => Effect.sync(() => this.storeRecovered())
    })
  }

  // ---------------------------------------------------------------------------------
  // Writes, invalidation, warming

  set(key: string, value: A, options?: GetOptions<A>): Effect.Effect<void, PersistenceError> {
    return Effect.suspend(() => {
      const now = this.now()
      const tags = tagsOf(options, value)
      this.markInvalidated({ _tag: "Key", key })
      this.negative?.delete(key)
      return this.partition.set(key, makeEntry(value, tags, now, this.timing)).pipe(
        Effect.tapBoth({
          onFailure: (error) => Effect.sync(() => this.storeFailed("set", key, error)),
          onSuccess: () => Effect.sync(() => this.storeRecovered())
        })
      )
    })
  }

  invalidate(key: string): Effect.Effect<void, PersistenceError> {
    return this.apply({ _tag: "Key", key })
  }

  invalidateTag(tag: string): Effect.Effect<void, PersistenceError> {
    return this.apply({ _tag: "Tag", tag })
  }

  invalidatePrefix(prefix: string): Effect.Effect<void, PersistenceError> {
    return this.apply({ _tag: "Prefix", prefix })
  }

  get invalidateAll(): Effect.Effect<void, PersistenceError> {
    return this.apply({ _tag: "All" })
  }

  private apply(invalidation: Invalidation): Effect.Effect<void, PersistenceError> {
    return Effect.suspend(() => {
      this.markInvalidated(invalidation)
      return this.partition.invalidate(invalidation).pipe(
        Effect.tapBoth({
          onFailure: (error) =>
            Effect.sync(() => this.storeFailed("invalidate", invalidationTarget(invalidation), error)),
          onSuccess: (removed) =>
            Effect.sync(() => {
              this.storeRecovered()
              this.invalidated(invalidation, removed, "local")
            })
        }),
        Effect.asVoid
      )
    })
  }

  /** Another node's invalidation reached this node's memory copies. */
  remoteInvalidation(invalidation: Invalidation, removed: number): void {
    this.markInvalidated(invalidation)
    this.invalidated(invalidation, removed, "remote")
  }

  private markInvalidated(invalidation: Invalidation): void {
    if (invalidation._tag === "Key") {
      const flight = this.flights.get(invalidation.key)
      if (flight !== undefined) flight.invalidated = true
      this.negative?.delete(invalidation.key)
      return
    }
    this.epoch++
    if (this.negative === undefined) return
    if (invalidation._tag === "Prefix") {
      for (const key of [...this.negative.keys()]) if (key.startsWith(invalidation.prefix)) this.negative.delete(key)
    } else {
      this.negative.clear()
    }
  }

  refresh<B extends A, E, R>(
    key: string,
    loader: Loader<B, E, R>,
    options?: GetOptions<B>
  ): Effect.Effect<B, LoadError<E> | PersistenceError, R> {
    return Effect.flatMap(
      this.start(key, loader, options, 0, false),
      (flight) => Deferred.await(flight.deferred) as Effect.Effect<B, LoadError<E> | PersistenceError>
    )
  }

  warm<B extends A, E, R>(
    keys: Iterable<string>,
    loader: Loader<B, E, R>,
    options?: GetOptions<B>
  ): Effect.Effect<WarmResult, never, R> {
    return Effect.suspend(() => {
      let loaded = 0
      let failed = 0
      return Effect.forEach(
        keys,
        (key) =>
          Effect.matchCause(this.refresh(key, loader, options), {
            onFailure: () => {
              failed++
            },
            onSuccess: () => {
              loaded++
            }
          }),
        { concurrency: this.config.warmConcurrency, discard: true }
      ).pipe(Effect.map((): WarmResult => ({ loaded, failed })))
    })
  }

  warmOn<B extends A, E, R, Out, RS>(
    schedule: Schedule.Schedule<Out, WarmResult, RS>,
    keys: Iterable<string> | Effect.Effect<Iterable<string>, never, R>,
    loader: Loader<B, E, R>,
    options?: GetOptions<B>
  ): Effect.Effect<Fiber.RuntimeFiber<Out>, never, R | RS | Scope.Scope> {
    const keysEffect = Effect.isEffect(keys) ? keys : Effect.succeed(keys)
    return Effect.forkScoped(
      Effect.repeat(Effect.flatMap(keysEffect, (ks) => this.warm(ks, loader, options)), schedule)
    )
  }

  // ---------------------------------------------------------------------------------
  // Stats, health, events

  get stats(): Effect.Effect<CacheStats> {
    return Effect.sync(() => this.snapshot())
  }

  snapshot(): CacheStats {
    return this.counters.snapshot(this.partition.size(), this.partition.available())
  }

  health(): PatternHealth {
    return this.partition.available()
      ? healthy
      : { status: "degraded", reasons: [`cache store (${this.config.store?.backend ?? "memory"}) unavailable`] }
  }

  /** Counts an eviction the store made (size or expiry). */
  evicted(reason: "size" | "ttl"): void {
    this.counters.evictions++
    if (this.metricsOn) cacheEvictions.unsafeUpdate(1, this.metrics.reason(reason))
  }

  private invalidated(invalidation: Invalidation, removed: number, origin: "local" | "remote"): void {
    if (removed > 0) {
      this.counters.evictions += removed
      if (this.metricsOn) cacheEvictions.unsafeUpdate(removed, this.metrics.reason("invalidated"))
    }
    if (this.bus.active) {
      this.publish({
        _tag: "CacheInvalidated",
        target: invalidation._tag,
        value: invalidationTarget(invalidation),
        removed,
        origin,
        timestamp: this.now()
      })
    }
  }

  private servedStale(key: string, n: number): void {
    this.counters.staleServed += n
    if (this.metricsOn) cacheLookups.unsafeUpdate(n, this.staleTags)
    if (this.bus.active) this.publish({ _tag: "CacheStaleServed", key, timestamp: this.now() })
  }

  private missed(key: string): void {
    if (this.bus.active) this.publish({ _tag: "CacheMiss", key, timestamp: this.now() })
  }

  private loaded(key: string, durationMs: number, background: boolean): void {
    this.counters.loads++
    this.metrics.count(cacheLoads, "success")
    if (this.bus.active) {
      this.publish({
        _tag: "CacheLoaded",
        key,
        durationMs,
        background,
        timestamp: this.now()
      })
    }
  }

  private decodeFailed(key: string, error: PersistenceError): void {
    this.counters.decodeErrors++
    if (this.bus.active) {
      this.publish({ _tag: "CacheDecodeFailed", key, error, timestamp: this.now() })
    }
  }

  private storeFailed(operation: "get" | "set" | "invalidate", key: string, error: PersistenceError): void {
    this.counters.storeErrors++
    if (error.reason === "Encode") {
      if (this.bus.active) {
        this.publish({ _tag: "CacheEncodeFailed", key, error, timestamp: this.now() })
      }
      return
    }
    if (this.storeDown) return
    this.storeDown = true
    if (this.bus.active) {
      this.publish({
        _tag: "CacheStoreUnavailable",
        operation,
        error,
        timestamp: this.now()
      })
    }
  }

  private storeRecovered(): void {
    if (!this.storeDown) return
    this.storeDown = false
    if (this.bus.active) this.publish({ _tag: "CacheStoreRecovered", timestamp: this.now() })
  }

  private publish(event: DistributiveOmit<CacheAsideEvent, "pattern" | "name">): void {
    this.bus.unsafePublish({ ...event, pattern: "CacheAside", name: this.name } as CacheAsideEvent)
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/**
 * Builds a cache without registering it; the Promise facade registers its own
 * instances weakly.
 *
 * @internal
 */
export const makeUnregistered = (
  config: Resolved
): Effect.Effect<CacheAsideImpl<any>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* IntegrationPatterns.settings
    const bus = yield* PatternEvents.PatternEvents
    // The clock is read synchronously on the hit path; the one in force at construction
    // (TestClock in tests) is the one the cache keeps.
    const clock = yield* Effect.clock
    const scope = yield* Effect.scope
    const store = config.store ?? (yield* CacheStore)
    const enableMetrics = config.enableMetrics ?? readSetting(defaults.enableMetrics, settings)
    const metrics = new PatternMetrics("CacheAside", config.name, enableMetrics)
    const counters = new Counters()
    let impl: CacheAsideImpl<any> | undefined
    const partition = yield* store.open({
      name: config.name,
      maxSize: config.maxSize,
      schema: config.schema,
      onEvict: (reason) => impl?.evicted(reason),
      onRemoteInvalidation: (invalidation, removed) => impl?.remoteInvalidation(invalidation, removed)
    })
    impl = new CacheAsideImpl(config.name, config, partition, counters, clock, bus, metrics, scope)
    return impl
  })

/** @internal */
export const make = (options: Options<any, any>): Effect.Effect<CacheAsideImpl<any>, InvalidConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const decoded = yield* Effect.flatMap(decodeOptions("CacheAside", OptionsSchema, options), checkTogether)
    const impl = yield* makeUnregistered(resolve(decoded))
    yield* IntegrationPatterns.register({
      kind: "CacheAside",
      name: impl.name,
      stats: () => impl.snapshot(),
      health: () => impl.health()
    })
    return impl
  })
