import * as Schema from "effect/Schema"
import type { Settings } from "../IntegrationPatterns.js"
import type { PatternKind } from "../PatternEvents.js"
import type { HealthStatus, PatternHealth, PatternInstance } from "./registry.js"
import { PositiveDuration, PositiveInt, Ratio } from "./validation.js"

/** @internal */
export const defaultRateLimiterDegradedRatio = 0.5

/**
 * Below this many decisions a limiter's rejection share says too little to call it
 * degraded (one rejection out of one request is not an incident).
 *
 * @internal
 */
export const minimumDecisions = 10

/** @internal */
export const ConfigureOptions = Schema.Struct({
  enableMetrics: Schema.optionalWith(Schema.Boolean, { exact: true }),
  enableHealthChecks: Schema.optionalWith(Schema.Boolean, { exact: true }),
  defaultTimeout: Schema.optionalWith(PositiveDuration, { exact: true }),
  retryAttempts: Schema.optionalWith(PositiveInt, { exact: true }),
  circuitBreakerThreshold: Schema.optionalWith(PositiveInt, { exact: true }),
  rateLimiterDegradedRatio: Schema.optionalWith(Ratio, { exact: true })
})

/**
 * Overrides the settings in force with the options given; absent options keep their value.
 *
 * @internal
 */
export const applyOptions = (current: Settings, options: typeof ConfigureOptions.Type): Settings => {
  const next: { -readonly [K in keyof Settings]: Settings[K] } = { ...current }
  if (options.enableMetrics !== undefined) next.enableMetrics = options.enableMetrics
  if (options.enableHealthChecks !== undefined) next.enableHealthChecks = options.enableHealthChecks
  if (options.defaultTimeout !== undefined) next.defaultTimeout = options.defaultTimeout
  if (options.retryAttempts !== undefined) next.retryAttempts = options.retryAttempts
  if (options.circuitBreakerThreshold !== undefined) next.circuitBreakerThreshold = options.circuitBreakerThreshold
  if (options.rateLimiterDegradedRatio !== undefined) next.rateLimiterDegradedRatio = options.rateLimiterDegradedRatio
  return next
}

/** @internal */
export interface PatternSnapshot {
  readonly kind: PatternKind
  readonly name: string
  readonly stats: Readonly<Record<string, unknown>>
}

/** @internal */
export interface MetricsSnapshot {
  readonly timestamp: number
  readonly patterns: ReadonlyArray<PatternSnapshot>
}

/** @internal */
export interface PatternHealthReport extends PatternHealth {
  readonly kind: PatternKind
  readonly name: string
}

/** @internal */
export interface HealthReport {
  readonly status: HealthStatus
  /** One line per pattern that is not healthy, worst first. */
  readonly reasons: ReadonlyArray<string>
  readonly patterns: ReadonlyArray<PatternHealthReport>
  readonly timestamp: number
}

const severity: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 }

/** @internal */
export const worst = (a: HealthStatus, b: HealthStatus): HealthStatus => severity[b] > severity[a] ? b : a

const describe = (error: unknown): string => error instanceof Error ? error.message : String(error)

// An instance whose own report throws must not take the operator's view down with it.
const safeStats = (instance: PatternInstance): Readonly<Record<string, unknown>> => {
  try {
    return instance.stats()
  } catch (error) {
    return { error: `stats() threw: ${describe(error)}` }
  }
}

const safeHealth = (instance: PatternInstance): PatternHealth => {
  try {
    return instance.health()
  } catch (error) {
    return { status: "unhealthy", reasons: [`health() threw: ${describe(error)}`] }
  }
}

/** @internal */
export const metricsSnapshot = (instances: ReadonlyArray<PatternInstance>, timestamp: number): MetricsSnapshot => ({
  timestamp,
  patterns: instances.map((instance) => ({ kind: instance.kind, name: instance.name, stats: safeStats(instance) }))
})

const percent = (ratio: number): string => `${Math.round(ratio * 1000) / 10}%`

/**
 * A limiter that rejects more than `ratio` of its decisions is degraded.
 *
 * @internal
 */
export const rateLimiterHealth = (
  counts: { readonly allowed: number; readonly rejected: number },
  ratio: number = defaultRateLimiterDegradedRatio
): PatternHealth => {
  const total = counts.allowed + counts.rejected
  if (total < minimumDecisions || counts.rejected / total <= ratio) return { status: "healthy", reasons: [] }
  return {
    status: "degraded",
    reasons: [`rejecting ${percent(counts.rejected / total)} of requests (more than ${percent(ratio)})`]
  }
}

// The limiter decides its own health; this applies the share rule to limiters that report
// healthy but whose stats carry `allowed` and `rejected` counts.
const withLimiterRule = (instance: PatternInstance, health: PatternHealth, settings: Settings): PatternHealth => {
  if (instance.kind !== "RateLimiter" || health.status !== "healthy") return health
  const stats = safeStats(instance)
  if (typeof stats.allowed !== "number" || typeof stats.rejected !== "number") return health
  return rateLimiterHealth(
    { allowed: stats.allowed, rejected: stats.rejected },
    settings.rateLimiterDegradedRatio ?? defaultRateLimiterDegradedRatio
  )
}

/** @internal */
export const healthReport = (
  instances: ReadonlyArray<PatternInstance>,
  settings: Settings,
  timestamp: number
): HealthReport => {
  let status: HealthStatus = "healthy"
  const patterns = instances.map((instance): PatternHealthReport => {
    const health = withLimiterRule(instance, safeHealth(instance), settings)
    status = worst(status, health.status)
    return { kind: instance.kind, name: instance.name, status: health.status, reasons: health.reasons }
  })
  const reasons = patterns
    .filter((pattern) => pattern.status !== "healthy")
    .sort((a, b) => severity[b.status] - severity[a.status])
    .flatMap((pattern) =>
      (pattern.reasons.length === 0 ? [pattern.status] : pattern.reasons).map((reason) =>
        `${pattern.kind} "${pattern.name}": ${reason}`
      )
    )
  return { status, reasons, patterns, timestamp }
}
