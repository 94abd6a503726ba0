import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { makeVerdict } from "../../../src/internal/rateLimiter/algorithms.js"
import { LimiterCore, makeAlgorithm } from "../../../src/internal/rateLimiter/core.js"
import type { AlgorithmSpec } from "../../../src/RateLimiter.js"

const bucket = (requestsPerSecond: number, burstLimit: number): AlgorithmSpec => ({
  algorithm: "token-bucket",
  requestsPerSecond,
  burstLimit
})

const specs: ReadonlyArray<AlgorithmSpec> = [
  bucket(10, 3),
  { algorithm: "fixed-window", limit: 3, window: 300 },
  { algorithm: "sliding-window", limit: 3, window: 300 }
]

describe("LimiterCore: key and global budgets", () => {
  it("consumes from neither budget when the global one rejects", () => {
    const core = new LimiterCore(bucket(1, 5), bucket(1, 2), 100)
    expect(core.consume("a", 1, 0)).toMatchObject({ allowed: true, scope: "global", remaining: 1, limit: 2 })
    expect(core.consume("b", 1, 0)).toMatchObject({ allowed: true, scope: "global", remaining: 0 })
    expect(core.consume("a", 1, 0)).toEqual({
      allowed: false,
      remaining: 0,
      limit: 2,
      retryAfter: 1000,
      resetAfter: 2000,
      scope: "global"
    })
    // "a" paid once, not twice: the rejected request took nothing from its bucket.
    expect(core.keyStats("a", 0)).toMatchObject({ remaining: 4, allowed: 1, rejected: 1 })
  })

  it("consumes from neither budget when the key's rejects", () => {
    const core = new LimiterCore(bucket(1, 1), bucket(1, 10), 100)
    core.consume("a", 1, 0)
    expect(core.consume("a", 1, 0)).toMatchObject({ allowed: false, scope: "key", retryAfter: 1000, limit: 1 })
    expect(core.global(0)).toEqual({ limit: 10, remaining: 9, resetAfter: 1000 })
  })

  it("reports the later retry when both budgets reject", () => {
    const core = new LimiterCore(bucket(1, 1), bucket(0.5, 1), 100)
    core.consume("a", 1, 0)
    expect(core.consume("a", 1, 500)).toMatchObject({ allowed: false, scope: "global", retryAfter: 1500 })
  })

  it("does not track a key whose first request is rejected", () => {
    const core = new LimiterCore(bucket(1, 5), bucket(1, 1), 100)
    core.consume("a", 1, 0)
    for (let i = 0; i < 50; i++) expect(core.consume(`flood-${i}`, 1, 0).allowed).toBe(false)
    expect(core.table.size).toBe(1)
    expect(core.keyStats("flood-1", 0)).toMatchObject({ tracked: false, remaining: 5, allowed: 0 })
  })

  it("peeks without consuming or counting", () => {
    const core = new LimiterCore(bucket(1, 2), undefined, 100)
    expect(core.peek("a", 1, 0)).toMatchObject({ allowed: true, remaining: 1 })
    expect(core.peek("a", 1, 0)).toMatchObject({ allowed: true, remaining: 1 })
    expect(core.table.size).toBe(0)
  })

  it("never lets a key or the global budget go past its limit, whatever the interleaving (1,000 runs)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(
          FastCheck.record({
            key: FastCheck.integer({ min: 0, max: 5 }),
            cost: FastCheck.integer({ min: 0, max: 3 })
          }),
          { maxLength: 200 }
        ),
        (requests) => {
          // No refill: every admitted unit is visible in both totals.
          const core = new LimiterCore(bucket(1e-9, 7), bucket(1e-9, 20), 100)
          const perKey = new Map<string, number>()
          let total = 0
          for (const { cost, key } of requests) {
            const k = `k${key}`
            if (core.consume(k, cost, 1000).allowed) {
              perKey.set(k, (perKey.get(k) ?? 0) + cost)
              total += cost
            }
          }
          if (total > 20 || core.global(1000)!.remaining !== 20 - total) return false
          for (const [k, used] of perKey) {
            if (used > 7 || core.keyStats(k, 1000).remaining !== 7 - used) return false
          }
          return true
        }
      ),
      { numRuns: 1000 }
    )
  })
})

describe("LimiterCore: forgetting keys", () => {
  it("decides exactly as if idle keys were never forgotten (1,000 runs)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.constantFrom(...specs),
        FastCheck.array(
          FastCheck.record({
            key: FastCheck.integer({ min: 0, max: 4 }),
            gap: FastCheck.integer({ min: 0, max: 400 }),
            cost: FastCheck.integer({ min: 0, max: 2 })
          }),
          { maxLength: 150 }
        ),
        (spec, requests) => {
          const core = new LimiterCore(spec, undefined, 100)
          // The reference keeps every key's state forever.
          const algorithm = makeAlgorithm(spec)
          const reference = new Map<string, Float64Array>()
          const verdict = makeVerdict()
          let now = 0
          for (const { cost, gap, key } of requests) {
            now += gap
            const k = `k${key}`
            let state = reference.get(k)
            if (state === undefined) {
              state = new Float64Array(algorithm.stride)
              algorithm.reset(state, 0)
              reference.set(k, state)
            }
            algorithm.probe(state, 0, cost, now, verdict)
            if (verdict.allowed) algorithm.commit(state, 0, cost, now)
            const decision = core.consume(k, cost, now)
            if (
              decision.allowed !== verdict.allowed || decision.remaining !== verdict.remaining ||
              decision.retryAfter !== verdict.retryAfter || decision.resetAfter !== verdict.resetAfter
            ) return false
          }
          return true
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("drops idle keys once their budget has refilled", () => {
    const core = new LimiterCore(bucket(10, 1), undefined, 100)
    for (let i = 0; i < 10; i++) core.consume(`k${i}`, 1, 0)
    expect(core.table.size).toBe(10)
    // 100 ms refills one token: every key is idle, and each decision drops up to two.
    for (let i = 0; i < 5; i++) core.consume("other", 0, 100 + i)
    expect(core.table.size).toBe(1)
    expect(core.table.expired).toBe(10)
    expect(core.table.evicted).toBe(0)
  })

  it("evicts the least recently used key at the cap, and it comes back with a whole budget", () => {
    const core = new LimiterCore(bucket(1e-9, 2), undefined, 3)
    core.consume("a", 1, 0)
    core.consume("b", 1, 0)
    core.consume("c", 1, 0)
    core.consume("a", 1, 0)
    core.consume("d", 1, 0)
    expect([...core.table.keysByRecency()]).toEqual(["d", "a", "c"])
    expect(core.table.evicted).toBe(1)
    expect(core.keyStats("b", 0)).toMatchObject({ tracked: false, remaining: 2 })
    expect(core.consume("b", 1, 0)).toMatchObject({ allowed: true, remaining: 1 })
    expect([...core.table.keysByRecency()]).toEqual(["b", "d", "a"])
  })

  it("never tracks more than maxKeys keys under a stream of random keys (1,000 runs)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 40 }),
        FastCheck.array(FastCheck.string({ maxLength: 6 }), { maxLength: 300 }),
        (maxKeys, keys) => {
          const core = new LimiterCore(bucket(1e-9, 5), undefined, maxKeys)
          // An exact least-recently-used list, most recent first.
          const lru: Array<string> = []
          let evictions = 0
          for (const key of keys) {
            core.consume(key, 1, 0)
            if (core.table.size > maxKeys) return false
            const at = lru.indexOf(key)
            if (at !== -1) lru.splice(at, 1)
            else if (lru.length === maxKeys) {
              lru.pop()
              evictions++
            }
            lru.unshift(key)
          }
          return JSON.stringify([...core.table.keysByRecency()]) === JSON.stringify(lru) &&
            core.table.evicted === evictions
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("keeps every key's state when the table grows past its first allocation", () => {
    const core = new LimiterCore({ algorithm: "sliding-window", limit: 5, window: 1000 }, undefined, 10_000)
    for (let i = 0; i < 5000; i++) core.consume(`k${i}`, (i % 5) + 1, 0)
    for (let i = 0; i < 5000; i += 499) {
      expect(core.keyStats(`k${i}`, 0)).toMatchObject({ tracked: true, remaining: 5 - ((i % 5) + 1) })
    }
    expect(core.table.size).toBe(5000)
  })
})
