// Prints vitest's totals from its JSON report as one plain line: "N passed, N failed".
import { readFileSync } from "node:fs"

const file = process.argv[2] ?? ".vitest-report.json"
try {
  const report = JSON.parse(readFileSync(file, "utf8"))
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
  console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`)
} catch (error) {
  console.log("0 passed, 1 failed")
  console.error(`no vitest report at ${file}: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
}
