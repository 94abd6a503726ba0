import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { Cluster, Redis, RedisOptions } from "ioredis"
import type { InvalidConfigError } from "../../Errors.js"
import * as V from "../validation.js"
import type { RedisSettings } from "./redis.js"

// The public options are `RedisRateLimiterStore.Options`; they are validated here, apart
// from the store itself, so that validating them does not load ioredis.

/** @internal */
export const defaults = {
  prefix: "ratelimit:",
  expiryMargin: Duration.seconds(1),
  clock: "redis",
  onUnavailable: "fail-closed",
  insuranceNodes: 1,
  commandTimeout: Duration.seconds(1),
  connectTimeout: Duration.seconds(2)
} as const

// ioredis is not loaded to validate: a client is anything with its command interface.
const isClient = (u: unknown): u is Redis | Cluster =>
  Predicate.hasProperty(u, "call") && typeof u.call === "function" &&
  Predicate.hasProperty(u, "on") && typeof u.on === "function" && Predicate.hasProperty(u, "status")

const Positive = V.DurationInput.pipe(
  Schema.filter((d) =>
    (Duration.isFinite(d) && Duration.greaterThan(d, Duration.zero)) || "must be finite and greater than zero"
  )
)

const Finite = V.DurationInput.pipe(Schema.filter((d) => Duration.isFinite(d) || "must be finite"))

/** @internal */
export const RedisStoreOptionsSchema = Schema.Struct({
  url: Schema.optional(V.Name),
  client: Schema.optional(Schema.declare(isClient, { message: () => "expected an ioredis client (Redis or Cluster)" })),
  redis: Schema.optional(Schema.declare((u: unknown): u is RedisOptions => typeof u === "object" && u !== null, {
    message: () => "expected ioredis options"
  })),
  prefix: Schema.optional(
    Schema.String.pipe(
      Schema.filter((s) =>
        !/[{}]/.test(s) || "must not contain braces: the limiter's name is the key's Redis Cluster hash tag"
      )
    )
  ),
  expiryMargin: Schema.optional(Finite),
  clock: Schema.optional(Schema.Literal("redis", "local")),
  onUnavailable: Schema.optional(Schema.Literal("fail-open", "fail-closed", "insurance")),
  insuranceNodes: Schema.optional(V.PositiveInt),
  commandTimeout: Schema.optional(Positive),
  connectTimeout: Schema.optional(Positive)
})

const resolve = (o: typeof RedisStoreOptionsSchema.Type): RedisSettings => ({
  client: o.client,
  url: o.url,
  redis: o.redis,
  prefix: o.prefix ?? defaults.prefix,
  expiryMargin: Math.ceil(Duration.toMillis(o.expiryMargin ?? defaults.expiryMargin)),
  clock: o.clock ?? defaults.clock,
  onUnavailable: o.onUnavailable ?? defaults.onUnavailable,
  insuranceNodes: o.insuranceNodes ?? defaults.insuranceNodes,
  commandTimeout: Math.ceil(Duration.toMillis(o.commandTimeout ?? defaults.commandTimeout)),
  connectTimeout: Math.ceil(Duration.toMillis(o.connectTimeout ?? defaults.connectTimeout))
})

/** @internal */
export const decodeEither = (options: unknown): Either.Either<RedisSettings, InvalidConfigError> =>
  Either.map(V.decodeOptionsEither("RedisRateLimiterStore", RedisStoreOptionsSchema, options), resolve)
