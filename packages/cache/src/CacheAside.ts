/**
 * Cache-aside: look a key up, and on a miss call the loader, store what it returns and
 * return it.
 *
 * - **Single flight.** Concurrent misses of one key share one loader call.
 * - **Loader failures** become {@link LoadError} (a `CacheLoadError` carrying the
 *   loader's typed error as `cause`) and are not cached, unless `negativeTtl` asks for a
 *   short negative entry.
 * - **Freshness.** Within `staleTtl` after expiry a stale value is served while one
 *   background reload runs; with `refreshAhead`, a key read shortly before it expires
 *   is reloaded in the background, so hot keys never miss.
 * - **Invalidation** by key, by tag (`user:42`), by prefix, or everything; with the
 *   two-level Redis store an invalidation reaches every node's memory copies.
 * - **Store failures never fail a lookup** (`fail-open`, the default): the loader is
 *   called instead, an event is published, and the cache recovers by itself.
 *
 * The store is the {@link CacheStore.CacheStore} service: memory by default, Redis or
 * two levels by Layer.
 *
 * @since 0.1.0
 */
import type { CacheLoadError, InvalidConfigError, PersistenceError } from "@integration-patterns/core"
import type { PatternEventBase } from "@integration-patterns/core/PatternEvents"
import type { SettingDefault } from "@integration-patterns/core/IntegrationPatterns"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { CacheStoreService, Invalidation } from "./CacheStore.js"
import * as internal from "./internal/cacheAside/cacheAside.js"
import { defaults as internalDefaults } from "./internal/cacheAside/options.js"
import type * as stats from "./internal/cacheAside/stats.js"

// -------------------------------------------------------------------------------------
// Events
// -------------------------------------------------------------------------------------

interface CacheAsideEventBase extends PatternEventBase {
  readonly pattern: "CacheAside"
}

/**
 * A key was not in the cache (or had expired) and its loader is called. One event per
 * load, however many callers share it.
 *
 * @since 0.1.0
 * @category Events
 */
export interface CacheMiss extends CacheAsideEventBase {
  readonly _tag: "CacheMiss"
  readonly key: string
}

/**
 * A stale value was served while a background reload runs.
 *
 * @since 0.1.0
 * @category Events
 */
export interface CacheStaleServed extends CacheAsideEventBase {
  readonly _tag: "CacheStaleServed"
  readonly key: string
}

/**
 * A loader call succeeded. `background` is true for refreshes and warming nobody
 * waited for.
 *
 * @since 0.1.0
 * @category Events
 */
export interface CacheLoaded extends CacheAsideEventBase {
  readonly _tag: "CacheLoaded"
  readonly key: string
  readonly durationMs: number
  readonly background: boolean
}

/**
 * A loader call failed with a typed error.
 *
 * @since 0.1.0
 * @category Events
 */
export interface CacheLoadFailed extends CacheAsideEventBase {
  readonly _tag: "CacheLoadFailed"
  readonly key: string
  readonly error: CacheLoadError
}

/**
 * Entries were invalidated, on this node (`local`) or by another node through the
 * two-level store's pub/sub (`remote`). `removed` counts the entries this node's store
 * knows it removed.
 *
 * @since 0.1.0
 * @category Events
 */
export interface CacheInvalidated extends CacheAsideEventBase {
  readonly _tag: "CacheInvalidated"
  readonly target: Invalidation["_tag"]
  /** The key, tag or prefix; empty for `All`. */
  readonly value: string
  readonly removed: number
  readonly origin: "local" | "remote"
}

/**
 * A stored entry could not be decoded; the lookup counted as a miss and the loader
 * replaced the entry.
 *
 * @since 0.1.0
 * @category Events
 */
export interface CacheDecodeFailed extends CacheAsideEventBase {
  readonly _tag: "CacheDecodeFailed"
  readonly key: string
  readonly error: PersistenceError
}

/**
 * A loaded value could not be encoded for the store; it was returned but not stored.
 *
 * @since 0.1.0
 * @category Events
 */
export interface CacheEncodeFailed extends CacheAsideEventBase {
  readonly _tag: "CacheEncodeFailed"
  readonly key: string
  readonly error: PersistenceError
}

/**
 * The store became unreachable. Published once per outage; lookups call the loader
 * (`fail-open`) or fail (`fail-closed`) until {@link CacheStoreRecovered}.
 *
 * @since 0.1.0
 * @category Events
 */
export interface CacheStoreUnavailable extends CacheAsideEventBase {
  readonly _tag: "CacheStoreUnavailable"
  readonly operation: "get" | "set" | "invalidate"
  readonly error: PersistenceError
}

/**
 * The store answered again after an outage.
 *
 * @since 0.1.0
 * @category Events
 */
export interface CacheStoreRecovered extends CacheAsideEventBase {
  readonly _tag: "CacheStoreRecovered"
}

/**
 * Every event a cache publishes. Hits publish nothing: they are counted in stats and
 * metrics, and stay free of event work.
 *
 * @since 0.1.0
 * @category Events
 */
export type CacheAsideEvent =
  | CacheMiss
  | CacheStaleServed
  | CacheLoaded
  | CacheLoadFailed
  | CacheInvalidated
  | CacheDecodeFailed
  | CacheEncodeFailed
  | CacheStoreUnavailable
  | CacheStoreRecovered

declare module "@integration-patterns/core/PatternEvents" {
  interface PatternEventRegistry {
    readonly CacheAside: CacheAsideEvent
  }
}

// -------------------------------------------------------------------------------------
// Models
// -------------------------------------------------------------------------------------

/**
 * A loader failure: a `CacheLoadError` whose `cause` is the loader's typed error.
 *
 * @since 0.1.0
 * @category Errors
 */
export type LoadError<E> = CacheLoadError & { readonly cause: E }

/**
 * A snapshot of a cache's counters.
 *
 * @since 0.1.0
 * @category Models
 */
export type CacheStats = stats.CacheStats

/**
 * Per-call options of `get`, `set`, `refresh` and `warm`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface GetOptions<A> {
  /**
   * Tags the stored entry carries, such as `user:42`; `invalidateTag` removes every entry
   * carrying the tag. A function receives the loaded value.
   */
  readonly tags?: ReadonlyArray<string> | ((value: A) => ReadonlyArray<string>)
}

/**
 * What one round of warming did.
 *
 * @since 0.1.0
 * @category Models
 */
export interface WarmResult {
  readonly loaded: number
  readonly failed: number
}

/**
 * A cache of values of type `A`. `StoreError` is `never` for a fail-open cache (the
 * default) and `PersistenceError` for a fail-closed one.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CacheAside<A = unknown, StoreError = never> {
  readonly name: string
  /**
   * The value for `key`: from the cache when it holds a fresh (or, within `staleTtl`,
   * stale) entry; otherwise from `loader`, whose result is stored. Concurrent misses of
   * one key share one loader call. A key must always be loaded by the same loader.
   */
  get<B extends A, E, R>(
    key: string,
    loader: (key: string) => Effect.Effect<B, E, R>,
    options?: GetOptions<B>
  ): Effect.Effect<B, LoadError<E> | StoreError, R>
  /** Stores a value directly (write-through). Fails when the store cannot take it. */
  set(key: string, value: A, options?: GetOptions<A>): Effect.Effect<void, PersistenceError>
  /** Loads `key` now and stores it, whatever the cache holds; shares an ongoing load of the key. */
  refresh<B extends A, E, R>(
    key: string,
    loader: (key: string) => Effect.Effect<B, E, R>,
    options?: GetOptions<B>
  ): Effect.Effect<B, LoadError<E> | StoreError, R>
  /** Removes one key. */
  invalidate(key: string): Effect.Effect<void, PersistenceError>
  /** Removes every entry carrying `tag`. */
  invalidateTag(tag: string): Effect.Effect<void, PersistenceError>
  /** Removes every key starting with `prefix`. */
  invalidatePrefix(prefix: string): Effect.Effect<void, PersistenceError>
  /** Removes every entry of this cache. */
  readonly invalidateAll: Effect.Effect<void, PersistenceError>
  /** Loads and stores each key (`warmConcurrency` at a time); failures are counted, never raised. */
  warm<B extends A, E, R>(
    keys: Iterable<string>,
    loader: (key: string) => Effect.Effect<B, E, R>,
    options?: GetOptions<B>
  ): Effect.Effect<WarmResult, never, R>
  /**
   * Warms on a schedule, in a fiber of the current scope: once now, then at each
   * recurrence. `keys` may be an effect, read again on every round.
   */
  warmOn<B extends A, E, R, Out, RS>(
    schedule: Schedule.Schedule<Out, WarmResult, RS>,
    keys: Iterable<string> | Effect.Effect<Iterable<string>, never, R>,
    loader: (key: string) => Effect.Effect<B, E, R>,
    options?: GetOptions<B>
  ): Effect.Effect<Fiber.RuntimeFiber<Out>, never, R | RS | Scope.Scope>
  /** A snapshot of the counters. */
  readonly stats: Effect.Effect<CacheStats>
}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options<A = unknown, I = A> {
  /** Names the cache in metrics, events and health, and namespaces its keys in the store. */
  readonly name: string
  /** How long an entry is fresh. Must be finite. */
  readonly ttl: Duration.DurationInput
  /** The most entries held in process memory. Defaults to 10,000. */
  readonly maxSize?: number
  /** The store; defaults to the `CacheStore` service (memory when no Layer provides one). */
  readonly store?: CacheStoreService
  /** Encodes values for Redis; plain JSON when absent. Unused by the memory store. */
  readonly schema?: Schema.Schema<A, I>
  /** How long after `ttl` a stale value is still served while one background reload runs. Defaults to 0 (off). */
  readonly staleTtl?: Duration.DurationInput
  /**
   * How long before expiry a read schedules a background reload (refresh-ahead).
   * Defaults to 0 (off); must be shorter than `ttl`.
   */
  readonly refreshAhead?: Duration.DurationInput
  /** Caches loader failures in process memory for this long. Defaults to off. */
  readonly negativeTtl?: Duration.DurationInput
  /** `fail-open` (the default): when the store is unreachable, call the loader. See {@link FailClosedOptions}. */
  readonly onStoreUnavailable?: "fail-open"
  /** How many keys `warm` loads at once. Defaults to 16. */
  readonly warmConcurrency?: number
  /** Record Effect metrics. Defaults to `IntegrationPatterns` settings' `enableMetrics`. */
  readonly enableMetrics?: boolean
}

/**
 * Options of a fail-closed cache: when the store is unreachable, a miss fails with
 * `PersistenceError` instead of calling the loader (for loaders the cache protects
 * from load they cannot take).
 *
 * @since 0.1.0
 * @category Models
 */
export interface FailClosedOptions<A = unknown, I = A> extends Omit<Options<A, I>, "onStoreUnavailable"> {
  readonly onStoreUnavailable: "fail-closed"
}

/**
 * The defaults of optional options. `enableMetrics` is the setting in force.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly maxSize: number
  readonly staleTtl: Duration.Duration
  readonly refreshAhead: Duration.Duration
  readonly onStoreUnavailable: "fail-open"
  readonly warmConcurrency: number
  readonly enableMetrics: SettingDefault<"enableMetrics">
} = internalDefaults

// -------------------------------------------------------------------------------------
// Constructors
// -------------------------------------------------------------------------------------

/**
 * Builds a cache for the lifetime of the scope (background reloads run in it, and the
 * cache is registered for health reporting until it closes).
 *
 * @example
 * ```ts
 * import { CacheAside } from "@integration-patterns/cache"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const cache = yield* CacheAside.make({ name: "users", ttl: "5 minutes", maxSize: 1000 })
 *   return yield* cache.get("user:42", (key) => Effect.succeed({ id: key }))
 * })
 *
 * Effect.runPromise(Effect.scoped(program))
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: {
  <A = unknown, I = A>(
    options: FailClosedOptions<A, I>
  ): Effect.Effect<CacheAside<A, PersistenceError>, InvalidConfigError, Scope.Scope>
  <A = unknown, I = A>(options: Options<A, I>): Effect.Effect<CacheAside<A>, InvalidConfigError, Scope.Scope>
} = internal.make as any

/**
 * The default cache service. For caches of one value type, make a tag of your own
 * (`Context.GenericTag<CacheAside<User>>("UserCache")`) and provide it with
 * `Layer.scoped(tag, CacheAside.make({ ..., schema: User }))`.
 *
 * @since 0.1.0
 * @category Tags
 */
export const CacheAside: Context.Tag<CacheAside, CacheAside> = Context.GenericTag<CacheAside>(
  "@integration-patterns/cache/CacheAside"
)

/**
 * Provides the default cache service.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = <A, I>(options: Options<A, I>): Layer.Layer<CacheAside, InvalidConfigError> =>
  Layer.scoped(CacheAside, make(options) as Effect.Effect<CacheAside, InvalidConfigError, Scope.Scope>)

/**
 * Provides the default cache service from `Config`, so that environment variables can
 * set its options.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = <A, I>(
  config: Config.Config<Options<A, I>>
): Layer.Layer<CacheAside, InvalidConfigError | ConfigError.ConfigError> =>
  Layer.scoped(
    CacheAside,
    Effect.flatMap(config, (options) => make(options) as Effect.Effect<CacheAside, InvalidConfigError, Scope.Scope>)
  )

// -------------------------------------------------------------------------------------
// Combinators
// -------------------------------------------------------------------------------------

/**
 * Serves an effect through a cache: `loadUser(id).pipe(CacheAside.withCache(cache, \`user:${id}\`))`.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withCache: {
  <A, StoreError>(
    cache: CacheAside<A, StoreError>,
    key: string,
    options?: GetOptions<A>
  ): <B extends A, E, R>(self: Effect.Effect<B, E, R>) => Effect.Effect<B, LoadError<E> | StoreError, R>
  <B extends A, E, R, A, StoreError>(
    self: Effect.Effect<B, E, R>,
    cache: CacheAside<A, StoreError>,
    key: string,
    options?: GetOptions<A>
  ): Effect.Effect<B, LoadError<E> | StoreError, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <B extends A, E, R, A, StoreError>(
    self: Effect.Effect<B, E, R>,
    cache: CacheAside<A, StoreError>,
    key: string,
    options?: GetOptions<A>
  ): Effect.Effect<B, LoadError<E> | StoreError, R> => cache.get(key, () => self, options)
)
