import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Suite } from "./harness.js"

/** Every file in `suites/` default-exports an array of suites; one file is one group. */
export const suiteDir = join(dirname(fileURLToPath(import.meta.url)), "suites")

export const suiteFiles = (): ReadonlyArray<string> =>
  readdirSync(suiteDir).filter((f) => f.endsWith(".ts")).sort().map((f) => join(suiteDir, f))

export const loadGroup = async (file: string): Promise<ReadonlyArray<Suite>> =>
  ((await import(file)) as { default: ReadonlyArray<Suite> }).default
