import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import {
  applyJitter,
  backoff,
  type DelayPolicy,
  honourRetryAfter,
  nextDelay,
  retryAfterOf
} from "../../../src/internal/retry/delay.js"

const policy = (strategy: DelayPolicy["strategy"], jitter: DelayPolicy["jitter"] = "none"): DelayPolicy => ({
  strategy,
  jitter,
  baseDelay: 100,
  maxDelay: 1000
})

describe("retry delays", () => {
  it.each([
    ["fixed", [100, 100, 100, 100, 100, 100]],
    ["linear", [100, 200, 300, 400, 500, 600]],
    ["exponential", [100, 200, 400, 800, 1000, 1000]]
  ] as const)("%s backoff gives exact delays, capped at maxDelay", (strategy, expected) => {
    const delays = expected.map((_, i) => nextDelay(policy(strategy), i + 1, 100, 0.5, undefined))
    expect(delays).toEqual(expected)
  })

  it("caps exponential growth even where 2^n overflows", () => {
    expect(backoff(policy("exponential"), 2000)).toBe(1000)
    expect(backoff(policy("linear"), 1e6)).toBe(1000)
  })

  it.each([
    ["full", 0, 0],
    ["full", 0.5, 200],
    ["equal", 0, 200],
    ["equal", 0.5, 300],
    ["decorrelated", 0, 100],
    ["decorrelated", 0.5, 550]
  ] as const)("%s jitter with random %d gives %d for a 400 ms backoff", (jitter, random, expected) => {
    // decorrelated draws from [base, 3 * previous) = [100, 1000) here
    expect(nextDelay(policy("exponential", jitter), 3, 1000 / 3, random, undefined)).toBe(expected)
  })

  it("waits at least retryAfter, capped at maxDelay", () => {
    expect(honourRetryAfter(100, 250, 1000)).toBe(250)
    expect(honourRetryAfter(400, 250, 1000)).toBe(400)
    expect(honourRetryAfter(100, 5000, 1000)).toBe(1000)
    expect(honourRetryAfter(100, undefined, 1000)).toBe(100)
    expect(nextDelay(policy("fixed"), 1, 100, 0, 750)).toBe(750)
  })

  it("reads retryAfter only when it is a positive finite number", () => {
    expect(retryAfterOf({ _tag: "RateLimitExceededError", retryAfter: 120 })).toBe(120)
    expect(retryAfterOf({ retryAfter: "120" })).toBeUndefined()
    expect(retryAfterOf({ retryAfter: -1 })).toBeUndefined()
    expect(retryAfterOf({ retryAfter: Number.NaN })).toBeUndefined()
    expect(retryAfterOf("boom")).toBeUndefined()
    expect(retryAfterOf(null)).toBeUndefined()
  })

  it("keeps every jittered delay within its bounds (property)", () => {
    const arbitrary = FastCheck.record({
      strategy: FastCheck.constantFrom<DelayPolicy["strategy"]>("fixed", "linear", "exponential"),
      jitter: FastCheck.constantFrom<DelayPolicy["jitter"]>("none", "full", "equal", "decorrelated"),
      baseDelay: FastCheck.integer({ min: 0, max: 10_000 }),
      extra: FastCheck.integer({ min: 0, max: 100_000 }),
      retry: FastCheck.integer({ min: 1, max: 64 }),
      previous: FastCheck.integer({ min: 0, max: 200_000 }),
      random: FastCheck.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
    })
    FastCheck.assert(
      FastCheck.property(arbitrary, ({ baseDelay, extra, jitter, previous, random, retry, strategy }) => {
        const p: DelayPolicy = { strategy, jitter, baseDelay, maxDelay: baseDelay + extra }
        const capped = backoff(p, retry)
        const raw = applyJitter(p, capped, previous, random)
        const delay = nextDelay(p, retry, previous, random, undefined)
        expect(Number.isInteger(delay)).toBe(true)
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThanOrEqual(p.maxDelay)
        expect(capped).toBeLessThanOrEqual(p.maxDelay)
        switch (jitter) {
          case "none":
            expect(delay).toBe(capped)
            break
          case "full":
            expect(raw).toBeGreaterThanOrEqual(0)
            expect(raw).toBeLessThanOrEqual(capped)
            break
          case "equal":
            expect(raw).toBeGreaterThanOrEqual(capped / 2)
            expect(raw).toBeLessThanOrEqual(capped)
            break
          case "decorrelated":
            expect(raw).toBeGreaterThanOrEqual(Math.min(baseDelay, p.maxDelay))
            expect(raw).toBeLessThanOrEqual(Math.max(p.maxDelay, 3 * previous))
            expect(delay).toBeLessThanOrEqual(p.maxDelay)
            break
        }
      }),
      { numRuns: 2000 }
    )
  })
})
