import { type ConfigIssue, InvalidConfigError } from "@integration-patterns/core"
import { globalRegistry, type PatternHealth } from "@integration-patterns/core/internal/registry"
import { decodeOptionsSync, Name, PositiveInt } from "@integration-patterns/core/internal/validation"
import type { SettingDefault } from "@integration-patterns/core/IntegrationPatterns"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type { CacheStats, GetOptions, WarmResult } from "../CacheAside.js"
import { memory } from "../CacheStore.js"
import { type CacheAsideImpl, makeUnregistered, MISS } from "../internal/cacheAside/cacheAside.js"
import { defaults, type Resolved } from "../internal/cacheAside/options.js"
import { redisDefaults } from "../internal/cacheStore/options.js"
import { Counters } from "../internal/cacheAside/stats.js"

/**
 * Options of the Promise-API {@link CacheAside}. **Durations are in seconds** here
 * (`ttl: 3600` is one hour), unlike the rest of the Promise API, which takes
 * milliseconds.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CacheAsideOptions {
  /** Names the cache in metrics, events and health, and namespaces its keys in Redis. Defaults to `"cache"`. */
  readonly name?: string
  /** How long an entry is fresh, in seconds. */
  readonly ttl: number
  /** The most entries held in process memory. Defaults to 10,000. */
  readonly maxSize?: number
  /**
   * Where entries live: `memory` (the default), `redis`, or `two-level` (memory in front
   * of Redis, kept coherent across processes by pub/sub).
   */
  readonly storage?: "memory" | "redis" | "two-level"
  /** The Redis URL for `redis` and `two-level`. Defaults to the `REDIS_URL` environment variable. */
  readonly redisUrl?: string
  /** Prepended to every Redis key. Defaults to `"cache:"`. */
  readonly keyPrefix?: string
  /** Seconds after `ttl` during which a stale value is served while one background reload runs. Defaults to 0. */
  readonly staleTtl?: number
  /** Seconds before expiry at which a read schedules a background reload. Defaults to 0 (off). */
  readonly refreshAhead?: number
  /** Seconds a loader failure is remembered (negative caching). Defaults to off. */
  readonly negativeTtl?: number
  /** When Redis is unreachable: call the loader (`fail-open`, the default) or reject (`fail-closed`). */
  readonly onStoreUnavailable?: "fail-open" | "fail-closed"
  /** Record Effect metrics. Defaults to the `IntegrationPatterns` settings. */
  readonly enableMetrics?: boolean
}

const Seconds = Schema.Number.pipe(
  Schema.filter((n) => (Number.isFinite(n) && n > 0) || `expected a finite number of seconds greater than 0, got ${n}`)
)
const NonNegativeSeconds = Schema.Number.pipe(
  Schema.filter((n) => (Number.isFinite(n) && n >= 0) || `expected a finite number of seconds of 0 or more, got ${n}`)
)

const OptionsSchema = Schema.Struct({
  name: Schema.optional(Name),
  ttl: Seconds,
  maxSize: Schema.optional(PositiveInt),
  storage: Schema.optional(Schema.Literal("memory", "redis", "two-level")),
  redisUrl: Schema.optional(Name),
  keyPrefix: Schema.optional(Schema.String),
  staleTtl: Schema.optional(NonNegativeSeconds),
  refreshAhead: Schema.optional(NonNegativeSeconds),
  negativeTtl: Schema.optional(Seconds),
  onStoreUnavailable: Schema.optional(Schema.Literal("fail-open", "fail-closed")),
  enableMetrics: Schema.optional(Schema.Boolean)
})

const checkTogether = (o: typeof OptionsSchema.Type): void => {
  const issues: Array<ConfigIssue> = []
  if (o.refreshAhead !== undefined && o.refreshAhead >= o.ttl) {
    issues.push({ path: "refreshAhead", message: "must be shorter than ttl" })
  }
  if ((o.storage ?? "memory") !== "memory" && o.redisUrl === undefined && process.env.REDIS_URL === undefined) {
    issues.push({ path: "redisUrl", message: `is required for storage "${o.storage}" when REDIS_URL is not set` })
  }
  if (issues.length > 0) throw new InvalidConfigError({ pattern: "CacheAside", issues })
}

const run = <A>(effect: Effect.Effect<A, unknown>): Promise<A> =>
  new Promise((resolve, reject) => {
    Effect.runCallback(effect, {
      onExit: (exit) => Exit.isSuccess(exit) ? resolve(exit.value) : reject(Cause.squash(exit.cause))
    })
  })

const fromPromise = <T>(loader: (key: string) => Promise<T>) => (key: string): Effect.Effect<T, unknown> =>
  Effect.tryPromise({ try: () => loader(key), catch: (error) => error })

/**
 * Cache-aside for Promise code.
 *
 * ```ts
 * const users = new CacheAside<User>({ name: "users", ttl: 3600, maxSize: 1000, storage: "redis" })
 * const user = await users.get(`user:${id}`, async (key) => db.findUser(key))
 * ```
 *
 * - `ttl` and every other duration are in **seconds**.
 * - A hit answers without entering the Effect runtime; misses, loads and invalidations
 *   run the same code as the Effect API, so both make the same decisions.
 * - A loader's rejection becomes a `CacheLoadError` whose `cause` is the rejection
 *   reason; it is not cached unless `negativeTtl` is set.
 * - With `redis` or `two-level` storage, call `close()` to release the connections.
 *
 * @since 0.1.0
 * @category Constructors
 */
export class CacheAside<T = unknown> {
  /**
   * The defaults of optional options, in seconds where a duration. `enableMetrics` is
   * the setting in force.
   */
  static readonly defaults: {
    readonly name: string
    readonly maxSize: number
    readonly storage: "memory"
    readonly keyPrefix: string
    readonly staleTtl: number
    readonly refreshAhead: number
    readonly onStoreUnavailable: "fail-open"
    readonly enableMetrics: SettingDefault<"enableMetrics">
  } = {
    name: "cache",
    maxSize: defaults.maxSize,
    storage: "memory",
    keyPrefix: redisDefaults.prefix,
    staleTtl: Duration.toSeconds(defaults.staleTtl),
    refreshAhead: Duration.toSeconds(defaults.refreshAhead),
    onStoreUnavailable: defaults.onStoreUnavailable,
    enableMetrics: defaults.enableMetrics
  }

  readonly name: string
  private impl: CacheAsideImpl<T> | undefined
  private readonly ready: Promise<CacheAsideImpl<T>>
  private readonly scope: Scope.CloseableScope

  /** @throws InvalidConfigError when an option is bad (every problem is listed). */
  constructor(options: CacheAsideOptions) {
    const o = decodeOptionsSync("CacheAside", OptionsSchema, options)
    checkTogether(o)
    const d = CacheAside.defaults
    this.name = o.name ?? d.name
    const storage = o.storage ?? d.storage
    const config: Resolved = {
      name: this.name,
      ttl: o.ttl * 1000,
      staleTtl: (o.staleTtl ?? d.staleTtl) * 1000,
      refreshAhead: (o.refreshAhead ?? d.refreshAhead) * 1000,
      negativeTtl: (o.negativeTtl ?? 0) * 1000,
      maxSize: o.maxSize ?? d.maxSize,
      schema: undefined,
      store: memory,
      failClosed: (o.onStoreUnavailable ?? d.onStoreUnavailable) === "fail-closed",
      warmConcurrency: defaults.warmConcurrency,
      enableMetrics: o.enableMetrics
    }
    this.scope = Effect.runSync(Scope.make())
    if (storage === "memory") {
      const impl = Effect.runSync(Scope.extend(makeUnregistered(config), this.scope))
      this.impl = impl
      this.ready = Promise.resolve(impl)
    } else {
      // ioredis is an optional peer dependency: it is loaded only for Redis storage.
      this.ready = import("../internal/cacheStore/redis.js").then((redis) =>
        run(Scope.extend(
          Effect.flatMap(
            redis.make({
              client: undefined,
              url: o.redisUrl ?? process.env.REDIS_URL,
              redis: undefined,
              prefix: o.keyPrefix ?? d.keyPrefix,
              twoLevel: storage === "two-level",
              commandTimeout: Duration.toMillis(redisDefaults.commandTimeout),
              connectTimeout: Duration.toMillis(redisDefaults.connectTimeout)
            }),
            (store) => makeUnregistered({ ...config, store })
          ),
          this.scope
        ))
      ).then((impl) => (this.impl = impl))
    }
    globalRegistry.registerWeak(this, "CacheAside", this.name, {
      stats: (cache) => cache.getStats(),
      health: (cache) => cache.health()
    })
  }

  /**
   * The value for `key`: cached, or loaded by `loader` and stored. Concurrent misses of
   * one key share one loader call. Rejects with `CacheLoadError` when the loader fails
   * (and, for a fail-closed cache, with `PersistenceError` when Redis is unreachable).
   */
  get<V extends T>(key: string, loader: (key: string) => Promise<V>, options?: GetOptions<V>): Promise<V> {
    const impl = this.impl
    if (impl === undefined) return this.ready.then(() => this.get(key, loader, options))
    const value = impl.unsafeGetFresh(key)
    if (value !== MISS) return Promise.resolve(value as V)
    return run(impl.get(key, fromPromise(loader), options))
  }

  /** Stores a value directly. Rejects with `PersistenceError` when the store cannot take it. */
  set(key: string, value: T, options?: GetOptions<T>): Promise<void> {
    return this.ready.then((impl) => run(impl.set(key, value, options)))
  }

  /** Removes one key (on every node, with `two-level` storage). */
  invalidate(key: string): Promise<void> {
    return this.ready.then((impl) => run(impl.invalidate(key)))
  }

  /** Removes every entry carrying `tag`. */
  invalidateTag(tag: string): Promise<void> {
    return this.ready.then((impl) => run(impl.invalidateTag(tag)))
  }

  /** Removes every key starting with `prefix`. */
  invalidatePrefix(prefix: string): Promise<void> {
    return this.ready.then((impl) => run(impl.invalidatePrefix(prefix)))
  }

  /** Removes every entry of this cache. */
  clear(): Promise<void> {
    return this.ready.then((impl) => run(impl.invalidateAll))
  }

  /** Loads and stores each key; failures are counted, never thrown. */
  warm<V extends T>(keys: Iterable<string>, loader: (key: string) => Promise<V>): Promise<WarmResult> {
    return this.ready.then((impl) => run(impl.warm(keys, fromPromise(loader))))
  }

  /** Hits, misses, loads, load failures, evictions, stale served and the hit ratio. */
  getStats(): CacheStats {
    return this.impl?.snapshot() ?? new Counters().snapshot(0, false)
  }

  /** `degraded` while Redis is unreachable. */
  health(): PatternHealth {
    return this.impl?.health() ?? { status: "degraded", reasons: ["cache store connecting"] }
  }

  /** Stops background reloads and closes Redis connections. */
  close(): Promise<void> {
    return this.ready.then(
      () => run(Scope.close(this.scope, Exit.void)),
      () => run(Scope.close(this.scope, Exit.void))
    )
  }
}

