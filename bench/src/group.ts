// Runs one group of suites in this process and prints its rows as one JSON line.
import type { Row } from "./harness.js"
import { loadGroup } from "./suites.js"

const [file, only, quick] = process.argv.slice(2)
const pattern = only === undefined || only === "" ? undefined : new RegExp(only)
const rows: Array<Row> = []
for (const suite of await loadGroup(file!)) {
  if (pattern !== undefined && !pattern.test(suite.name)) continue
  process.stderr.write(`  ${suite.name} ...\n`)
  rows.push(...(await suite.run({ quick: quick === "quick" })))
}
process.stdout.write(`@@rows ${JSON.stringify(rows)}\n`)
process.exit(0)
