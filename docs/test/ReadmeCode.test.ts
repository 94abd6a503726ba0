/**
 * Type-checks every ```ts block of the README. Each block becomes one module in
 * `docs/.readme-blocks/` (inside the repository, so that the workspace packages resolve
 * as they do for any package here, through their `source` export condition), and the
 * TypeScript compiler checks them all in one program. A block that is deliberately not
 * standalone is marked ```ts skip-check.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"
import { type CodeBlock, codeBlocks, readReadme, repoRoot, typeScriptBlocks } from "./readme.js"

const dir = path.join(repoRoot, "docs", ".readme-blocks")

const fileOf = (block: CodeBlock): string => path.join(dir, `readme-line-${block.line}.ts`)

const writeBlocks = (blocks: ReadonlyArray<CodeBlock>): string => {
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  // `export {}` on a line of its own after the code makes every block a module of its
  // own (its names do not meet another block's) without moving its lines.
  for (const block of blocks) fs.writeFileSync(fileOf(block), `${block.code}\nexport {}\n`)
  const tsconfig = {
    extends: "../../tsconfig.base.json",
    compilerOptions: {
      noEmit: true,
      composite: false,
      declaration: false,
      declarationMap: false,
      sourceMap: false,
      incremental: false,
      // Snippets may declare what they only show.
      noUnusedLocals: false,
      noUnusedParameters: false,
      customConditions: ["source"]
    },
    include: ["*.ts"]
  }
  const configPath = path.join(dir, "tsconfig.json")
  fs.writeFileSync(configPath, JSON.stringify(tsconfig, null, 2))
  return configPath
}

const format = (diagnostic: ts.Diagnostic, blocks: ReadonlyMap<string, CodeBlock>): string => {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
  const file = diagnostic.file
  if (file === undefined || diagnostic.start === undefined) return message
  const { line, character } = file.getLineAndCharacterOfPosition(diagnostic.start)
  const block = blocks.get(path.resolve(file.fileName))
  return block === undefined
    ? `${file.fileName}:${line + 1}:${character + 1}: ${message}`
    : `README.md:${block.line + line}:${character + 1}: ${message}`
}

const check = (blocks: ReadonlyArray<CodeBlock>): Array<string> => {
  const configPath = writeBlocks(blocks)
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"))
    }
  })!
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options })
  const byFile = new Map(blocks.map((block) => [path.resolve(fileOf(block)), block] as const))
  const diagnostics = [
    ...parsed.errors,
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...blocks.flatMap((block) => {
      const source = program.getSourceFile(fileOf(block))
      if (source === undefined) return []
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    })
  ]
  return diagnostics.map((d) => format(d, byFile))
}

// A block that must fail, checked in the same program as the README's own (one program
// costs about 20 s of CPU here; two would double it), at a line no README block has.
const canary: CodeBlock = {
  info: "ts",
  line: 1_000_000,
  code: "import { Retry } from \"@integration-patterns/core\"\n\nexport const n: number = Retry.defaults.name\n"
}

describe("README code blocks", () => {
  const markdown = readReadme()
  const blocks = typeScriptBlocks(markdown)

  it("are marked ts (or ts skip-check), never typescript or tsx", () => {
    const misnamed = codeBlocks(markdown)
      .filter((block) => /^(typescript|tsx?|js|javascript)\b/.test(block.info))
      .filter((block) => block.info !== "ts" && block.info !== "ts skip-check")
      .map((block) => `README.md:${block.line - 1}: \`\`\`${block.info}`)
    expect(misnamed).toEqual([])
  })

  it("type-check, and an error is reported at its README line", () => {
    expect(blocks.length).toBeGreaterThan(0)
    const errors = check([...blocks, canary])
    const [fromCanary, fromReadme] = [
      errors.filter((e) => e.startsWith("README.md:1000002:")),
      errors.filter((e) => !e.startsWith("README.md:1000002:"))
    ]
    expect(fromReadme).toEqual([])
    expect(fromCanary).toHaveLength(1)
    expect(fromCanary[0]).toMatch(/^README\.md:1000002:\d+: Type 'string' is not assignable to type 'number'/)
  })
})
