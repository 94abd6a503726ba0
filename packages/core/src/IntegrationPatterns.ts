/**
 * Toolkit-wide configuration and the registry of live pattern instances.
 *
 * Patterns created without explicit values for these settings take them from the
 * current {@link GlobalConfig}; every live instance registers itself in the current
 * {@link PatternRegistry} by kind and name.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { InvalidConfigError } from "./Errors.js"
import * as report from "./internal/integrationPatterns.js"
import * as internal from "./internal/registry.js"
import * as setting from "./internal/settingDefault.js"
import { decodeOptions } from "./internal/validation.js"

/**
 * @since 0.1.0
 * @category Models
 */
export type HealthStatus = internal.HealthStatus

/**
 * @since 0.1.0
 * @category Models
 */
export type PatternHealth = internal.PatternHealth

/**
 * What a pattern instance tells the registry about itself.
 *
 * @since 0.1.0
 * @category Models
 */
export type PatternInstance = internal.PatternInstance

/**
 * Toolkit-wide settings.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Settings {
  /** Record Effect metrics. Defaults to `true`. */
  readonly enableMetrics: boolean
  /** Register instances for health reporting. Defaults to `true`. */
  readonly enableHealthChecks: boolean
  /** The timeout used where none is given. Defaults to 30 seconds. */
  readonly defaultTimeout: Duration.Duration
  /** `maxAttempts` of a retry policy created without one. Defaults to 3. */
  readonly retryAttempts: number
  /** `failureThreshold` of a breaker created without one. Defaults to 5. */
  readonly circuitBreakerThreshold: number
  /**
   * A rate limiter that rejects more than this share of its decisions (and has made at
   * least 10) reports `degraded`. Defaults to 0.5.
   */
  readonly rateLimiterDegradedRatio?: number
}

/**
 * The defaults, before any configuration.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultSettings: Settings = {
  enableMetrics: true,
  enableHealthChecks: true,
  defaultTimeout: Duration.seconds(30),
  retryAttempts: 3,
  circuitBreakerThreshold: 5,
  rateLimiterDegradedRatio: report.defaultRateLimiterDegradedRatio
}

/**
 * A default taken from one of the {@link Settings} when a pattern is built, as found in
 * a pattern's `defaults` (for example `Retry.defaults.maxAttempts` is the
 * `retryAttempts` setting).
 *
 * @since 0.1.0
 * @category Models
 */
export type SettingDefault<K extends keyof Settings = keyof Settings> = setting.SettingDefault<K>

/**
 * @since 0.1.0
 * @category Guards
 */
export const isSettingDefault: (u: unknown) => u is SettingDefault = setting.isSettingDefault

/**
 * The process-wide settings, which the Promise facade's `configure` changes.
 *
 * @internal
 */
export const processSettings: { current: Settings } = { current: defaultSettings }

/**
 * The settings in force. Without a Layer, the process-wide settings apply.
 *
 * @since 0.1.0
 * @category Tags
 */
export class GlobalConfig extends Context.Reference<GlobalConfig>()("@integration-patterns/core/GlobalConfig", {
  defaultValue: (): { readonly get: () => Settings } => ({ get: () => processSettings.current })
}) {}

/**
 * Reads the settings in force.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const settings: Effect.Effect<Settings> = Effect.map(GlobalConfig, (config) => config.get())

/**
 * The registry of live instances.
 *
 * @since 0.1.0
 * @category Tags
 */
export class PatternRegistry extends Context.Reference<PatternRegistry>()(
  "@integration-patterns/core/PatternRegistry",
  { defaultValue: (): internal.Registry => internal.globalRegistry }
) {}

/**
 * Registers an instance for the lifetime of the current scope.
 *
 * @since 0.1.0
 * @category Registry
 */
export const register = (instance: PatternInstance): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(settings, (current) =>
    current.enableHealthChecks
      ? Effect.flatMap(PatternRegistry, (registry) =>
        Effect.acquireRelease(Effect.sync(() => registry.register(instance)), (unregister) =>
          Effect.sync(unregister))).pipe(Effect.asVoid)
      : Effect.void)

/**
 * The live instances.
 *
 * @since 0.1.0
 * @category Registry
 */
export const instances: Effect.Effect<ReadonlyArray<PatternInstance>> = Effect.map(
  PatternRegistry,
  (registry) => registry.list()
)

/**
 * Options for {@link layer} and the Promise facade's `configure`. Every option is
 * optional: an absent one keeps the value in force.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  readonly enableMetrics?: boolean
  readonly enableHealthChecks?: boolean
  /** Milliseconds, a string such as `"5 seconds"`, or a `Duration`; greater than zero. */
  readonly defaultTimeout?: Duration.DurationInput
  /** An integer greater than 0. */
  readonly retryAttempts?: number
  /** An integer greater than 0. */
  readonly circuitBreakerThreshold?: number
  /** A ratio between 0 and 1. */
  readonly rateLimiterDegradedRatio?: number
}

/**
 * Provides {@link GlobalConfig}: patterns built under this Layer take these defaults.
 * Options not given keep the value in force when the Layer is built (the process-wide
 * settings unless an outer Layer changed them). Bad options fail with `InvalidConfigError`.
 *
 * @example
 * ```ts
 * import { IntegrationPatterns } from "@integration-patterns/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const settings = yield* IntegrationPatterns.settings
 *   return settings.retryAttempts // 5
 * }).pipe(Effect.provide(IntegrationPatterns.layer({ retryAttempts: 5, defaultTimeout: "2 seconds" })))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<GlobalConfig, InvalidConfigError> =>
  Layer.effect(
    GlobalConfig,
    Effect.flatMap(settings, (current) =>
      Effect.map(
        decodeOptions("IntegrationPatterns", report.ConfigureOptions, options),
        (decoded) => {
          const next = report.applyOptions(current, decoded)
          return { get: () => next }
        }
      ))
  )

/**
 * The same Layer as {@link layer}, under the name the Promise facade uses.
 *
 * @since 0.1.0
 * @category Layers
 */
export const configure: (options: Options) => Layer.Layer<GlobalConfig, InvalidConfigError> = layer

/**
 * {@link layer}, with the options read from an Effect `Config` (environment variables
 * by default).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  config: Config.Config<Options>
): Layer.Layer<GlobalConfig, InvalidConfigError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(config, layer))

/**
 * A fresh, empty registry, isolating one application (or one test) from the
 * process-wide registry.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerRegistry: Layer.Layer<PatternRegistry> = Layer.sync(PatternRegistry, () => new internal.Registry())

/**
 * One instance in {@link MetricsSnapshot}: its kind, name and its own `stats` snapshot.
 *
 * @since 0.1.0
 * @category Models
 */
export type PatternSnapshot = report.PatternSnapshot

/**
 * @since 0.1.0
 * @category Models
 */
export type MetricsSnapshot = report.MetricsSnapshot

/**
 * @since 0.1.0
 * @category Models
 */
export type PatternHealthReport = report.PatternHealthReport

/**
 * The health of every registered instance and overall. The overall status is the worst
 * of the instances' (healthy when none is registered); `reasons` has one line per
 * instance that is not healthy, worst first.
 *
 * @since 0.1.0
 * @category Models
 */
export type HealthReport = report.HealthReport

/**
 * The `stats` of every registered instance, at `Clock` time. An instance whose `stats`
 * throws reports `{ error }` instead.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const getMetrics: Effect.Effect<MetricsSnapshot> = Effect.flatMap(
  instances,
  (live) => Effect.map(Clock.currentTimeMillis, (now) => report.metricsSnapshot(live, now))
)

/**
 * The health of every registered instance and overall. Each pattern decides its own
 * health (an open or isolated breaker is unhealthy, a saturated bulkhead degraded, a
 * saga that needs attention unhealthy); an instance whose `health` throws is unhealthy.
 * A rate limiter that reports healthy but whose `stats` show `allowed` and `rejected`
 * counts is held to {@link rateLimiterHealth} with `rateLimiterDegradedRatio`.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const getHealth: Effect.Effect<HealthReport> = Effect.flatMap(instances, (live) =>
  Effect.flatMap(
    settings,
    (current) => Effect.map(Clock.currentTimeMillis, (now) => report.healthReport(live, current, now))
  ))

/**
 * The rejection-share rule for rate limiters: more than `ratio` (default 0.5) of at least
 * 10 decisions rejected is `degraded`. A limiter can call this from its own `health`
 * with the counts of a recent window.
 *
 * @since 0.1.0
 * @category Health
 */
export const rateLimiterHealth: (
  counts: { readonly allowed: number; readonly rejected: number },
  ratio?: number
) => PatternHealth = report.rateLimiterHealth
