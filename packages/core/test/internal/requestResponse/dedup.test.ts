import { describe, expect, it } from "@effect/vitest"
import * as Dedup from "../../../src/internal/requestResponse/dedup.js"

describe("request-response duplicate detection", () => {
  it("answers a duplicate from the request in flight", () => {
    const state = Dedup.make<string, number>(1000, 10)
    expect(Dedup.lookup(state, "a", 0)).toEqual({ _tag: "Miss" })
    Dedup.begin(state, "a", "pending-a")
    expect(Dedup.lookup(state, "a", 5_000)).toEqual({ _tag: "InFlight", pending: "pending-a" })
  })

  it("remembers a finished result for the window after it finished, then forgets it", () => {
    const state = Dedup.make<string, number>(1000, 10)
    Dedup.begin(state, "a", "pending")
    Dedup.complete(state, "a", 42, 500)
    expect(Dedup.lookup(state, "a", 1499)).toEqual({ _tag: "Done", value: 42 })
    expect(Dedup.lookup(state, "a", 1500)).toEqual({ _tag: "Miss" })
    expect(Dedup.size(state)).toBe(0)
  })

  it("forgets a request that did not finish, so a retry runs", () => {
    const state = Dedup.make<string, number>(1000, 10)
    Dedup.begin(state, "a", "pending")
    Dedup.forget(state, "a")
    expect(Dedup.lookup(state, "a", 1)).toEqual({ _tag: "Miss" })
  })

  it("keeps at most `capacity` results, dropping the oldest", () => {
    const state = Dedup.make<string, number>(10_000, 2)
    for (const [key, at] of [["a", 1], ["b", 2], ["c", 3]] as const) {
      Dedup.begin(state, key, key)
      Dedup.complete(state, key, at, at)
    }
    expect(Dedup.lookup(state, "a", 4)._tag).toBe("Miss")
    expect(Dedup.lookup(state, "b", 4)).toEqual({ _tag: "Done", value: 2 })
    expect(Dedup.lookup(state, "c", 4)).toEqual({ _tag: "Done", value: 3 })
  })

  it("expires results in the order they finished, even when they began in another order", () => {
    const state = Dedup.make<string, number>(100, 10)
    Dedup.begin(state, "slow", "s")
    Dedup.begin(state, "fast", "f")
    Dedup.complete(state, "fast", 1, 10)
    Dedup.complete(state, "slow", 2, 50)
    expect(Dedup.lookup(state, "fast", 110)._tag).toBe("Miss")
    expect(Dedup.lookup(state, "slow", 110)).toEqual({ _tag: "Done", value: 2 })
  })

  it("does nothing with a window of 0", () => {
    const state = Dedup.make<string, number>(0, 10)
    Dedup.begin(state, "a", "pending")
    Dedup.complete(state, "a", 1, 0)
    expect(Dedup.lookup(state, "a", 0)).toEqual({ _tag: "Miss" })
    expect(Dedup.size(state)).toBe(0)
  })
})
