/**
 * Rate-limit budgets in Redis, shared by every process that uses the same server and
 * prefix, through ioredis 5 (an optional peer dependency: install it to use this
 * module; nothing else in the package loads it).
 *
 * - **One round trip a decision.** Each algorithm is a Lua script, called by SHA
 *   (EVALSHA; a server that does not know it yet gets it once with EVAL). One call
 *   checks the key's budget and the global one and consumes from both or neither.
 * - **Same decisions as in memory.** The scripts port the in-memory arithmetic line
 *   for line; given the same time they decide the same.
 * - **Redis's clock.** Scripts read `TIME` on the server, so clock skew between
 *   application nodes cannot widen a limit.
 * - **Keys.** `<prefix>{<limiter name>}:k:<key>` per key and `<prefix>{<limiter
 *   name>}:g` for the global budget. The braces are a Redis Cluster hash tag: one
 *   limiter's keys share a slot, which is what lets one script touch both budgets.
 *   A key expires `expiryMargin` after its budget is whole again, so idle keys
 *   disappear on their own.
 * - **Outages.** While Redis cannot be reached, `onUnavailable` decides (fail open,
 *   fail closed with `PersistenceError`, or insurance: a limiter in this process
 *   with `1 / insuranceNodes` of each limit). The limiter raises
 *   `RateLimiterStoreUnavailable` once and `RateLimiterStoreRecovered` when Redis is
 *   back; the client reconnects by itself.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis, RedisOptions } from "ioredis"
import type { InvalidConfigError } from "./Errors.js"
import { RateLimiterStore, type RateLimiterStoreService, type UnavailablePolicy } from "./RateLimiter.js"
import * as internal from "./internal/rateLimiter/redis.js"
import * as options_ from "./internal/rateLimiter/redisOptions.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /**
   * A Redis URL (`redis://host:port/db`). Ignored when `client` is given. Defaults to
   * the `REDIS_URL` environment variable, then to ioredis's default (localhost:6379).
   */
  readonly url?: string
  /**
   * A client to use instead of opening one (a `Cluster` works too); the store leaves
   * it open when its scope closes. Give it `enableOfflineQueue: false`, so that
   * decisions do not wait for a reconnect.
   */
  readonly client?: Redis | Cluster
  /** Further ioredis options for the connection the store opens. */
  readonly redis?: RedisOptions
  /** Prepended to every key; no braces. Defaults to `"ratelimit:"`. */
  readonly prefix?: string
  /**
   * How long a key outlives the moment its budget is whole again (when forgetting it
   * changes no decision). Defaults to 1 second.
   */
  readonly expiryMargin?: Duration.DurationInput
  /**
   * `"redis"` (the default) decides with the server's `TIME`, one timeline for every
   * node. `"local"` uses the limiter's `Clock` instead (for `TestClock`); every node's
   * clock must then agree.
   */
  readonly clock?: "redis" | "local"
  /** What decides while Redis cannot be reached. Defaults to `"fail-closed"`. */
  readonly onUnavailable?: UnavailablePolicy
  /**
   * How many processes share the limits; with `"insurance"`, each process decides
   * alone with `1 / insuranceNodes` of each limit. Defaults to 1.
   */
  readonly insuranceNodes?: number
  /** How long a decision may wait for Redis before it counts as unreachable. Defaults to 1 second. */
  readonly commandTimeout?: Duration.DurationInput
  /** How long building the store waits for a first connection (it never fails). Defaults to 2 seconds. */
  readonly connectTimeout?: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly prefix: string
  readonly expiryMargin: Duration.Duration
  readonly clock: "redis"
  readonly onUnavailable: "fail-closed"
  readonly insuranceNodes: number
  readonly commandTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
} = options_.defaults

/**
 * Builds a Redis store for the lifetime of the scope; the connection it opens closes
 * with it. Bad options fail with `InvalidConfigError`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Effect.Effect<RateLimiterStoreService, InvalidConfigError, Scope.Scope> =>
  Effect.flatMap(options_.decodeEither(options), internal.make)

/**
 * Provides a Redis store as the `RateLimiterStore`: every limiter built under it keeps
 * its budgets in Redis. The limiters' code does not change.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "@integration-patterns/core"
 * import * as RedisRateLimiterStore from "@integration-patterns/core/RedisRateLimiterStore"
 * import { Effect, Layer } from "effect"
 *
 * const Store = RedisRateLimiterStore.layer({
 *   url: "redis://127.0.0.1:6379",
 *   onUnavailable: "insurance",
 *   insuranceNodes: 4
 * })
 *
 * const Limiter = RateLimiter.layer({ name: "api", requestsPerSecond: 100, global: { requestsPerSecond: 1000 } }).pipe(
 *   Layer.provide(Store)
 * )
 *
 * export const handle = (user: string) =>
 *   Effect.succeed("ok").pipe(RateLimiter.withRateLimit(user), Effect.provide(Limiter))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<RateLimiterStore, InvalidConfigError> =>
  Layer.scoped(RateLimiterStore, make(options))

/**
 * Reads the options from `Config`, so that environment variables can set them.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  config: Config.Config<Options>
): Layer.Layer<RateLimiterStore, InvalidConfigError | ConfigError.ConfigError> =>
  Layer.scoped(RateLimiterStore, Effect.flatMap(config, make))
