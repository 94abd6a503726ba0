import { describe, expect, it } from "vitest"
import { formatTable } from "../src/report.js"
import { loadGroup, suiteFiles } from "../src/suites.js"

// Benchmarks are not tests: this only proves every suite still runs and reports rows
// in the agreed format, with tiny counts.
describe("bench suites (smoke run)", () => {
  for (const file of suiteFiles()) {
    it(`runs ${file.split("/").pop()} and reports well-formed rows`, async () => {
      const suites = await loadGroup(file)
      expect(suites.length).toBeGreaterThan(0)
      for (const suite of suites) {
        const rows = await suite.run({ quick: true })
        expect(rows.length).toBeGreaterThan(0)
        for (const row of rows) {
          expect(row.suite).toBe(suite.name)
          expect(row.impl).toMatch(/^[a-z@][\w.@/-]*$/)
          expect(row.samples).toBeGreaterThanOrEqual(1)
          const measured = [row.nsPerOp, row.bytesPerKey, row.wallMs, row.count].filter((v) => v !== undefined)
          expect(measured.length).toBeGreaterThan(0)
          for (const value of measured) expect(Number.isFinite(value)).toBe(true)
        }
        expect(formatTable(rows)).toContain(suite.name)
      }
    })
  }
})
