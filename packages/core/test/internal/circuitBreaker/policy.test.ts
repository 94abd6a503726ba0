import { describe, expect, it } from "@effect/vitest"
import { instantiate, lastCalls, lastMillis } from "../../../src/internal/circuitBreaker/policy.js"

describe("trip policies", () => {
  it("counts only the last N calls", () => {
    const policy = instantiate({ _tag: "FailureRate", threshold: 0.5, minimumThroughput: 3, window: lastCalls(3) })
    expect(policy.record(true, false, 0)).toBe(false)
    expect(policy.record(false, false, 0)).toBe(false)
    expect(policy.record(false, false, 0)).toBe(false)
    expect(policy.record(false, false, 0)).toBe(false)
    expect(policy.record(true, false, 0)).toBe(false)
    expect(policy.record(true, false, 0)).toBe(true)
  })

  it("forgets calls once their bucket leaves the time window", () => {
    const policy = instantiate({
      _tag: "FailureRate",
      threshold: 0.5,
      minimumThroughput: 4,
      window: lastMillis(1_000, 10)
    })
    for (let i = 0; i < 3; i++) expect(policy.record(true, false, 50)).toBe(false)
    // At 1,000 ms the bucket [0, 100) has left the window: one failure seen, below the minimum.
    expect(policy.record(true, false, 1_000)).toBe(false)
    expect(policy.snapshot()).toEqual({ _tag: "Time", duration: 1_000, buckets: [[10, 1, 1]] })
    for (let i = 0; i < 2; i++) expect(policy.record(true, false, 1_050)).toBe(false)
    expect(policy.record(false, false, 1_099)).toBe(true)
  })

  it("keeps calls that are still inside the time window", () => {
    const policy = instantiate({
      _tag: "FailureRate",
      threshold: 0.5,
      minimumThroughput: 4,
      window: lastMillis(1_000, 10)
    })
    for (let i = 0; i < 3; i++) policy.record(true, false, 100)
    expect(policy.record(true, false, 1_099)).toBe(true)
  })

  it("counts slow calls, failed or not, for the slow-call policy", () => {
    const policy = instantiate({ _tag: "SlowCallRate", threshold: 1, minimumThroughput: 2, window: lastCalls(2) })
    expect(policy.record(true, true, 0)).toBe(false)
    expect(policy.record(false, true, 0)).toBe(true)
    policy.reset()
    expect(policy.record(false, true, 0)).toBe(false)
    expect(policy.record(true, false, 0)).toBe(false)
  })

  it("restores only counters that belong to the same window", () => {
    const a = instantiate({ _tag: "FailureRate", threshold: 0.5, minimumThroughput: 2, window: lastCalls(2) })
    a.record(true, false, 0)
    const other = instantiate({ _tag: "FailureRate", threshold: 0.5, minimumThroughput: 3, window: lastCalls(3) })
    expect(other.restore(a.snapshot())).toBe(false)
    const same = instantiate({ _tag: "FailureRate", threshold: 0.5, minimumThroughput: 2, window: lastCalls(2) })
    expect(same.restore(a.snapshot())).toBe(true)
    expect(same.record(false, false, 0)).toBe(true)
  })
})
