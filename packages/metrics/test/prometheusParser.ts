import parsePrometheusTextFormat, { type MetricFamily, type Sample } from "parse-prometheus-text-format"

/** Parses exposition text with the real parser and refuses series it could not type. */
export const parse = (text: string): ReadonlyArray<MetricFamily> => {
  const families = parsePrometheusTextFormat(text)
  const untyped = families.filter((family) => family.type === "UNTYPED").map((family) => family.name)
  if (untyped.length > 0) throw new Error(`series without a TYPE line: ${untyped.join(", ")}`)
  return families
}

/**
 * Every sample line as the parser reads it, one family per sample name (`x_bucket`,
 * `x_sum`, `x_count` apart). parse-prometheus-text-format 1.1.1 folds all series of a
 * histogram or summary into one object and drops their labels, so labelled histograms
 * are read this way: the same parser, given the text without its TYPE lines.
 */
export const parseSamples = (text: string): ReadonlyArray<MetricFamily> =>
  parsePrometheusTextFormat(text.split("\n").filter((line) => !line.startsWith("# TYPE ")).join("\n"))

export const family = (families: ReadonlyArray<MetricFamily>, name: string): MetricFamily => {
  const found = families.find((f) => f.name === name)
  if (found === undefined) throw new Error(`no family ${name} in [${families.map((f) => f.name).join(", ")}]`)
  return found
}

/** The samples of a family whose labels include every given label. */
export const series = (
  families: ReadonlyArray<MetricFamily>,
  name: string,
  labels: Readonly<Record<string, string>>
): ReadonlyArray<Sample> =>
  family(families, name).metrics.filter((sample) =>
    Object.entries(labels).every(([key, value]) => sample.labels?.[key] === value)
  )

export const value = (
  families: ReadonlyArray<MetricFamily>,
  name: string,
  labels: Readonly<Record<string, string>>
): number => {
  const found = series(families, name, labels)
  if (found.length !== 1) throw new Error(`expected one ${name} series for ${JSON.stringify(labels)}, got ${found.length}`)
  return Number(found[0]!.value)
}

/** A labelled histogram series: its cumulative buckets by `le`, its sum and count. */
export const histogram = (
  text: string,
  name: string,
  labels: Readonly<Record<string, string>>
): { readonly buckets: Record<string, number>; readonly sum: number; readonly count: number } => {
  const samples = parseSamples(text)
  const buckets: Record<string, number> = {}
  for (const sample of series(samples, `${name}_bucket`, labels)) buckets[sample.labels!.le!] = Number(sample.value)
  return {
    buckets,
    sum: value(samples, `${name}_sum`, labels),
    count: value(samples, `${name}_count`, labels)
  }
}
