import { readdirSync } from "node:fs"
import { dirname, extname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Suite } from "./harness.js"

const here = fileURLToPath(import.meta.url)

/** Every file in `suites/` default-exports an array of suites; one file is one group. */
export const suiteDir = join(dirname(here), "suites")

// `pnpm bench` runs the compiled `.js` files; vitest's smoke test imports the `.ts` sources.
const moduleExtension = extname(here)

export const suiteFiles = (): ReadonlyArray<string> =>
  readdirSync(suiteDir)
    .filter((f) => extname(f) === moduleExtension && !f.endsWith(".d.ts"))
    .sort()
    .map((f) => join(suiteDir, f))

export const loadGroup = async (file: string): Promise<ReadonlyArray<Suite>> =>
  ((await import(file)) as { default: ReadonlyArray<Suite> }).default
