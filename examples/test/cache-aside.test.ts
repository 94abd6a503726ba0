import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { main as effectMain } from "../src/cache-aside.js"
import { main as promiseMain } from "../src/cache-aside-promise.js"

describe("cache-aside examples", () => {
  it.live("the Effect example shares one query among 1,000 lookups", () =>
    Effect.gen(function*() {
      const { queries, stats } = yield* effectMain
      expect(queries).toBe(4)
      expect(stats).toMatchObject({ hits: 1, misses: 1_003, loads: 3, loadFailures: 1, size: 1 })
    }))

  it("the Promise example loads once, then again after an invalidation", async () => {
    const { queries, stats } = await promiseMain()
    expect(queries).toBe(3)
    expect(stats).toMatchObject({ hits: 1, loads: 2, loadFailures: 1 })
  })
})
