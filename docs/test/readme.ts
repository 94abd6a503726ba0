/**
 * Reads the root README: its fenced code blocks and its options tables, each with the
 * line it starts on, so that a failure points at the README and not at a temp file.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
export const readmePath = path.join(repoRoot, "README.md")

export const readReadme = (): string => fs.readFileSync(readmePath, "utf8")

export interface CodeBlock {
  /** The info string after the opening fence, such as `ts` or `ts skip-check`. */
  readonly info: string
  /** The 1-based README line of the block's first line of code. */
  readonly line: number
  readonly code: string
}

/** Every fenced block (``` fences), in order. */
export const codeBlocks = (markdown: string): ReadonlyArray<CodeBlock> => {
  const lines = markdown.split("\n")
  const blocks: Array<CodeBlock> = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i])
    if (open === null) continue
    const body: Array<string> = []
    let j = i + 1
    while (j < lines.length && lines[j] !== "```") body.push(lines[j++])
    if (j === lines.length) throw new Error(`README.md:${i + 1}: a code block is never closed`)
    blocks.push({ info: open[1].trim(), line: i + 2, code: body.join("\n") })
    i = j
  }
  return blocks
}

/** The TypeScript blocks to type-check: ```ts, but not ```ts skip-check. */
export const typeScriptBlocks = (markdown: string): ReadonlyArray<CodeBlock> =>
  codeBlocks(markdown).filter((block) => block.info === "ts")

export interface OptionsRow {
  readonly line: number
  readonly option: string
  readonly type: string
  readonly default: string
  readonly description: string
}

export interface OptionsTable {
  /** The 1-based README line of the header row. */
  readonly line: number
  /** The `defaults` export named by the `<!-- defaults: ... -->` marker above the table. */
  readonly source: string | undefined
  readonly rows: ReadonlyArray<OptionsRow>
}

/** The columns every options table has, in this order. */
export const optionsHeader = ["option", "type", "default", "description"] as const

/** Splits a table row on its unescaped pipes. */
export const cells = (row: string): Array<string> => {
  const inner = row.trim().replace(/^\|/, "").replace(/\|$/, "")
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"))
}

const isTableRow = (line: string): boolean => line.trim().startsWith("|")

/**
 * Every table whose header is `| option | type | default | description |`, with the
 * marker comment that names its defaults (on the line before the table, or the line
 * before that when a blank line separates them). A table with a "default" column but
 * other columns, or a row with the wrong number of cells, is a problem.
 */
export const optionsTables = (
  markdown: string
): { readonly tables: ReadonlyArray<OptionsTable>; readonly problems: ReadonlyArray<string> } => {
  const lines = markdown.split("\n")
  const tables: Array<OptionsTable> = []
  const problems: Array<string> = []
  let inFence = false
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("```")) inFence = !inFence
    if (inFence || !isTableRow(lines[i]) || (i > 0 && isTableRow(lines[i - 1]))) continue
    const header = cells(lines[i]).map((cell) => cell.toLowerCase())
    if (!header.includes("default")) continue
    if (header.join("|") !== optionsHeader.join("|")) {
      problems.push(`README.md:${i + 1}: an options table must have the columns | ${optionsHeader.join(" | ")} |`)
      continue
    }
    const marker = [lines[i - 1], lines[i - 2]]
      .map((line) => line === undefined ? null : /^<!-- defaults: (\S+) -->$/.exec(line.trim()))
      .find((match) => match !== null)
    const rows: Array<OptionsRow> = []
    for (let j = i + 2; j < lines.length && isTableRow(lines[j]); j++) {
      const [option, type, def, description, ...extra] = cells(lines[j])
      if (description === undefined || extra.length > 0) {
        problems.push(`README.md:${j + 1}: expected 4 cells, got ${cells(lines[j]).length}`)
        continue
      }
      rows.push({ line: j + 1, option, type, default: def, description })
    }
    tables.push({ line: i + 1, source: marker?.[1], rows })
  }
  return { tables, problems }
}
