// pnpm bench [--only REGEX] [--json FILE] [--quick]
// Runs each group of suites in a process of its own and prints one table.
import { spawnSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { formatTable } from "./report.js"
import type { Row } from "./harness.js"
import { suiteFiles } from "./suites.js"

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : args[i + 1]
}
const only = flag("--only") ?? ""
const jsonFile = flag("--json")
const quick = args.includes("--quick")
const here = dirname(fileURLToPath(import.meta.url))

const rows: Array<Row> = []
for (const file of suiteFiles()) {
  process.stderr.write(`${basename(file, ".ts")}\n`)
  const child = spawnSync(
    process.execPath,
    ["--expose-gc", "--conditions=source", "--import", "tsx", join(here, "group.ts"), file, only, quick ? "quick" : ""],
    { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }
  )
  const line = child.stdout.split("\n").find((l) => l.startsWith("@@rows "))
  if (child.status !== 0 || line === undefined) {
    process.stderr.write(`group ${basename(file)} failed (exit ${child.status})\n${child.stdout}\n`)
    process.exitCode = 1
    continue
  }
  rows.push(...(JSON.parse(line.slice("@@rows ".length)) as Array<Row>))
}

process.stdout.write(formatTable(rows) + "\n")
if (jsonFile !== undefined) {
  const target = resolve(process.env.INIT_CWD ?? process.cwd(), jsonFile)
  writeFileSync(target, JSON.stringify(rows, null, 2) + "\n")
  process.stderr.write(`wrote ${target}\n`)
}
