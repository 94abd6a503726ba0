import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { afterEach, beforeEach, vi } from "vitest"
import { main as effectMain } from "../src/circuit-breaker.js"
import { main as promiseMain } from "../src/circuit-breaker-promise.js"

describe("circuit breaker examples", () => {
  beforeEach(() => {
    vi.spyOn(console, "log").mockImplementation(() => {})
  })
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.effect("the Effect example opens after 3 failures, fails fast, then closes after one probe", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(effectMain)
      yield* TestClock.adjust("1 second")
      const { outcomes, gatewayCalls, stats } = yield* Fiber.join(fiber)
      expect(outcomes).toEqual([
        "pay 10: failed: the gateway is down (breaker Closed)",
        "pay 20: failed: the gateway is down (breaker Closed)",
        "pay 30: failed: the gateway is down (breaker Open)",
        "pay 40: rejected without calling the gateway, retry in 500 ms (breaker Open)",
        "pay 50: rejected without calling the gateway, retry in 500 ms (breaker Open)",
        "pay 60: charged 60 (breaker Closed)",
        "pay 70: charged 70 (breaker Closed)"
      ])
      expect(gatewayCalls).toBe(5)
      expect(stats).toMatchObject({ state: "Closed", successes: 2, failures: 3, rejections: 2 })
    }))

  it("the Promise example goes Closed -> Open -> HalfOpen -> Closed and spares the gateway 2 calls", async () => {
    const { transitions, gatewayCalls, stats } = await promiseMain()
    expect(transitions).toEqual([
      "Closed -> Open (ConsecutiveFailures)",
      "Open -> HalfOpen (RecoveryTimeoutElapsed)",
      "HalfOpen -> Closed (ProbesSucceeded)"
    ])
    expect(gatewayCalls).toBe(5)
    expect(stats).toMatchObject({ state: "Closed", successes: 2, failures: 3, rejections: 2 })
  })
})
