import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { expect } from "@effect/vitest"
import type { Saga } from "../../src/index.js"

const here = dirname(fileURLToPath(import.meta.url))
const packageDir = join(here, "..", "..")
const childFile = join(here, "child.ts")

export type StoreArgs = { readonly sqlite: string } | { readonly pg: string; readonly prefix: string }

export interface ChildArgs {
  readonly store: StoreArgs
  readonly effects: string
  readonly recovery: Saga.Recovery
  readonly recover: boolean
  readonly killAt?: string
}

interface Finished {
  readonly stdout: string
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
}

/**
 * Runs the child process. With `killAt`, sends SIGKILL as soon as the child prints
 * that it reached the kill point (it blocks there), so each kill lands exactly.
 */
export const runChild = (args: ChildArgs): Promise<Finished> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=source", "--import", "tsx", childFile, JSON.stringify(args)],
      { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] }
    )
    let stdout = ""
    let stderr = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`child timed out (${args.killAt ?? "recover"})\n${stdout}\n${stderr}`))
    }, 90_000)
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
      if (args.killAt !== undefined && stdout.includes(`@@at ${args.killAt}\n`)) child.kill("SIGKILL")
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    child.on("error", reject)
    // "close", not "exit": only "close" guarantees the child's output has been read in full.
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ stdout, code, signal, stderr })
    })
  })

const lines = (stdout: string, tag: string): Array<string> =>
  stdout.split("\n").filter((line) => line.startsWith(`@@${tag} `)).map((line) => line.slice(tag.length + 3))

interface Report {
  readonly recovered: ReadonlyArray<Saga.RecoveredSaga>
  readonly failed: ReadonlyArray<string>
}

const steps = ["s1", "s2", "s3", "s4"]

/** Which steps of B completed before the kill. */
export const completedBefore = (killAt: string): ReadonlyArray<string> => {
  if (killAt === "started") return []
  const [when, step] = killAt.split(":") as [string, string]
  const index = steps.indexOf(step)
  return steps.slice(0, when === "after" ? index + 1 : index)
}

const effectsOf = (effects: string, sagaId: string): ReadonlyArray<string> =>
  readFileSync(effects, "utf8").split("\n").filter((line) => line.includes(` ${sagaId}:`))

interface Killed {
  readonly killAt: string
  /** Saga A, which ran to its end before the kill. */
  readonly a: string
  /** Saga B, killed at `killAt`. */
  readonly b: string
}

export interface ChainOptions {
  readonly store: StoreArgs
  readonly effects: string
  readonly recovery: Saga.Recovery
  readonly killPoints: ReadonlyArray<string>
  readonly statusOf: (sagaId: string) => Promise<string | undefined>
}

/**
 * The crash test as a chain of processes: each one recovers what the previous one
 * left when it was killed (as a process does at start-up), then runs sagas A and B
 * and is killed at the next kill point; the last one only recovers. So every kill is
 * followed by recovery in a new process, with one process per kill point.
 */
export const runChain = async (options: ChainOptions): Promise<void> => {
  let previous: Killed | undefined
  for (const killAt of [...options.killPoints, undefined]) {
    const child = await runChild({
      store: options.store,
      effects: options.effects,
      recovery: options.recovery,
      recover: previous !== undefined,
      ...(killAt === undefined ? {} : { killAt })
    })
    const context = `${previous === undefined ? "" : `recovery after the kill at ${previous.killAt}; `}${
      killAt === undefined ? "" : `run killed at ${killAt}`
    }\n${child.stdout}\n${child.stderr}`
    if (killAt === undefined) expect(child.code, context).toBe(0)
    else expect(child.signal, context).toBe("SIGKILL")
    if (previous !== undefined) {
      const [report] = lines(child.stdout, "report")
      expect(report, context).toBeDefined()
      check(options, previous, JSON.parse(report!) as Report, context)
      // No saga is lost: none is left running once recovery is done.
      expect(lines(child.stdout, "running"), context).toEqual(["0"])
      const compensating = options.recovery === "compensate"
      expect(await options.statusOf(previous.b), context).toBe(compensating ? "compensated" : "completed")
      expect(await options.statusOf(previous.a), context).toBe("completed")
    }
    if (killAt === undefined) return
    expect(child.stdout, context).toContain(`@@at ${killAt}\n`)
    const sagas = new Map(lines(child.stdout, "saga").map((line) => line.split(" ") as [string, string]))
    previous = { killAt, a: sagas.get("A")!, b: sagas.get("B")! }
    expect(previous.a, context).toBeDefined()
    expect(previous.b, context).toBeDefined()
  }
}

const check = (options: ChainOptions, killed: Killed, report: Report, context: string) => {
  const done = completedBefore(killed.killAt)
  const b = effectsOf(options.effects, killed.b)
  if (options.recovery === "compensate") {
    // Every completed step compensated exactly once, in reverse order, after every
    // action; nothing that did not complete.
    expect(b, context).toEqual([
      ...done.map((step) => `do B ${step} ${killed.b}:${step}`),
      ...done.slice().reverse().map((step) => `undo B ${step} ${killed.b}:${step} ${steps.indexOf(step) + 1}`)
    ])
  } else {
    // The remaining steps ran, each exactly once; nothing was compensated.
    expect(b, context).toEqual(steps.map((step) => `do B ${step} ${killed.b}:${step}`))
  }
  expect(report, context).toEqual({
    recovered: [{
      sagaId: killed.b,
      saga: "crash-test",
      action: options.recovery === "compensate" ? "compensated" : "resumed",
      outcome: options.recovery === "compensate" ? "compensated" : "completed"
    }],
    failed: []
  })
  // Saga A had completed before the kill: recovery left it alone.
  expect(effectsOf(options.effects, killed.a), context).toEqual(steps.map((step) => `do A ${step} ${killed.a}:${step}`))
}

/**
 * Every step boundary of B in turn (started, after each step), and the middle of a
 * step, in two chains that run side by side.
 */
export const killChains: ReadonlyArray<ReadonlyArray<string>> = [
  ["started", "after:s1", "after:s2"],
  ["after:s3", "after:s4", "during:s3"]
]
