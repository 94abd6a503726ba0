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

const validMetricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const validLabelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const needsEscape = /[\\"\n]/

/** @internal */
export const metricName = (name: string): string => {
  if (validMetricName.test(name)) return name
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned
}

/** @internal */
export const labelName = (name: string): string => {
  if (validLabelName.test(name)) return name
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned
}

/** @internal */
export const escapeLabelValue = (value: string): string =>
  needsEscape.test(value) ? value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n") : value

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

const label = (key: string, value: string): string => `${labelName(key)}="${escapeLabelValue(value)}"`

// A series' labels are rendered once; bucket, quantile and key labels are appended to them.
const sample = (name: string, labels: string, value: number | bigint, extra?: string): string => {
  const all = extra === undefined ? labels : labels === "" ? extra : `${labels},${extra}`
  return all === "" ? `${name} ${formatValue(value)}` : `${name}{${all}} ${formatValue(value)}`
}

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

const pushSamples = (
  lines: Array<string>,
  family: string,
  labels: string,
  state: MetricState.MetricState.Untyped
): void => {
  if (MetricState.isCounterState(state)) {
    lines.push(sample(family, labels, state.count))
  } else if (MetricState.isGaugeState(state)) {
    lines.push(sample(family, labels, state.value))
  } else if (MetricState.isFrequencyState(state)) {
    for (const [key, count] of state.occurrences) lines.push(sample(family, labels, count, label("key", key)))
  } else if (MetricState.isHistogramState(state)) {
    const bucket = `${family}_bucket`
    for (const [boundary, cumulative] of state.buckets) {
      if (boundary !== Infinity) lines.push(sample(bucket, labels, cumulative, `le="${formatValue(boundary)}"`))
    }
    // Effect's boundaries end with +Inf, whose cumulative count is the total; state.count is the same number.
    lines.push(sample(bucket, labels, state.count, `le="+Inf"`))
    lines.push(sample(`${family}_sum`, labels, state.sum))
    lines.push(sample(`${family}_count`, labels, state.count))
  } else if (MetricState.isSummaryState(state)) {
    for (const [quantile, value] of state.quantiles) {
      lines.push(sample(family, labels, Option.getOrElse(value, () => NaN), `quantile="${formatValue(quantile)}"`))
    }
    lines.push(sample(`${family}_sum`, labels, state.sum))
    lines.push(sample(`${family}_count`, labels, state.count))
  }
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
    pushSamples(family.lines, name, metricKey.tags.map((tag) => label(tag.key, tag.value)).join(","), metricState)
  }
  const out: Array<string> = []
  for (const family of [...families.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (family.help !== undefined) out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
    out.push(`# TYPE ${family.name} ${family.type}`)
    for (const line of family.lines) out.push(line)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}
