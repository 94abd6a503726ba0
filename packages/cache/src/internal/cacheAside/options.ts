import { fromSetting } from "@integration-patterns/core/internal/settingDefault"
import { DurationInput, Name, PositiveInt } from "@integration-patterns/core/internal/validation"
import { InvalidConfigError } from "@integration-patterns/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { CacheStoreService } from "../../CacheStore.js"

const finite = (d: Duration.Duration): boolean => Duration.isFinite(d)

/** @internal */
export const FiniteDuration = DurationInput.pipe(
  Schema.filter((d) => finite(d) || "must be finite")
)

/** @internal */
export const PositiveFiniteDuration = FiniteDuration.pipe(
  Schema.filter((d) => Duration.greaterThan(d, Duration.zero) || "must be greater than zero")
)

/** @internal */
export const StoreSchema: Schema.Schema<CacheStoreService> = Schema.declare(
  (u: unknown): u is CacheStoreService =>
    typeof u === "object" && u !== null && typeof (u as { open?: unknown }).open === "function",
  { message: () => "expected a CacheStore service (CacheStore.memory, or one from RedisCacheStore)" }
)

/** @internal */
export const ValueSchema: Schema.Schema<Schema.Schema<any, any>> = Schema.declare(
  (u: unknown): u is Schema.Schema<any, any> => Schema.isSchema(u),
  { message: () => "expected a Schema" }
)

/** @internal */
export const OnStoreUnavailable = Schema.Literal("fail-open", "fail-closed")

/** @internal */
export const OptionsSchema = Schema.Struct({
  name: Name,
  ttl: PositiveFiniteDuration,
  maxSize: Schema.optional(PositiveInt),
  store: Schema.optional(StoreSchema),
  schema: Schema.optional(ValueSchema),
  staleTtl: Schema.optional(FiniteDuration),
  refreshAhead: Schema.optional(FiniteDuration),
  negativeTtl: Schema.optional(PositiveFiniteDuration),
  onStoreUnavailable: Schema.optional(OnStoreUnavailable),
  warmConcurrency: Schema.optional(PositiveInt),
  enableMetrics: Schema.optional(Schema.Boolean)
})

/** @internal */
export type DecodedOptions = typeof OptionsSchema.Type

/**
 * Checks between options, run once each option is valid on its own. (A schema filter
 * on the whole struct would report these without the option's path.)
 *
 * @internal
 */
export const checkTogether = (o: DecodedOptions): Effect.Effect<DecodedOptions, InvalidConfigError> =>
  o.refreshAhead === undefined || Duration.lessThan(o.refreshAhead, o.ttl)
    ? Effect.succeed(o)
    : Effect.fail(
      new InvalidConfigError({
        pattern: "CacheAside",
        issues: [{ path: "refreshAhead", message: "must be shorter than ttl" }]
      })
    )

/** The settings a cache runs with, durations in milliseconds. @internal */
export interface Resolved {
  readonly name: string
  readonly ttl: number
  readonly staleTtl: number
  readonly refreshAhead: number
  /** 0 when negative caching is off. */
  readonly negativeTtl: number
  readonly maxSize: number
  readonly schema: Schema.Schema<any, any> | undefined
  readonly store: CacheStoreService | undefined
  readonly failClosed: boolean
  readonly warmConcurrency: number
  readonly enableMetrics: boolean | undefined
}

/** @internal */
export const defaults = {
  maxSize: 10_000,
  staleTtl: Duration.zero,
  refreshAhead: Duration.zero,
  onStoreUnavailable: "fail-open",
  warmConcurrency: 16,
  enableMetrics: fromSetting("enableMetrics")
} as const

/** @internal */
export const resolve = (o: DecodedOptions): Resolved => ({
  name: o.name,
  ttl: Duration.toMillis(o.ttl),
  staleTtl: Duration.toMillis(o.staleTtl ?? defaults.staleTtl),
  refreshAhead: Duration.toMillis(o.refreshAhead ?? defaults.refreshAhead),
  negativeTtl: o.negativeTtl === undefined ? 0 : Duration.toMillis(o.negativeTtl),
  maxSize: o.maxSize ?? defaults.maxSize,
  schema: o.schema,
  store: o.store,
  failClosed: (o.onStoreUnavailable ?? defaults.onStoreUnavailable) === "fail-closed",
  warmConcurrency: o.warmConcurrency ?? defaults.warmConcurrency,
  enableMetrics: o.enableMetrics
})

