import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as PromiseExample from "../src/retry-timeout-promise.js"
import * as EffectExample from "../src/retry-timeout.js"

describe("examples (smoke)", () => {
  it.effect("retry-timeout: retries a failure and a hang, and gives up on a dead SKU", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(EffectExample.main)
      yield* TestClock.adjust("1 minute")
      const summary = yield* Fiber.join(fiber)
      expect(summary.results.map(Either.isRight)).toEqual([true, true, false])
      // the answer comes 5 ms into a 100 ms deadline
      expect(Either.getOrThrow(summary.results[0]!)).toEqual({ sku: "sku-1", available: 15, budgetMs: 95 })
      expect(Either.flip(summary.results[2]!).pipe(Either.getOrThrow)).toContain("gave up after 3 attempt(s)")
      expect(summary.calls).toBe(7)
      expect(summary.interruptedCalls).toBe(1)
      expect(summary.retry).toMatchObject({ retries: 4, successes: 2, exhausted: 1 })
      expect(summary.timeout).toMatchObject({ calls: 7, timeouts: 1 })
      expect(summary.events).toContain("timed out after 100 ms")
      expect(summary.events.at(-1)).toBe("gave up after 3 attempts (MaxAttempts)")
      expect(EffectExample.format(summary)).toContain("ok     sku-1: 15 in stock")
    }))

  it("retry-timeout-promise: aborts a slow call, retries it, and gives up on a dead SKU", async () => {
    const summary = await PromiseExample.main()
    expect(summary.prices.slice(0, 2)).toEqual(["sku-1: 50", "sku-22: 60"])
    expect(summary.prices[2]).toMatch(/^sku-333: gave up \(Retry "prices" gave up after 3 attempt\(s\)/)
    expect(summary).toMatchObject({ calls: 7, abortedCalls: 1, retries: 4, timeouts: 1 })
  })
})
