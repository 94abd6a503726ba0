import type { IntegrationPatterns, PatternEvents } from "@integration-patterns/core"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"

/**
 * What the dashboard shows of one pattern instance. Counters are cumulative; the page
 * turns the difference between two snapshots into rates.
 *
 * @internal
 */
export interface Tile {
  readonly kind: PatternEvents.PatternKind
  readonly name: string
  readonly status: IntegrationPatterns.HealthStatus
  readonly reasons: ReadonlyArray<string>
  /** A state the instance reports (`stats.state`, or the breaker state gauge); null when it has none. */
  readonly state: string | null
  readonly requests: number
  readonly failures: number
  readonly rejections: number
  readonly active: number | null
  readonly queued: number | null
  readonly stats: Readonly<Record<string, unknown>>
}

/** @internal */
export interface Snapshot {
  readonly timestamp: number
  readonly status: IntegrationPatterns.HealthStatus
  readonly reasons: ReadonlyArray<string>
  readonly tiles: ReadonlyArray<Tile>
}

/** Metric names from `@integration-patterns/core/Metrics`. */
const names = {
  calls: "integration_patterns_calls",
  rejections: "integration_patterns_rejections",
  decisions: "integration_patterns_rate_limiter_decisions",
  active: "integration_patterns_bulkhead_active",
  queued: "integration_patterns_bulkhead_queued",
  breakerState: "integration_patterns_circuit_breaker_state"
} as const

/** The states of `integration_patterns_circuit_breaker_state`, by value. */
const breakerStates = ["Closed", "Open", "HalfOpen", "Isolated", "Disabled", "MetricsOnly"] as const

const failureOutcomes: ReadonlySet<string> = new Set(["failure", "timeout"])

interface Totals {
  calls: number
  failures: number
  rejectedCalls: number
  rejections: number
  decisions: number
  rejectedDecisions: number
  active: number | null
  queued: number | null
  breakerState: number | null
  seen: boolean
}

const emptyTotals = (): Totals => ({
  calls: 0,
  failures: 0,
  rejectedCalls: 0,
  rejections: 0,
  decisions: 0,
  rejectedDecisions: 0,
  active: null,
  queued: null,
  breakerState: null,
  seen: false
})

const key = (kind: string, name: string): string => `${kind}\u0000${name}`

const numeric = (state: MetricState.MetricState.Untyped): number | undefined =>
  MetricState.isCounterState(state)
    ? Number(state.count)
    : MetricState.isGaugeState(state)
    ? Number(state.value)
    : undefined

/** Sums the toolkit's metrics per instance (tags `pattern` and `name`) in one pass. */
const totalsByInstance = (pairs: Iterable<MetricPair.MetricPair.Untyped>): Map<string, Totals> => {
  const out = new Map<string, Totals>()
  for (const { metricKey, metricState } of pairs) {
    if (!metricKey.name.startsWith("integration_patterns_")) continue
    let pattern: string | undefined
    let name: string | undefined
    let outcome: string | undefined
    for (const tag of metricKey.tags) {
      if (tag.key === "pattern") pattern = tag.value
      else if (tag.key === "name") name = tag.value
      else if (tag.key === "outcome") outcome = tag.value
    }
    const value = numeric(metricState)
    if (pattern === undefined || name === undefined || value === undefined) continue
    const id = key(pattern, name)
    let totals = out.get(id)
    if (totals === undefined) {
      totals = emptyTotals()
      out.set(id, totals)
    }
    switch (metricKey.name) {
      case names.calls:
        totals.seen = true
        totals.calls += value
        if (outcome !== undefined && failureOutcomes.has(outcome)) totals.failures += value
        if (outcome === "rejected") totals.rejectedCalls += value
        break
      case names.rejections:
        totals.seen = true
        totals.rejections += value
        break
      case names.decisions:
        totals.seen = true
        totals.decisions += value
        if (outcome === "rejected") totals.rejectedDecisions += value
        break
      case names.active:
        totals.active = value
        break
      case names.queued:
        totals.queued = value
        break
      case names.breakerState:
        totals.breakerState = value
        break
    }
  }
  return out
}

const firstNumber = (stats: Readonly<Record<string, unknown>>, fields: ReadonlyArray<string>): number | null => {
  for (const field of fields) {
    const value = stats[field]
    if (typeof value === "number" && Number.isFinite(value)) return value
  }
  return null
}

const stateOf = (stats: Readonly<Record<string, unknown>>, totals: Totals | undefined): string | null => {
  if (typeof stats.state === "string") return stats.state
  if (totals?.breakerState != null) return breakerStates[totals.breakerState] ?? String(totals.breakerState)
  return null
}

const tileOf = (
  pattern: IntegrationPatterns.PatternSnapshot,
  health: IntegrationPatterns.PatternHealthReport | undefined,
  totals: Totals | undefined
): Tile => {
  const { stats } = pattern
  const counted = totals?.seen === true ? totals : undefined
  return {
    kind: pattern.kind,
    name: pattern.name,
    status: health?.status ?? "healthy",
    reasons: health?.reasons ?? [],
    state: stateOf(stats, totals),
    ...(counted === undefined
      ? {
        requests: firstNumber(stats, ["calls", "requests", "total"]) ?? 0,
        failures: firstNumber(stats, ["failures", "failed", "errors"]) ?? 0,
        rejections: firstNumber(stats, ["rejections", "rejected"]) ?? 0
      }
      : {
        requests: Math.max(counted.calls, counted.decisions),
        failures: counted.failures,
        // A pattern may count one rejection in several counters; they count the same
        // calls, so the largest is the number of rejections.
        rejections: Math.max(counted.rejections, counted.rejectedCalls, counted.rejectedDecisions)
      }),
    active: totals?.active ?? firstNumber(stats, ["active", "running", "inFlight"]),
    queued: totals?.queued ?? firstNumber(stats, ["queued", "queueDepth", "queueLength", "waiting"]),
    stats
  }
}

/**
 * Joins the registry's view (stats and health, matched by kind and name) with the
 * toolkit's metrics into one tile per instance.
 *
 * @internal
 */
export const snapshot = (
  metrics: IntegrationPatterns.MetricsSnapshot,
  health: IntegrationPatterns.HealthReport,
  pairs: Iterable<MetricPair.MetricPair.Untyped>
): Snapshot => {
  const totals = totalsByInstance(pairs)
  const healthByKey = new Map<string, Array<IntegrationPatterns.PatternHealthReport>>()
  for (const report of health.patterns) {
    const id = key(report.kind, report.name)
    const list = healthByKey.get(id)
    if (list === undefined) healthByKey.set(id, [report])
    else list.push(report)
  }
  return {
    timestamp: metrics.timestamp,
    status: health.status,
    reasons: health.reasons,
    tiles: metrics.patterns.map((pattern) => {
      const id = key(pattern.kind, pattern.name)
      return tileOf(pattern, healthByKey.get(id)?.shift(), totals.get(id))
    })
  }
}

// Events and stats are plain data in practice, but may carry errors, bigints or (by
// mistake) cycles; none of them may break the stream.
const replacer = (seen: WeakSet<object> | undefined) => (_key: string, value: unknown): unknown => {
  if (typeof value === "bigint") return value.toString()
  if (value instanceof Error) return { ...value, name: value.name, message: value.message }
  if (seen !== undefined && typeof value === "object" && value !== null) {
    if (seen.has(value)) return "[Circular]"
    seen.add(value)
  }
  return value
}

/** @internal */
export const toJson = (value: unknown): string => {
  try {
    return JSON.stringify(value, replacer(undefined)) ?? "null"
  } catch {
    // A cycle: write every object once (a shared, acyclic object is also cut, which only
    // happens on this fallback path).
    return JSON.stringify(value, replacer(new WeakSet())) ?? "null"
  }
}

/**
 * One server-sent event. JSON has no raw line breaks, so the payload fits one `data:` line.
 *
 * @internal
 */
export const sseMessage = (event: string, data: unknown): string => `event: ${event}\ndata: ${toJson(data)}\n\n`
