import { describe, expect, it } from "@effect/vitest"
import { RateLimitExceededError } from "@integration-patterns/core"
import { Effect, Fiber, TestClock } from "effect"
import { afterEach, beforeEach, vi } from "vitest"
import { main as effectMain } from "../src/rate-limiter.js"
import { main as promiseMain } from "../src/rate-limiter-promise.js"

describe("rate limiter examples", () => {
  beforeEach(() => {
    vi.spyOn(console, "log").mockImplementation(() => {})
  })
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.effect("the Effect example admits a burst of 3 per user, then waits for the next token", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(effectMain)
      yield* TestClock.adjust("1 second")
      const { ada, grace, waited, headers, stats } = yield* Fiber.join(fiber)
      expect(ada).toEqual([
        "results for \"a\"",
        "results for \"b\"",
        "results for \"c\"",
        "429, retry in 500 ms",
        "429, retry in 500 ms"
      ])
      expect(grace).toBe("results for \"f\"")
      expect(waited).toBe("results for \"g\"")
      expect(headers).toEqual({ "RateLimit-Limit": "3", "RateLimit-Remaining": "2", "RateLimit-Reset": "1" })
      expect(stats).toMatchObject({ allowed: 6, rejected: 3, waiting: 0 })
    }))

  it("the Promise example rejects the 4th request of a user and admits another user", async () => {
    const { admitted, rejected, waited, headers, stats } = await promiseMain()
    expect(admitted).toEqual([true, true, true, false, false])
    expect(rejected).toBeInstanceOf(RateLimitExceededError)
    expect(rejected).toMatchObject({ limiter: "search-api", key: "ada", limit: 3 })
    expect(waited).toBe("results for \"z\"")
    expect(headers).toEqual({ "RateLimit-Limit": "3", "RateLimit-Remaining": "1", "RateLimit-Reset": "1" })
    expect(stats.allowed).toBe(6)
  })
})
