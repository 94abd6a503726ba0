// pnpm bench [--only REGEX] [--json FILE] [--quick]
// Runs each group of suites in a process of its own and prints one table. `pnpm bench`
// builds with `tsc -b` and runs the compiled JavaScript against the packages' dist, which
// is what users run.
import { spawnSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { basename, dirname, extname, join, resolve } from "node:path"
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
const self = fileURLToPath(import.meta.url)
const here = dirname(self)
// A group runs under the same node flags as this process (compiled JS under `pnpm bench`),
// always with --expose-gc for the memory rows.
const nodeArgs = process.execArgv.includes("--expose-gc") ? process.execArgv : ["--expose-gc", ...process.execArgv]

const rows: Array<Row> = []
for (const file of suiteFiles()) {
  process.stderr.write(`${basename(file, extname(file))}\n`)
  const child = spawnSync(
    process.execPath,
    [...nodeArgs, join(here, `group${extname(self)}`), file, only, quick ? "quick" : ""],
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
