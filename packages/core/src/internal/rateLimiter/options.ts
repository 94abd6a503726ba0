import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { InvalidConfigError } from "../../Errors.js"
import type { AlgorithmSpec, Options } from "../../RateLimiter.js"
import { fromSetting } from "../settingDefault.js"
import * as V from "../validation.js"

/** @internal */
export const defaults = {
  name: "rate-limiter",
  algorithm: "token-bucket",
  // One second of traffic, and never less than one request.
  burstLimit: (requestsPerSecond: number): number => Math.max(1, Math.ceil(requestsPerSecond)),
  maxKeys: 100_000,
  enableMetrics: fromSetting("enableMetrics")
} as const

/** The defaults of one request's options (`withRateLimit`, `execute`). @internal */
export const callDefaults = {
  cost: 1,
  mode: "reject",
  maxWait: fromSetting("defaultTimeout")
} as const

const common = {
  name: Schema.optional(V.Name),
  maxKeys: Schema.optional(V.PositiveInt),
  enableMetrics: Schema.optional(Schema.Boolean)
}

// The token-bucket schema is picked whenever `algorithm` is not a window, so its
// literal lists every algorithm: an unknown name is reported against all three.
const TokenBucketOptions = Schema.Struct({
  ...common,
  algorithm: Schema.optional(Schema.Literal("token-bucket", "sliding-window", "fixed-window")),
  requestsPerSecond: V.PositiveNumber,
  burstLimit: Schema.optional(V.PositiveInt),
  global: Schema.optional(Schema.Struct({
    requestsPerSecond: V.PositiveNumber,
    burstLimit: Schema.optional(V.PositiveInt)
  }))
})

const WindowOptions = Schema.Struct({
  ...common,
  algorithm: Schema.Literal("sliding-window", "fixed-window"),
  limit: V.PositiveInt,
  window: V.PositiveDuration,
  global: Schema.optional(Schema.Struct({
    limit: V.PositiveInt,
    window: Schema.optional(V.PositiveDuration)
  }))
})

/**
 * Options with every default filled in, ready for a store.
 *
 * @internal
 */
export interface Resolved {
  readonly name: string
  readonly algorithm: AlgorithmSpec
  readonly global: AlgorithmSpec | undefined
  readonly maxKeys: number
  readonly enableMetrics: boolean | undefined
}

const isWindow = (input: unknown): boolean =>
  Predicate.hasProperty(input, "algorithm") &&
  (input.algorithm === "sliding-window" || input.algorithm === "fixed-window")

const resolveTokenBucket = (o: typeof TokenBucketOptions.Type): Resolved => ({
  name: o.name ?? defaults.name,
  algorithm: {
    algorithm: defaults.algorithm,
    requestsPerSecond: o.requestsPerSecond,
    burstLimit: o.burstLimit ?? defaults.burstLimit(o.requestsPerSecond)
  },
  global: o.global === undefined ? undefined : {
    algorithm: defaults.algorithm,
    requestsPerSecond: o.global.requestsPerSecond,
    burstLimit: o.global.burstLimit ?? defaults.burstLimit(o.global.requestsPerSecond)
  },
  maxKeys: o.maxKeys ?? defaults.maxKeys,
  enableMetrics: o.enableMetrics
})

const resolveWindow = (o: typeof WindowOptions.Type): Resolved => {
  const window = Duration.toMillis(o.window)
  return {
    name: o.name ?? defaults.name,
    algorithm: { algorithm: o.algorithm, limit: o.limit, window },
    global: o.global === undefined ? undefined : {
      algorithm: o.algorithm,
      limit: o.global.limit,
      window: o.global.window === undefined ? window : Duration.toMillis(o.global.window)
    },
    maxKeys: o.maxKeys ?? defaults.maxKeys,
    enableMetrics: o.enableMetrics
  }
}

/** @internal */
export const decode = (options: Options): Effect.Effect<Resolved, InvalidConfigError> =>
  isWindow(options)
    ? Either.map(V.decodeOptionsEither("RateLimiter", WindowOptions, options), resolveWindow)
    : Either.map(V.decodeOptionsEither("RateLimiter", TokenBucketOptions, options), resolveTokenBucket)

/** @internal */
export const decodeSync = (options: unknown): Resolved =>
  isWindow(options)
    ? resolveWindow(V.decodeOptionsSync("RateLimiter", WindowOptions, options))
    : resolveTokenBucket(V.decodeOptionsSync("RateLimiter", TokenBucketOptions, options))
