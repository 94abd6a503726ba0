/**
 * Toolkit-wide configuration and the registry of live pattern instances.
 *
 * Patterns created without explicit values for these settings take them from the
 * current {@link GlobalConfig}; every live instance registers itself in the current
 * {@link PatternRegistry} by kind and name.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/registry.js"

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
  circuitBreakerThreshold: 5
}

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
