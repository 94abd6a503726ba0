/**
 * A rate limiter with a budget per key (per user, per tenant, per API key) and an
 * optional global budget, both consumed atomically: a request takes from both or from
 * neither. Three algorithms: token bucket, sliding window (approximate, weighted
 * counter) and fixed window. Budgets live in a {@link RateLimiterStore}: in memory by
 * default, and shared between processes by providing another store's Layer.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { InvalidConfigError, PersistenceError, RateLimitExceededError } from "./Errors.js"
import type { SettingDefault } from "./IntegrationPatterns.js"
import type { PatternEventBase } from "./PatternEvents.js"
import * as headers_ from "./internal/rateLimiter/headers.js"
import * as options_ from "./internal/rateLimiter/options.js"
import * as internal from "./internal/rateLimiter/service.js"
import * as store from "./internal/rateLimiter/store.js"

/**
 * @since 0.1.0
 * @category Models
 */
export type Algorithm = "token-bucket" | "sliding-window" | "fixed-window"

/**
 * The outcome of one request. Times are milliseconds.
 *
 * `limit`, `remaining` and `resetAfter` describe the budget that binds: the one that
 * rejected the request (`scope`), or, when it was admitted, the one with fewer units
 * left.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Decision {
  readonly allowed: boolean
  /** Whole units left in the binding budget (after this request, when admitted). */
  readonly remaining: number
  /** The size of the binding budget: a bucket's burst, a window's limit. */
  readonly limit: number
  /**
   * When rejected, the time until the same request could be admitted (if nothing else
   * consumes meanwhile); `Infinity` when its cost exceeds the limit. 0 when admitted.
   */
  readonly retryAfter: number
  /** The time until the binding budget is whole again. */
  readonly resetAfter: number
  /** Which budget the numbers describe. */
  readonly scope: "key" | "global"
}

/**
 * One budget's state.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Budget {
  readonly limit: number
  readonly remaining: number
  /** Milliseconds until the budget is whole again. */
  readonly resetAfter: number
}

/**
 * What a limiter knows of one key. A key that is not tracked (never seen, idle, or
 * evicted) has a whole budget and zero counts.
 *
 * @since 0.1.0
 * @category Models
 */
export interface KeyStats extends Budget {
  readonly key: string
  readonly tracked: boolean
  /** Decisions that admitted a request of this key since it was last tracked. */
  readonly allowed: number
  /** Decisions that rejected a request of this key since it was last tracked. */
  readonly rejected: number
  /**
   * Admitted units (costs) per second: over the last second for a token bucket; the
   * weighted count of the last window for a sliding window; the current window's count
   * for a fixed window (each per second of window).
   */
  readonly currentRate: number
}

/**
 * A snapshot of one limiter.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Stats {
  readonly name: string
  readonly algorithm: Algorithm
  /** The per-key limit (a bucket's burst, a window's limit). */
  readonly limit: number
  /** Decisions that admitted a request. */
  readonly allowed: number
  /** Decisions that rejected a request, by either budget. */
  readonly rejected: number
  readonly rejectedByKey: number
  readonly rejectedByGlobal: number
  /** Admitted units (costs) per second over the last second, every key together. */
  readonly currentRate: number
  /** Callers waiting in `wait` mode. */
  readonly waiting: number
  readonly trackedKeys: number
  readonly maxKeys: number
  /** Keys forgotten by the size cap while their budget was not whole. */
  readonly evictedKeys: number
  /** Keys forgotten because their budget was whole again. */
  readonly expiredKeys: number
  /** The global budget, when there is one. */
  readonly global: Budget | undefined
  /** Where budgets are kept (`"memory"`, `"redis"`). */
  readonly store: string
  /**
   * False while the store cannot be reached; decisions then follow the store's
   * {@link UnavailablePolicy}.
   */
  readonly storeAvailable: boolean
}

/**
 * Options every algorithm shares.
 *
 * @since 0.1.0
 * @category Options
 */
export interface CommonOptions {
  /** Tags metrics, events and errors. Defaults to `"rate-limiter"`. */
  readonly name?: string
  /**
   * The most keys tracked at once; beyond it the least recently used key is evicted
   * (it comes back with a whole budget). Defaults to 100,000.
   */
  readonly maxKeys?: number
  /** Defaults to the global setting (`IntegrationPatterns.settings`). */
  readonly enableMetrics?: boolean
}

/**
 * A token bucket per key: `burstLimit` tokens, refilled at `requestsPerSecond`. In
 * any interval of length T, a key is admitted at most `burstLimit + requestsPerSecond
 * × T` units.
 *
 * @since 0.1.0
 * @category Options
 */
export interface TokenBucketOptions extends CommonOptions {
  /** Defaults to `"token-bucket"`. */
  readonly algorithm?: "token-bucket"
  readonly requestsPerSecond: number
  /** The bucket's size. Defaults to one second of traffic (`requestsPerSecond`, rounded up). */
  readonly burstLimit?: number
  /** A bucket shared by every key; a request consumes from both or neither. */
  readonly global?: {
    readonly requestsPerSecond: number
    /** Defaults to one second of traffic. */
    readonly burstLimit?: number
  }
}

/**
 * `limit` units per `window` per key.
 *
 * - `fixed-window`: a key's window opens at its first request; an interval of length
 *   `window` straddling two windows can hold up to `2 × limit`.
 * - `sliding-window`: approximate, a weighted counter over the current and previous
 *   windows (24 bytes a key, where an exact log would keep a timestamp per request).
 *   Every window admits at most `limit`; an interval of length `window` holds at most
 *   `limit + previous × elapsed / window`, so never more than `2 × limit − 1` with
 *   unit costs, and only when the previous window's requests all came at its end.
 *
 * @since 0.1.0
 * @category Options
 */
export interface WindowOptions extends CommonOptions {
  readonly algorithm: "sliding-window" | "fixed-window"
  readonly limit: number
  readonly window: Duration.DurationInput
  /** A window shared by every key; a request consumes from both or neither. */
  readonly global?: {
    readonly limit: number
    /** Defaults to `window`. */
    readonly window?: Duration.DurationInput
  }
}

/**
 * @since 0.1.0
 * @category Options
 */
export type Options = TokenBucketOptions | WindowOptions

/**
 * How {@link withRateLimit} treats a request over the limit.
 *
 * @since 0.1.0
 * @category Options
 */
export interface LimitOptions {
  /** Units this request consumes. Defaults to 1. */
  readonly cost?: number
  /**
   * `"reject"` (the default) fails at once with `RateLimitExceededError`. `"wait"`
   * waits for the budget, first come first served among callers of the same key, and
   * fails with `RateLimitExceededError` when it cannot be admitted within `maxWait`.
   */
  readonly mode?: "reject" | "wait"
  /** The longest wait in `"wait"` mode. Defaults to the global `defaultTimeout` (30 seconds). */
  readonly maxWait?: Duration.DurationInput
}

/**
 * The defaults of optional options, as a limiter applies them. `burstLimit` is derived
 * from `requestsPerSecond` (one second of traffic, at least 1); `enableMetrics` is the
 * setting in force.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly name: string
  readonly algorithm: "token-bucket"
  readonly burstLimit: (requestsPerSecond: number) => number
  readonly maxKeys: number
  readonly enableMetrics: SettingDefault<"enableMetrics">
} = options_.defaults

/**
 * The defaults of {@link LimitOptions}. `maxWait` is the `defaultTimeout` setting in force.
 *
 * @since 0.1.0
 * @category Constants
 */
export const callDefaults: {
  readonly cost: number
  readonly mode: "reject"
  readonly maxWait: SettingDefault<"defaultTimeout">
} = options_.callDefaults

/**
 * The algorithm and its parameters, as a store receives them. Windows in milliseconds.
 *
 * @since 0.1.0
 * @category Store
 */
export type AlgorithmSpec =
  | { readonly algorithm: "token-bucket"; readonly requestsPerSecond: number; readonly burstLimit: number }
  | { readonly algorithm: "sliding-window" | "fixed-window"; readonly limit: number; readonly window: number }

/**
 * A rejected request.
 *
 * @since 0.1.0
 * @category Events
 */
export interface RateLimitRejected extends PatternEventBase {
  readonly _tag: "RateLimitRejected"
  readonly pattern: "RateLimiter"
  readonly key: string
  readonly cost: number
  readonly limit: number
  /** Milliseconds. */
  readonly retryAfter: number
  readonly scope: "key" | "global"
  readonly mode: "reject" | "wait"
}

/**
 * A shared store (Redis) could not be reached: decisions follow its
 * {@link UnavailablePolicy} until it returns. Raised once per outage.
 *
 * @since 0.1.0
 * @category Events
 */
export interface RateLimiterStoreUnavailable extends PatternEventBase {
  readonly _tag: "RateLimiterStoreUnavailable"
  readonly pattern: "RateLimiter"
  readonly store: string
  readonly policy: UnavailablePolicy
  /** The error that revealed the outage. */
  readonly detail: string
}

/**
 * The store answers again; decisions are shared once more.
 *
 * @since 0.1.0
 * @category Events
 */
export interface RateLimiterStoreRecovered extends PatternEventBase {
  readonly _tag: "RateLimiterStoreRecovered"
  readonly pattern: "RateLimiter"
  readonly store: string
  /** Milliseconds since the outage was noticed. */
  readonly downtime: number
}

/**
 * @since 0.1.0
 * @category Events
 */
export type RateLimiterEvent = RateLimitRejected | RateLimiterStoreUnavailable | RateLimiterStoreRecovered

declare module "./PatternEvents.js" {
  interface PatternEventRegistry {
    readonly RateLimiter: RateLimiterEvent
  }
}

/**
 * A rate limiter.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RateLimiter {
  readonly name: string
  readonly algorithm: Algorithm
  /** The per-key limit (a bucket's burst, a window's limit). */
  readonly limit: number
  /** Decides one request of `cost` units (default 1), consuming them when admitted. */
  readonly allowRequest: (key: string, cost?: number) => Effect.Effect<Decision, PersistenceError>
  /** Runs an effect only when the key's budget (and the global one) admits it. */
  readonly withRateLimit: {
    (key: string, options?: LimitOptions): <A, E, R>(
      self: Effect.Effect<A, E, R>
    ) => Effect.Effect<A, E | RateLimitExceededError | PersistenceError, R>
    <A, E, R>(
      self: Effect.Effect<A, E, R>,
      key: string,
      options?: LimitOptions
    ): Effect.Effect<A, E | RateLimitExceededError | PersistenceError, R>
  }
  readonly stats: Effect.Effect<Stats>
  readonly keyStats: (key: string) => Effect.Effect<KeyStats, PersistenceError>
}

/**
 * @since 0.1.0
 * @category Tags
 */
export const RateLimiter: Context.Tag<RateLimiter, RateLimiter> = Context.GenericTag<RateLimiter>(
  "@integration-patterns/core/RateLimiter"
)

/**
 * One decision request, as a store receives it. `now` is the limiter's `Clock` time
 * in milliseconds; a store with a clock of its own (such as Redis `TIME`) may use
 * that instead, so that every process shares one timeline.
 *
 * @since 0.1.0
 * @category Store
 */
export interface ConsumeRequest {
  readonly key: string
  readonly cost: number
  readonly now: number
}

/**
 * What a store is given to build one limiter's budgets.
 *
 * @since 0.1.0
 * @category Store
 */
export interface StoreConfig {
  /** The limiter's name; a shared store keeps each limiter's keys apart by it. */
  readonly name: string
  readonly algorithm: AlgorithmSpec
  readonly global: AlgorithmSpec | undefined
  readonly maxKeys: number
}

/**
 * What a shared store decides while it cannot be reached:
 *
 * - `"fail-open"`: admits every request;
 * - `"fail-closed"`: fails every decision with `PersistenceError` (reason `Unavailable`);
 * - `"insurance"`: decides in this process, with this process's share of each limit.
 *
 * @since 0.1.0
 * @category Store
 */
export type UnavailablePolicy = "fail-open" | "fail-closed" | "insurance"

/**
 * @since 0.1.0
 * @category Store
 */
export interface StorageSnapshot {
  /** Keys this process tracks (0 for a store that keeps them elsewhere). */
  readonly trackedKeys: number
  readonly evictedKeys: number
  readonly expiredKeys: number
  /** The global budget, as of the last decision for a store that keeps it elsewhere. */
  readonly global: Budget | undefined
  readonly available: boolean
  /** While not available: the policy deciding meanwhile. */
  readonly policy: UnavailablePolicy | undefined
}

/**
 * The budgets of one limiter, as a store keeps them.
 *
 * @since 0.1.0
 * @category Store
 */
export interface RateLimiterStorage {
  /**
   * Decides one request: consumes `cost` from the key's budget and from the global
   * budget when both admit it, and from neither otherwise, as one atomic step.
   */
  readonly consume: (request: ConsumeRequest) => Effect.Effect<Decision, PersistenceError>
  /**
   * The same decision, made synchronously. Stores that decide in-process offer it so
   * that the limiter's hot path skips an Effect step; remote stores leave it undefined.
   */
  readonly unsafeConsume: ((key: string, cost: number, now: number) => Decision) | undefined
  /** What `consume` would decide now, consuming nothing. */
  readonly peek: (request: ConsumeRequest) => Effect.Effect<Decision, PersistenceError>
  readonly keyStats: (key: string, now: number) => Effect.Effect<KeyStats, PersistenceError>
  /** What the store knows locally, without IO. */
  readonly snapshot: (now: number) => StorageSnapshot
  /** Global units left after the last decision, when there is a global budget. */
  readonly globalRemaining: () => number | undefined
}

/**
 * A backend for rate-limit budgets.
 *
 * @since 0.1.0
 * @category Store
 */
export interface RateLimiterStoreService {
  /** `"memory"`, `"redis"`: reported as the limiters' `store`. */
  readonly name: string
  /** Builds one limiter's budgets; the algorithm is fixed here, once. */
  readonly make: (config: StoreConfig) => Effect.Effect<RateLimiterStorage, never, Scope.Scope>
}

/**
 * Where limiters keep their budgets. Without a Layer, budgets are kept in memory, in
 * compact typed arrays (see `ratelimit.memory` in the bench).
 *
 * @since 0.1.0
 * @category Store
 */
export class RateLimiterStore extends Context.Reference<RateLimiterStore>()(
  "@integration-patterns/core/RateLimiterStore",
  { defaultValue: (): RateLimiterStoreService => store.memoryStore }
) {}

/**
 * The in-memory store: budgets of this process only.
 *
 * @since 0.1.0
 * @category Store
 */
export const storeMemory: RateLimiterStoreService = store.memoryStore

/**
 * Provides the in-memory store explicitly.
 *
 * @since 0.1.0
 * @category Store
 */
export const layerStoreMemory: Layer.Layer<RateLimiterStore> = Layer.succeed(RateLimiterStore, store.memoryStore)

/**
 * Builds a limiter. Bad options fail with `InvalidConfigError`, listing every problem.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "@integration-patterns/core"
 * import { Effect } from "effect"
 *
 * export const program = Effect.gen(function*() {
 *   const limiter = yield* RateLimiter.make({ name: "api", requestsPerSecond: 10, burstLimit: 20 })
 *   const decision = yield* limiter.allowRequest("user-123")
 *   return decision.allowed
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<RateLimiter, InvalidConfigError, Scope.Scope> =>
  Effect.flatMap(RateLimiterStore, (store) => internal.make(options, store))

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<RateLimiter, InvalidConfigError> =>
  Layer.scoped(RateLimiter, make(options))

/**
 * Reads the options from `Config`, so that they can come from the environment.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  config: Config.Config<Options>
): Layer.Layer<RateLimiter, InvalidConfigError | ConfigError.ConfigError> =>
  Layer.scoped(RateLimiter, Effect.flatMap(config, make))

/**
 * Decides one request with the limiter in context.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const allowRequest = (key: string, cost?: number): Effect.Effect<Decision, PersistenceError, RateLimiter> =>
  Effect.flatMap(RateLimiter, (limiter) => limiter.allowRequest(key, cost))

/**
 * Runs an effect under the limiter in context, for `key`.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "@integration-patterns/core"
 * import { Effect } from "effect"
 *
 * export const search = Effect.succeed(["result"]).pipe(
 *   RateLimiter.withRateLimit("user-123", { mode: "wait", maxWait: "2 seconds" }),
 *   Effect.provide(RateLimiter.layer({ name: "search", requestsPerSecond: 5 }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withRateLimit: {
  (key: string, options?: LimitOptions): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | RateLimitExceededError | PersistenceError, R | RateLimiter>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    key: string,
    options?: LimitOptions
  ): Effect.Effect<A, E | RateLimitExceededError | PersistenceError, R | RateLimiter>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, key: string, options?: LimitOptions) =>
    Effect.flatMap(RateLimiter, (limiter) => limiter.withRateLimit(self, key, options))
)

/**
 * The standard response headers for a decision: `RateLimit-Limit`,
 * `RateLimit-Remaining`, `RateLimit-Reset` (seconds, rounded up) and, when the request
 * was rejected, `Retry-After` (seconds, rounded up).
 *
 * @since 0.1.0
 * @category Utils
 */
export const headers: (decision: Decision) => Record<string, string> = headers_.headers
