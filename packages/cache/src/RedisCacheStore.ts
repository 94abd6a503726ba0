/**
 * Cache stores in Redis, through ioredis 5 (an optional peer dependency: install it to
 * use this module).
 *
 * - **One level** (`layer`): every cache's entries live in Redis under
 *   `<prefix><cache name>:v:<key>`, encoded to JSON with the cache's `schema`, with the
 *   entry's lifetime (`ttl` + `staleTtl`) as the Redis key's TTL. Tags are Redis sets
 *   under `<prefix><cache name>:t:<tag>`.
 * - **Two levels** (`layerTwoLevel`): a memory L1 (the cache's `maxSize`) in front of
 *   Redis as L2. Every write and invalidation is published on
 *   `<prefix>invalidations`, and each node drops the matching memory copies. A node
 *   that reconnects after an outage drops all of its memory copies, since it may have
 *   missed invalidations meanwhile.
 *
 * A store never fails to start and never blocks: commands are not queued while the
 * server is unreachable and time out after `commandTimeout`, so caches fall back to
 * their loaders at once and recover when the client reconnects.
 *
 * @since 0.1.0
 */
import type { InvalidConfigError } from "@integration-patterns/core"
import { decodeOptions, DurationInput, Name } from "@integration-patterns/core/internal/validation"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { Redis, type RedisOptions } from "ioredis"
import { CacheStore, type CacheStoreService } from "./CacheStore.js"
import { redisDefaults } from "./internal/cacheStore/options.js"
import * as internal from "./internal/cacheStore/redis.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /**
   * A Redis URL (`redis://host:port/db`). Ignored when `client` is given. Defaults to
   * ioredis's default (localhost:6379).
   */
  readonly url?: string
  /** A client to use instead of opening one; the store leaves it open when its scope closes. */
  readonly client?: Redis
  /** Further ioredis options for the connections the store opens. */
  readonly redis?: RedisOptions
  /** Prepended to every key and to the invalidation channel. Defaults to `"cache:"`. */
  readonly prefix?: string
  /** A memory L1 in front of Redis, kept coherent across nodes by pub/sub. Defaults to `false`. */
  readonly twoLevel?: boolean
  /** How long a command may take before the store counts as unavailable. Defaults to 1 second. */
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
  readonly twoLevel: boolean
  readonly commandTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
} = redisDefaults

const Positive = DurationInput.pipe(
  Schema.filter((d) =>
    (Duration.isFinite(d) && Duration.greaterThan(d, Duration.zero)) || "must be finite and greater than zero"
  )
)

const OptionsSchema = Schema.Struct({
  url: Schema.optional(Name),
  client: Schema.optional(Schema.declare((u: unknown): u is Redis => u instanceof Redis, {
    message: () => "expected an ioredis client"
  })),
  redis: Schema.optional(Schema.declare((u: unknown): u is RedisOptions => typeof u === "object" && u !== null, {
    message: () => "expected ioredis options"
  })),
  prefix: Schema.optional(Schema.String),
  twoLevel: Schema.optional(Schema.Boolean),
  commandTimeout: Schema.optional(Positive),
  connectTimeout: Schema.optional(Positive)
})

/**
 * Builds a Redis store for the lifetime of the scope; its connections close with it.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Effect.Effect<CacheStoreService, InvalidConfigError, Scope.Scope> =>
  Effect.flatMap(decodeOptions("RedisCacheStore", OptionsSchema, options), (o) =>
    internal.make({
      client: o.client,
      url: o.url,
      redis: o.redis,
      prefix: o.prefix ?? defaults.prefix,
      twoLevel: o.twoLevel ?? defaults.twoLevel,
      commandTimeout: Duration.toMillis(o.commandTimeout ?? defaults.commandTimeout),
      connectTimeout: Duration.toMillis(o.connectTimeout ?? defaults.connectTimeout)
    }))

/**
 * Provides a Redis store as the `CacheStore` service.
 *
 * @example
 * ```ts
 * import { CacheAside } from "@integration-patterns/cache"
 * import * as RedisCacheStore from "@integration-patterns/cache/RedisCacheStore"
 * import { Effect, Layer } from "effect"
 *
 * const Cache = CacheAside.layer({ name: "users", ttl: "5 minutes" }).pipe(
 *   Layer.provide(RedisCacheStore.layer({ url: "redis://127.0.0.1:6379", prefix: "app:" }))
 * )
 *
 * const program = Effect.flatMap(CacheAside.CacheAside, (cache) =>
 *   cache.get("user:42", (key) => Effect.succeed({ id: key })))
 *
 * Effect.runPromise(Effect.provide(program, Cache))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<CacheStore, InvalidConfigError> =>
  Layer.scoped(CacheStore, make(options))

/**
 * Provides a two-level store: memory L1 in front of Redis L2, kept coherent across
 * nodes by pub/sub.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerTwoLevel = (options: Omit<Options, "twoLevel"> = {}): Layer.Layer<CacheStore, InvalidConfigError> =>
  layer({ ...options, twoLevel: true })

/**
 * Provides a Redis store from `Config`, so that environment variables can set its
 * options.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  config: Config.Config<Options>
): Layer.Layer<CacheStore, InvalidConfigError | ConfigError.ConfigError> =>
  Layer.scoped(CacheStore, Effect.flatMap(config, make))
