import type { Row } from "./harness.js"

const baselineOf = (rows: ReadonlyArray<Row>, row: Row): Row | undefined => {
  const preferred = row.impl.endsWith(".promise") || row.suite.startsWith("facade.") ? "baseline.await" : "baseline.in-fiber"
  const same = rows.filter((r) => r.suite === row.suite && r.impl.startsWith("baseline."))
  return same.find((r) => r.impl === preferred) ?? same[0]
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined ? "" : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

/**
 * A Markdown table: ns per op, ops per second, and, where the suite has a baseline row,
 * the overhead over it.
 */
export const formatTable = (rows: ReadonlyArray<Row>): string => {
  const header = ["suite", "impl", "ns/op", "ops/s", "overhead ns", "other"]
  const lines = rows.map((row) => {
    const baseline = row.nsPerOp === undefined || row.impl.startsWith("baseline") ? undefined : baselineOf(rows, row)
    const overhead = baseline?.nsPerOp === undefined ? undefined : row.nsPerOp! - baseline.nsPerOp
    const other = [
      row.bytesPerKey === undefined ? undefined : `${fmt(row.bytesPerKey, 1)} bytes/key`,
      row.wallMs === undefined ? undefined : `${fmt(row.wallMs, 2)} ms wall`,
      row.count === undefined ? undefined : `count ${row.count}`,
      row.note
    ].filter((x) => x !== undefined).join("; ")
    return [row.suite, row.impl, fmt(row.nsPerOp), fmt(row.opsPerSec), fmt(overhead), other]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const render = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  return [render(header), render(widths.map((w) => "-".repeat(w))), ...lines.map(render)].join("\n")
}
