// Four Node processes share one limit through a real Redis. Each sends requests as fast
// as it can for about 3 seconds, all starting together; across all of them the admitted
// total must stay within the limit exactly, and reach at least 95% of it.
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Child, startChild } from "./childProcess.js"
import type { Message, Result, Scenario } from "./fixtures/rateLimiterChild.js"
import { required } from "@integration-patterns/testkit/redisServer"

const redisUrl = required("REDIS_URL")
const raw = new Redis(redisUrl)
const processes = 4
const duration = 3000
const concurrency = 4

let children: Array<Child<Message>> = []

beforeAll(async () => {
  children = Array.from({ length: processes }, () => startChild<Message>("rateLimiterChild.ts", { REDIS_URL: redisUrl }))
  await Promise.all(children.map((child) => child.next("started")))
}, 60_000)

afterAll(async () => {
  await Promise.all(children.map((child) => child.stop()))
  await raw.quit()
})

/** Runs one scenario in every process (scenario `i` in process `i`), all starting at once. */
const runTogether = async (
  scenarios: ReadonlyArray<Scenario>,
  options: { readonly duration?: number; readonly align?: Extract<Message, { type: "go" }>["align"] } = {}
) => {
  children.forEach((child, i) => child.send({ type: "prepare", scenario: scenarios[i]! }))
  await Promise.all(children.map((child) => child.next("ready")))
  const startAt = Date.now() + 300
  const go: Message = { type: "go", startAt, duration: options.duration ?? duration, concurrency }
  children.forEach((child) => child.send(options.align === undefined ? go : { ...go, align: options.align }))
  const results = await Promise.all(children.map((child) => child.next<Result>("done")))
  // Every admitting decision was made by the scripts at a Redis time within this span
  // (the scripts read TIME to the microsecond).
  const first = Math.min(...results.map((r) => r.firstTime))
  const last = Math.max(...results.map((r) => r.lastAdmitted))
  return {
    results,
    admitted: results.reduce((n, r) => n + r.admitted, 0),
    decisions: results.reduce((n, r) => n + r.admitted + r.rejected, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    span: last - first
  }
}

describe("RateLimiter across 4 processes, one Redis", () => {
  it("token bucket: admits burst + rate × elapsed across all processes, exactly, and at least 95% of it", async () => {
    const prefix = `mp:${randomUUID()}:`
    const global = { requestsPerSecond: 500, burstLimit: 100 }
    // Any two processes can spend the global budget alone, so that a stalled process
    // never leaves it unspent.
    const perKey = { requestsPerSecond: 400, burstLimit: 80 }
    const scenarios = children.map((_, i): Scenario => ({
      api: "promise",
      key: `process-${i}`,
      options: { name: "shared-bucket", ...perKey, global, store: "redis", redisUrl, keyPrefix: prefix }
    }))
    const run = await runTogether(scenarios)
    const seconds = run.span / 1000
    const bound = Math.floor(global.burstLimit + global.requestsPerSecond * seconds + 1e-9)
    const report = { ...run, bound, results: undefined }
    expect(run.failed, JSON.stringify(report)).toBe(0)
    // Far more requests than the limit: the limit, not the callers, decided.
    expect(run.decisions, JSON.stringify(report)).toBeGreaterThan(2 * bound)
    expect(run.admitted, JSON.stringify(report)).toBeLessThanOrEqual(bound)
    expect(run.admitted, JSON.stringify(report)).toBeGreaterThanOrEqual(0.95 * bound)
    // Each process's own key stayed within its budget too.
    const keyBound = Math.floor(perKey.burstLimit + perKey.requestsPerSecond * seconds + 1e-9)
    for (const result of run.results) expect(result.admitted).toBeLessThanOrEqual(keyBound)
  }, 30_000)

  it("sliding window: admits at most limit per window across all processes, exactly, and at least 95% of it", async () => {
    const prefix = `mp:${randomUUID()}:`
    const limit = 500
    const window = 1000
    const stateKey = `${prefix}{shared-window}:k:shared`
    const scenarios = children.map((): Scenario => ({
      api: "effect",
      key: "shared",
      prefix,
      options: { name: "shared-window", algorithm: "sliding-window", limit, window }
    }))
    // Windows follow each other from the first request. The processes stop 40 ms
    // before the third window boundary (3 seconds in), so that the run covers whole
    // windows: a window cut short could not fill, and would leave the bound loose.
    // (Long windows: a window's unspent budget is lost at its end, so every stall of
    // the processes across a boundary costs a share of the total.)
    const run = await runTogether(scenarios, { duration: duration + window / 2, align: { stateKey, window, margin: 40 } })
    // Each process read the first window's start (the first decision's Redis time)
    // within that window; the key's state now holds the start of the last window that
    // admitted anything.
    const starts = new Set(run.results.map((r) => r.windowStart))
    expect(starts.size).toBe(1)
    const firstWindow = run.results[0]!.windowStart!
    const lastWindow = Number((await raw.get(stateKey))!.split(" ")[0])
    // No window admits more than `limit`; windows are `window` long and start at
    // decisions, so the admitting ones are at most floor(span / window) + 1. That is
    // limit × seconds + burst, with seconds the span of the admitting windows' starts
    // (the limit per second times the span, plus one window's worth).
    const span = lastWindow - firstWindow
    const bound = limit * (Math.floor(span / window) + 1)
    expect(bound).toBeLessThanOrEqual((limit * 1000 / window) * (span / 1000) + limit)
    const report = { ...run, span, bound, results: undefined }
    expect(run.failed, JSON.stringify(report)).toBe(0)
    // The run covers three whole windows; on a loaded machine a process that stalls may
    // still be admitted just past the third boundary, in a fourth window. The upper bound
    // counts every window that admitted; the "does not starve" bound counts the three
    // whole ones.
    expect(bound, JSON.stringify(report)).toBeGreaterThanOrEqual(3 * limit)
    expect(run.decisions, JSON.stringify(report)).toBeGreaterThan(2 * 3 * limit)
    expect(run.admitted, JSON.stringify(report)).toBeLessThanOrEqual(bound)
    expect(run.admitted, JSON.stringify(report)).toBeGreaterThanOrEqual(0.95 * 3 * limit)
  }, 30_000)
})
