import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { freshness, makeEntry, remainingLife } from "../../src/internal/cacheAside/entry.js"
import { MemoryEntries } from "../../src/internal/cacheStore/memory.js"

describe("entry freshness", () => {
  const timing = { ttl: 10_000, staleTtl: 5_000, refreshAhead: 2_000 }
  const entry = makeEntry("v", [], 1_000, timing)

  it.each([
    [1_000, "fresh"],
    [8_999, "fresh"],
    [9_000, "refresh"],
    [10_999, "refresh"],
    [11_000, "stale"],
    [15_999, "stale"],
    [16_000, "expired"]
  ] as const)("at %i ms an entry stored at 1000 ms is %s", (now, expected) => {
    expect(freshness(entry, now)).toBe(expected)
  })

  it("keeps an entry in a store until the end of its stale window", () => {
    expect(remainingLife(entry, 1_000)).toBe(15_000)
    expect(remainingLife(entry, 20_000)).toBe(1)
  })

  it("moves through fresh, refresh, stale and expired in that order, for any timing", () => {
    const order = ["fresh", "refresh", "stale", "expired"]
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 1e9 }),
        FastCheck.integer({ min: 0, max: 1e9 }),
        FastCheck.integer({ min: 0, max: 1e9 }),
        FastCheck.integer({ min: 0, max: 1e12 }),
        FastCheck.array(FastCheck.integer({ min: 0, max: 3e9 }), { minLength: 2, maxLength: 20 }),
        (ttl, staleTtl, ahead, storedAt, offsets) => {
          const refreshAhead = ahead % ttl
          const e = makeEntry(0, [], storedAt, { ttl, staleTtl, refreshAhead })
          const phases = [...offsets].sort((a, b) => a - b).map((o) => order.indexOf(freshness(e, storedAt + o)))
          expect(phases).toEqual([...phases].sort((a, b) => a - b))
          expect(freshness(e, storedAt)).toBe("fresh")
          expect(freshness(e, storedAt + ttl)).toBe(staleTtl === 0 ? "expired" : "stale")
        }
      ),
      { numRuns: 1_000 }
    )
  })
})

describe("memory entries", () => {
  const timing = { ttl: 100, staleTtl: 0, refreshAhead: 0 }

  it("drops an entry once past its stale window, reporting a ttl eviction", () => {
    const evicted: Array<string> = []
    const entries = new MemoryEntries<string>(10, (reason) => evicted.push(reason))
    entries.put("k", makeEntry("v", [], 0, timing))
    expect(entries.lookup("k", 99)?.value).toBe("v")
    expect(entries.lookup("k", 100)).toBeUndefined()
    expect(entries.size).toBe(0)
    expect(evicted).toEqual(["ttl"])
  })

  it("keeps the tag index in step with overwrites and evictions", () => {
    const evicted: Array<string> = []
    const entries = new MemoryEntries<string>(2, (reason) => evicted.push(reason))
    entries.put("a", makeEntry("1", ["t"], 0, timing))
    entries.put("a", makeEntry("2", ["u"], 0, timing))
    expect(entries.apply({ _tag: "Tag", tag: "t" })).toBe(0)
    expect(entries.lookup("a", 0)?.value).toBe("2")
    entries.put("b", makeEntry("3", ["u"], 0, timing))
    entries.put("c", makeEntry("4", ["u"], 0, timing))
    expect(evicted).toEqual(["size"])
    expect(entries.apply({ _tag: "Tag", tag: "u" })).toBe(2)
    expect(entries.size).toBe(0)
  })

  it("removes by prefix and all at once", () => {
    const entries = new MemoryEntries<string>(10, () => {})
    for (const key of ["user:1", "user:2", "order:1"]) entries.put(key, makeEntry(key, [], 0, timing))
    expect(entries.apply({ _tag: "Prefix", prefix: "user:" })).toBe(2)
    expect(entries.apply({ _tag: "All" })).toBe(1)
    expect(entries.apply({ _tag: "Key", key: "order:1" })).toBe(0)
  })
})
