import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { afterEach, beforeEach, vi } from "vitest"
import { main as effectMain } from "../src/bulkhead.js"
import { main as promiseMain } from "../src/bulkhead-promise.js"

const expected = [
  ...Array.from({ length: 15 }, (_, i) => `item ${i}`),
  ...Array.from({ length: 5 }, () => "rejected (QueueFull)")
]

describe("bulkhead examples", () => {
  beforeEach(() => {
    vi.spyOn(console, "log").mockImplementation(() => {})
  })
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.effect("the Effect example runs 5 at a time, queues 10 and turns 5 away", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(effectMain)
      yield* TestClock.adjust("1 second")
      const { results, stats } = yield* Fiber.join(fiber)
      expect(results).toEqual(expected)
      expect(stats).toMatchObject({ peakConcurrency: 5, admitted: 15, rejected: { QueueFull: 5, QueueTimeout: 0 } })
    }))

  it("the Promise example runs 5 at a time, queues 10 and turns 5 away", async () => {
    const { results, stats } = await promiseMain()
    expect(results).toEqual(expected)
    expect(stats).toMatchObject({ peakConcurrency: 5, admitted: 15, rejected: { QueueFull: 5, QueueTimeout: 0 } })
  })
})
