import type { Row } from "./harness.js"

const baselineOf = (rows: ReadonlyArray<Row>, row: Row): Row | undefined => {
  const preferred = row.impl.endsWith(".promise") || row.suite.startsWith("facade.") ? "baseline.await" : "baseline.in-fiber"
  const same = rows.filter((r) => r.suite === row.suite && r.impl.startsWith("baseline."))
  return same.find((r) => r.impl === preferred) ?? same[0]
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined ? "" : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

/**
 * A Markdown table: ns per op (median of the rounds, and their 10th percentile), ops per
 * second, and, where the suite has a baseline row, the overhead over it.
 */
export const formatTable = (rows: ReadonlyArray<Row>): string => {
  const header = ["suite", "impl", "ns/op", "ops/s", "overhead ns", "p10 ns/op", "p10 overhead ns", "other"]
  const lines = rows.map((row) => {
    const baseline = row.nsPerOp === undefined || row.impl.startsWith("baseline") ? undefined : baselineOf(rows, row)
    const overhead = baseline?.nsPerOp === undefined ? undefined : row.nsPerOp! - baseline.nsPerOp
    const p10Overhead = baseline?.p10NsPerOp === undefined || row.p10NsPerOp === undefined
      ? undefined
      : row.p10NsPerOp - baseline.p10NsPerOp
    const other = [
      row.bytesPerKey === undefined ? undefined : `${fmt(row.bytesPerKey, 1)} bytes/key`,
      row.wallMs === undefined ? undefined : `${fmt(row.wallMs, 2)} ms wall`,
      row.count === undefined ? undefined : `count ${row.count}`,
      row.note
    ].filter((x) => x !== undefined).join("; ")
    return [
      row.suite,
      row.impl,
      fmt(row.nsPerOp),
      fmt(row.opsPerSec),
      fmt(overhead),
      fmt(row.p10NsPerOp),
      fmt(p10Overhead),
      other
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const render = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  return [render(header), render(widths.map((w) => "-".repeat(w))), ...lines.map(render)].join("\n")
}
