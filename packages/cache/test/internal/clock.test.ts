import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { reader } from "../../src/internal/cacheAside/clock.js"

describe("clock reader", () => {
  it.effect("reads a test clock exactly", () =>
    Effect.gen(function*() {
      const now = reader(yield* Effect.clock)
      expect(now()).toBe(0)
      yield* TestClock.adjust("1234 millis")
      expect(now()).toBe(1234)
    }))

  it.live("reads the live clock to within a few milliseconds, and moves on", () =>
    Effect.gen(function*() {
      const now = reader(yield* Effect.clock)
      const first = now()
      expect(Math.abs(first - Date.now())).toBeLessThan(50)
      yield* Effect.sleep("20 millis")
      expect(now()).toBeGreaterThanOrEqual(first + 15)
    }))
})
