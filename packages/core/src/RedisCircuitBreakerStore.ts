/**
 * A `CircuitBreakerStore` in Redis, through ioredis 5 (an optional peer dependency:
 * install it to use this module; nothing else in the package loads it). Breakers built
 * under it, in any process using the same Redis and prefix:
 *
 * - **share an advisory open signal.** When one breaker opens on its own evidence, it
 *   publishes that on `<prefix>signals` (Redis pub/sub), and the closed breakers of the
 *   same name on other nodes open too. Each of them then probes recovery by itself,
 *   after its own `recoveryTimeout`. A signal never closes a breaker: one node's
 *   recovery cannot force another node's breaker closed.
 * - **save their state** as JSON under `<prefix><breaker name>` on every transition, so
 *   a breaker built later (a restarted process) starts from the last saved state.
 *
 * While Redis is unreachable, every breaker keeps working on its own evidence: saves
 * and signals fail fast (the breaker logs a warning), and the store subscribes again
 * by itself when Redis returns.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Redis, RedisOptions } from "ioredis"
import { CircuitBreakerStore } from "./CircuitBreaker.js"
import type { InvalidConfigError } from "./Errors.js"
import * as internal from "./internal/circuitBreaker/redis.js"
import * as V from "./internal/validation.js"

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
   * A client to use instead of opening one; the store leaves it open when its scope
   * closes, and opens one more connection like it for pub/sub.
   */
  readonly client?: Redis
  /** Further ioredis options for the connections the store opens. */
  readonly redis?: RedisOptions
  /** Prepended to every key and to the signal channel. Defaults to `"breaker:"`. */
  readonly prefix?: string
  /** How long a command may take before it fails. Defaults to 1 second. */
  readonly commandTimeout?: Duration.DurationInput
  /** How long building the store waits for Redis (it never fails). Defaults to 2 seconds. */
  readonly connectTimeout?: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly prefix: string
  readonly commandTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
} = {
  prefix: "breaker:",
  commandTimeout: Duration.seconds(1),
  connectTimeout: Duration.seconds(2)
}

const Positive = V.DurationInput.pipe(
  Schema.filter((d) =>
    (Duration.isFinite(d) && Duration.greaterThan(d, Duration.zero)) || "must be finite and greater than zero"
  )
)

const OptionsSchema = Schema.Struct({
  url: Schema.optional(V.Name),
  client: Schema.optional(Schema.declare(
    (u: unknown): u is Redis =>
      typeof u === "object" && u !== null && typeof (u as { duplicate?: unknown }).duplicate === "function",
    { message: () => "expected an ioredis client" }
  )),
  redis: Schema.optional(Schema.declare((u: unknown): u is RedisOptions => typeof u === "object" && u !== null, {
    message: () => "expected ioredis options"
  })),
  prefix: Schema.optional(Schema.String),
  commandTimeout: Schema.optional(Positive),
  connectTimeout: Schema.optional(Positive)
})

/**
 * Builds a Redis breaker store for the lifetime of the scope; the connections it opens
 * close with it. Bad options fail with `InvalidConfigError`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Effect.Effect<CircuitBreakerStore, InvalidConfigError, Scope.Scope> =>
  Effect.flatMap(V.decodeOptions("RedisCircuitBreakerStore", OptionsSchema, options), (o) =>
    internal.make({
      client: o.client,
      url: o.url,
      redis: o.redis,
      prefix: o.prefix ?? defaults.prefix,
      commandTimeout: Duration.toMillis(o.commandTimeout ?? defaults.commandTimeout),
      connectTimeout: Duration.toMillis(o.connectTimeout ?? defaults.connectTimeout)
    }))

/**
 * Provides a Redis store as the `CircuitBreakerStore`: breakers built under it share
 * the open signal across processes. The breakers' code does not change.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@integration-patterns/core"
 * import * as RedisCircuitBreakerStore from "@integration-patterns/core/RedisCircuitBreakerStore"
 * import { Effect, Layer } from "effect"
 *
 * const Breaker = CircuitBreaker.layer({ name: "inventory", failureThreshold: 5, recoveryTimeout: "30 seconds" }).pipe(
 *   Layer.provide(RedisCircuitBreakerStore.layer({ url: "redis://127.0.0.1:6379" }))
 * )
 *
 * export const reserve = Effect.flatMap(CircuitBreaker.CircuitBreaker, (breaker) =>
 *   breaker.execute(Effect.succeed("reserved"))).pipe(Effect.provide(Breaker))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<CircuitBreakerStore, InvalidConfigError> =>
  Layer.scoped(CircuitBreakerStore, make(options))

/**
 * Reads the options from `Config`, so that environment variables can set them.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  config: Config.Config<Options>
): Layer.Layer<CircuitBreakerStore, InvalidConfigError | ConfigError.ConfigError> =>
  Layer.scoped(CircuitBreakerStore, Effect.flatMap(config, make))
