import type * as MetricKey from "effect/MetricKey"
import * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"

/** @internal */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

type FamilyType = "counter" | "gauge" | "histogram" | "summary"

interface Family {
  readonly name: string
  readonly type: FamilyType
  readonly help: string | undefined
  readonly lines: Array<string>
}

/** @internal */
export const metricName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned
}

/** @internal */
export const labelName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned
}

/** @internal */
export const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

/** @internal */
export const escapeHelp = (help: string): string => help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** @internal */
export const formatValue = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Infinity) return "+Inf"
  if (value === -Infinity) return "-Inf"
  return String(value)
}

type Labels = ReadonlyArray<readonly [string, string]>

const formatLabels = (labels: Labels): string =>
  labels.length === 0
    ? ""
    : `{${labels.map(([key, value]) => `${labelName(key)}="${escapeLabelValue(value)}"`).join(",")}}`

const sample = (name: string, labels: Labels, value: number | bigint): string =>
  `${name}${formatLabels(labels)} ${formatValue(value)}`

const counterName = (name: string): string => name.endsWith("_total") ? name : `${name}_total`

const familyOf = (key: MetricKey.MetricKey.Untyped): { readonly name: string; readonly type: FamilyType } => {
  const base = metricName(key.name)
  if (MetricKeyType.isCounterKey(key.keyType) || MetricKeyType.isFrequencyKey(key.keyType)) {
    return { name: counterName(base), type: "counter" }
  }
  if (MetricKeyType.isHistogramKey(key.keyType)) return { name: base, type: "histogram" }
  if (MetricKeyType.isSummaryKey(key.keyType)) return { name: base, type: "summary" }
  return { name: base, type: "gauge" }
}

const samplesOf = (family: string, labels: Labels, state: MetricState.MetricState.Untyped): Array<string> => {
  if (MetricState.isCounterState(state)) return [sample(family, labels, state.count)]
  if (MetricState.isGaugeState(state)) return [sample(family, labels, state.value)]
  if (MetricState.isFrequencyState(state)) {
    return Array.from(state.occurrences, ([key, count]) => sample(family, [...labels, ["key", key]], count))
  }
  if (MetricState.isHistogramState(state)) {
    const lines: Array<string> = []
    for (const [boundary, cumulative] of state.buckets) {
      if (boundary !== Infinity) lines.push(sample(`${family}_bucket`, [...labels, ["le", formatValue(boundary)]], cumulative))
    }
    // Effect's boundaries end with +Inf, whose cumulative count is the total; state.count is the same number.
    lines.push(sample(`${family}_bucket`, [...labels, ["le", "+Inf"]], state.count))
    lines.push(sample(`${family}_sum`, labels, state.sum))
    lines.push(sample(`${family}_count`, labels, state.count))
    return lines
  }
  if (MetricState.isSummaryState(state)) {
    const lines = state.quantiles.map(([quantile, value]) =>
      sample(family, [...labels, ["quantile", formatValue(quantile)]], Option.getOrElse(value, () => NaN))
    )
    lines.push(sample(`${family}_sum`, labels, state.sum))
    lines.push(sample(`${family}_count`, labels, state.count))
    return lines
  }
  return []
}

/**
 * Renders a metric snapshot in the Prometheus text exposition format (version 0.0.4).
 * Series are grouped into one family per name, families are sorted by name, and each
 * family gets its `HELP` (when the metric has a description) and `TYPE` lines.
 *
 * @internal
 */
export const format = (pairs: Iterable<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, Family>()
  for (const { metricKey, metricState } of pairs) {
    const { name, type } = familyOf(metricKey)
    let family = families.get(name)
    if (family === undefined) {
      family = { name, type, help: Option.getOrUndefined(metricKey.description), lines: [] }
      families.set(name, family)
    } else if (family.type !== type) {
      // Two metrics of different kinds under one exposition name would make the whole
      // scrape invalid; the first one registered keeps the name.
      continue
    }
    const labels: Labels = metricKey.tags.map((tag) => [tag.key, tag.value] as const)
    family.lines.push(...samplesOf(name, labels, metricState))
  }
  const out: Array<string> = []
  for (const family of [...families.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (family.help !== undefined) out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
    out.push(`# TYPE ${family.name} ${family.type}`)
    out.push(...family.lines)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}
