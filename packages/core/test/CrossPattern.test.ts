import { describe, expect, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { CircuitBreakerOpenError, RateLimitExceededError, RetryExhaustedError } from "../src/Errors.js"
import * as PatternEvents from "../src/PatternEvents.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as Retry from "../src/Retry.js"

class Unavailable extends Data.TaggedError("Unavailable")<{}> {}

/** A dependency that fails `failures` times, then succeeds; it records the Clock time of each call. */
const flaky = (failures: number) => {
  const calls: Array<number> = []
  const effect = Effect.gen(function*() {
    calls.push(yield* Effect.clockWith((clock) => clock.currentTimeMillis))
    if (calls.length <= failures) return yield* Effect.fail(new Unavailable())
    return calls.length
  })
  return { calls, effect }
}

/** The delays the retry named `name` scheduled, in order, from its `RetryScheduled` events. */
const scheduledDelays = (name: string) =>
  Effect.gen(function*() {
    const bus = yield* PatternEvents.PatternEvents
    const delays: Array<number> = []
    yield* Effect.acquireRelease(
      Effect.sync(() =>
        bus.listen((event) => {
          if (event._tag === "RetryScheduled" && event.name === name) delays.push(event.delay)
        })
      ),
      (detach) => Effect.sync(detach)
    )
    return delays
  })

describe("Retry with the patterns that say when to come back", () => {
  describe("a real circuit breaker's CircuitBreakerOpenError", () => {
    it.scoped("sleeps exactly until the breaker lets a probe through", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: "inventory", failureThreshold: 2, recoveryTimeout: "5 seconds" })
        const retry = yield* Retry.make({ name: "inventory", maxAttempts: 5, baseDelay: "10 millis", maxDelay: "1 minute" })
        const { calls, effect } = flaky(2)
        const fiber = yield* Effect.fork(retry.execute(breaker.execute(effect)))
        // Failures at 0 and 10 open the breaker until 5010. The third attempt, at 30, is
        // rejected with retryAfter 4980: the retry sleeps that, not its 40 ms backoff.
        yield* TestClock.adjust(30)
        expect(yield* breaker.state).toBe("Open")
        yield* TestClock.adjust(4979)
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust(1)
        expect(yield* Fiber.join(fiber)).toBe(3)
        expect(calls).toEqual([0, 10, 5010])
        expect(yield* breaker.state).toBe("Closed")
        expect(yield* retry.stats).toMatchObject({ retries: 3, totalDelay: 5010 })
      }))

    it.scoped("waits at most maxDelay, and gives up with the breaker's last rejection as cause", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: "capped", failureThreshold: 2, recoveryTimeout: "5 seconds" })
        const retry = yield* Retry.make({ name: "capped", maxAttempts: 5, baseDelay: "10 millis", maxDelay: "1 second" })
        const { calls, effect } = flaky(2)
        const fiber = yield* Effect.fork(Effect.flip(retry.execute(breaker.execute(effect))))
        yield* TestClock.adjust(2030)
        const error = yield* Fiber.join(fiber)
        // Delays 10 and 20, then twice the 1 s cap; attempts 3 to 5 (at 30, 1030 and
        // 2030) were all rejected, each told the time left until 5010.
        expect(error).toEqual(
          new RetryExhaustedError({
            retry: "capped",
            attempts: 5,
            totalDelay: 2030,
            reason: "MaxAttempts",
            cause: new CircuitBreakerOpenError({ breaker: "capped", state: "Open", retryAfter: 2980 })
          })
        )
        expect(calls).toEqual([0, 10])
      }))
  })

  describe("a real rate limiter's RateLimitExceededError", () => {
    it.scoped("sleeps exactly until the bucket has refilled", () =>
      Effect.gen(function*() {
        const delays = yield* scheduledDelays("api")
        const limiter = yield* RateLimiter.make({ name: "api", requestsPerSecond: 2, burstLimit: 1 })
        const retry = yield* Retry.make({ name: "api", maxAttempts: 3, baseDelay: "10 millis", maxDelay: "1 minute" })
        const { calls, effect } = flaky(0)
        const limited = retry.execute(limiter.withRateLimit(effect, "user-1"))
        expect(yield* limited).toBe(1)
        // The bucket is empty; a token comes back every 500 ms.
        const fiber = yield* Effect.fork(limited)
        yield* TestClock.adjust(499)
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust(1)
        expect(yield* Fiber.join(fiber)).toBe(2)
        expect(calls).toEqual([0, 500])
        expect(delays).toEqual([500])
      }))

    it.scoped("waits at most maxDelay, then the time the limiter says is left", () =>
      Effect.gen(function*() {
        const delays = yield* scheduledDelays("capped")
        const limiter = yield* RateLimiter.make({ name: "capped", requestsPerSecond: 2, burstLimit: 1 })
        const retry = yield* Retry.make({ name: "capped", maxAttempts: 5, baseDelay: "10 millis", maxDelay: "200 millis" })
        const { calls, effect } = flaky(0)
        const limited = retry.execute(limiter.withRateLimit(effect, "user-1"))
        yield* limited
        const fiber = yield* Effect.fork(limited)
        yield* TestClock.adjust(500)
        expect(yield* Fiber.join(fiber)).toBe(2)
        // Rejected at 0 (500 left), 200 (300 left) and 400 (100 left): capped twice,
        // then exactly the 100 ms left, longer than the 40 ms backoff.
        expect(delays).toEqual([200, 200, 100])
        expect(calls).toEqual([0, 500])
      }))

    it.scoped("passes an impossible request's rejection through as the cause, without waiting forever", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiter.make({ name: "too-big", requestsPerSecond: 2, burstLimit: 1 })
        const retry = yield* Retry.make({ name: "too-big", maxAttempts: 2, baseDelay: "10 millis", maxDelay: "1 second" })
        const fiber = yield* Effect.fork(
          Effect.flip(retry.execute(limiter.withRateLimit(Effect.succeed(1), "user-1", { cost: 2 })))
        )
        yield* TestClock.adjust(10)
        const error = yield* Fiber.join(fiber)
        // A cost above the burst can never be admitted (retryAfter is Infinity): the
        // retry keeps its own backoff rather than sleeping until maxDelay.
        expect(error).toMatchObject({ _tag: "RetryExhaustedError", attempts: 2, totalDelay: 10 })
        expect((error as RetryExhaustedError).cause).toBeInstanceOf(RateLimitExceededError)
        expect((error as RetryExhaustedError).cause).toMatchObject({ retryAfter: Number.POSITIVE_INFINITY })
      }))
  })
})
