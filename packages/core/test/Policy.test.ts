import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Bulkhead from "../src/Bulkhead.js"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import {
  type BulkheadRejectedError,
  CircuitBreakerOpenError,
  type PersistenceError,
  type RateLimitExceededError,
  RetryExhaustedError,
  TimeoutError
} from "../src/Errors.js"
import * as Policy from "../src/Policy.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as Retry from "../src/Retry.js"
import * as Timeout from "../src/Timeout.js"

class Boom extends Data.TaggedError("Boom")<{ readonly code: number }> {}
class Gone extends Data.TaggedError("Gone")<{}> {}

/** A dependency that runs `outcomes` in turn (the last one from then on), recording the Clock time of each call. */
const dependency = <A, E>(...outcomes: ReadonlyArray<Effect.Effect<A, E>>) => {
  const calls: Array<number> = []
  const effect = Effect.gen(function*() {
    calls.push(yield* Effect.clockWith((clock) => clock.currentTimeMillis))
    return yield* outcomes[Math.min(calls.length, outcomes.length) - 1]!
  })
  return { calls, effect }
}

const boom = Effect.fail(new Boom({ code: 503 }))

/** Forks `effect`, moves the TestClock by `millis`, and returns the exit if the fiber is done by then. */
const after = <A, E>(effect: Effect.Effect<A, E>, millis: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(millis)
    return yield* Fiber.poll(fiber)
  })

describe("Policy", () => {
  // Type-level: these build the effects (nothing runs them) and check their types.
  describe("types", () => {
    const call: Effect.Effect<number, Boom> = boom
    const pipeline = Effect.runSync(
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: "types" })
        const bulkhead = yield* Bulkhead.make({ name: "types", maxConcurrent: 1 })
        const limiter = yield* RateLimiter.make({ name: "types", requestsPerSecond: 1 })
        return Policy.compose(
          Policy.timeout("10 seconds"),
          Policy.retry({ maxAttempts: 3 }),
          Policy.circuitBreaker(breaker),
          Policy.bulkhead(bulkhead),
          Policy.rateLimit(limiter, "user-1"),
          Policy.timeout({ duration: "1 second" })
        )
      }).pipe(Effect.scoped)
    )

    it("adds exactly the errors each policy can raise", () => {
      const run = pipeline.execute(call)
      expectTypeOf<Effect.Effect.Success<typeof run>>().toEqualTypeOf<number>()
      expectTypeOf<Effect.Effect.Error<typeof run>>().toEqualTypeOf<
        | Boom
        | TimeoutError
        | RetryExhaustedError
        | CircuitBreakerOpenError
        | BulkheadRejectedError
        | RateLimitExceededError
        | PersistenceError
      >()
      expectTypeOf<Effect.Effect.Context<typeof run>>().toEqualTypeOf<never>()
      // One policy adds its own error and nothing else.
      const retried = Policy.retry({ maxAttempts: 2 }).execute(call)
      expectTypeOf<Effect.Effect.Error<typeof retried>>().toEqualTypeOf<Boom | RetryExhaustedError>()
      const bounded = Policy.compose(Policy.timeout("1 second")).execute(call)
      expectTypeOf<Effect.Effect.Error<typeof bounded>>().toEqualTypeOf<Boom | TimeoutError>()
      const bare = Policy.compose().execute(call)
      expectTypeOf<Effect.Effect.Error<typeof bare>>().toEqualTypeOf<Boom>()
    })

    it("removes the tags a fallback handles and adds what its handlers return", () => {
      const guarded = Policy.compose(
        Policy.fallback({
          TimeoutError: (error) => Effect.succeed(`late after ${error.duration} ms`),
          CircuitBreakerOpenError: (error) => Effect.succeed(error.retryAfter),
          Boom: (error: Boom) => error.code === 404 ? Effect.fail(new Gone()) : Effect.succeed(null)
        }),
        pipeline
      )
      const run = guarded.execute(call)
      expectTypeOf<Effect.Effect.Success<typeof run>>().toEqualTypeOf<number | string | null>()
      expectTypeOf<Effect.Effect.Error<typeof run>>().toEqualTypeOf<
        Gone | RetryExhaustedError | BulkheadRejectedError | RateLimitExceededError | PersistenceError
      >()
      expectTypeOf(guarded).toEqualTypeOf<
        Policy.Policy<
          number | string | null,
          Gone | RetryExhaustedError | BulkheadRejectedError | RateLimitExceededError | PersistenceError,
          never,
          "TimeoutError" | "CircuitBreakerOpenError" | "Boom"
        >
      >()
    })

    it("removes a list of tags, replaced by one value or one effect", () => {
      const byValue = Policy.compose(
        Policy.fallback(["RetryExhaustedError", "CircuitBreakerOpenError", "TimeoutError"], "cached"),
        pipeline
      ).execute(call)
      expectTypeOf<Effect.Effect.Success<typeof byValue>>().toEqualTypeOf<number | string>()
      expectTypeOf<Effect.Effect.Error<typeof byValue>>().toEqualTypeOf<
        Boom | BulkheadRejectedError | RateLimitExceededError | PersistenceError
      >()
      class Cache extends Context.Tag("Cache")<Cache, { readonly last: Effect.Effect<number, Gone> }>() {}
      const byEffect = Policy.compose(
        Policy.fallback(["Boom"], Effect.flatMap(Cache, (cache) => cache.last)),
        Policy.retry({ maxAttempts: 2 })
      ).execute(call)
      expectTypeOf<Effect.Effect.Success<typeof byEffect>>().toEqualTypeOf<number>()
      expectTypeOf<Effect.Effect.Error<typeof byEffect>>().toEqualTypeOf<Gone | RetryExhaustedError>()
      expectTypeOf<Effect.Effect.Context<typeof byEffect>>().toEqualTypeOf<Cache>()
    })

    it("keeps the errors raised outside the fallback", () => {
      // The outer timeout's TimeoutError is raised outside the fallback: it stays.
      const run = Policy.compose(
        Policy.timeout("10 seconds"),
        Policy.fallback(["TimeoutError"], 0),
        Policy.timeout("1 second")
      ).execute(call)
      expectTypeOf<Effect.Effect.Error<typeof run>>().toEqualTypeOf<Boom | TimeoutError>()
    })

    it("gives each handler the error class of its tag", () => {
      Policy.fallback({
        TimeoutError: (error) => {
          expectTypeOf(error).toEqualTypeOf<TimeoutError>()
          return Effect.void
        },
        RateLimitExceededError: (error) => {
          expectTypeOf(error).toEqualTypeOf<RateLimitExceededError>()
          return Effect.void
        },
        Boom: (error) => {
          expectTypeOf(error).toEqualTypeOf<{ readonly _tag: "Boom" }>()
          return Effect.void
        }
      })
      // @ts-expect-error a TimeoutError has no retryAfter
      Policy.fallback({ TimeoutError: (error) => Effect.succeed(error.retryAfter) })
      // @ts-expect-error a handler for "Boom" cannot take an error of another tag
      Policy.fallback({ Boom: (error: Gone) => Effect.succeed(error) })
    })

    it("follows what a timeout's onTimeout makes of a timeout", () => {
      const run = Policy.compose(
        Policy.timeout({ duration: "1 second", onTimeout: () => Effect.succeed("late" as const) }),
        Policy.retry({ maxAttempts: 2 })
      ).execute(call)
      expectTypeOf<Effect.Effect.Success<typeof run>>().toEqualTypeOf<number | "late">()
      expectTypeOf<Effect.Effect.Error<typeof run>>().toEqualTypeOf<Boom | RetryExhaustedError>()
    })
  })

  describe("order", () => {
    it.scoped("a retry outside a breaker sees CircuitBreakerOpenError and waits for its retryAfter", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: "outside", failureThreshold: 3, recoveryTimeout: "1 second" })
        const { calls, effect } = dependency(boom, boom, boom, Effect.succeed("ok"))
        const policy = Policy.compose(
          Policy.retry({ maxAttempts: 5, baseDelay: "100 millis", backoffStrategy: "fixed" }),
          Policy.circuitBreaker(breaker)
        )
        const exit = yield* after(policy.execute(effect), 1200)
        // Three failures open the breaker at 200; the fourth attempt (300) is rejected
        // with retryAfter 900, and the retry waits exactly that for the probe.
        expect(exit).toEqual(Option.some(Exit.succeed("ok")))
        expect(calls).toEqual([0, 100, 200, 1200])
        expect(yield* breaker.state).toBe("Closed")
      }))

    it.scoped("a retry inside a breaker counts as one call of the breaker", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: "inside", failureThreshold: 3, recoveryTimeout: "1 second" })
        const { calls, effect } = dependency(boom)
        const policy = Policy.compose(
          Policy.circuitBreaker(breaker),
          Policy.retry({ maxAttempts: 5, baseDelay: "100 millis", backoffStrategy: "fixed" })
        )
        const exit = yield* after(Effect.flip(policy.execute(effect)), 400)
        expect(exit).toEqual(
          Option.some(
            Exit.succeed(
              new RetryExhaustedError({
                retry: "retry",
                attempts: 5,
                totalDelay: 400,
                reason: "MaxAttempts",
                cause: new Boom({ code: 503 })
              })
            )
          )
        )
        expect(calls).toEqual([0, 100, 200, 300, 400])
        expect(yield* breaker.stats).toMatchObject({ state: "Closed", calls: 1, failures: 1 })
      }))

    it.effect("a timeout outside a retry bounds the whole retry loop", () =>
      Effect.gen(function*() {
        const { calls, effect } = dependency(boom)
        const policy = Policy.compose(
          Policy.timeout({ name: "overall", duration: "1 second" }),
          Policy.retry({ maxAttempts: 10, baseDelay: "300 millis", backoffStrategy: "fixed" })
        )
        const fiber = yield* Effect.fork(Effect.flip(policy.execute(effect)))
        yield* TestClock.adjust(999)
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust(1)
        expect(yield* Fiber.join(fiber)).toEqual(
          new TimeoutError({ timeout: "overall", duration: 1000, phase: "Operation" })
        )
        expect(calls).toEqual([0, 300, 600, 900])
      }))

    it.effect("a timeout inside a retry bounds each attempt, and the retry tries again", () =>
      Effect.gen(function*() {
        const { calls, effect } = dependency(Effect.never, Effect.succeed("ok"))
        const policy = Policy.compose(
          Policy.retry({ maxAttempts: 3, baseDelay: "100 millis", backoffStrategy: "fixed" }),
          Policy.timeout({ name: "attempt", duration: "1 second" })
        )
        const fiber = yield* Effect.fork(policy.execute(effect))
        yield* TestClock.adjust(1099)
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust(1)
        // The first attempt timed out at 1000; the second, 100 ms later, succeeded.
        expect(yield* Fiber.join(fiber)).toBe("ok")
        expect(calls).toEqual([0, 1100])
      }))

    it.effect("a timeout outside a retry gives up on a hung attempt instead of retrying it", () =>
      Effect.gen(function*() {
        const { calls, effect } = dependency(Effect.never, Effect.succeed("ok"))
        const policy = Policy.compose(
          Policy.timeout({ name: "overall", duration: "1 second" }),
          Policy.retry({ maxAttempts: 3, baseDelay: "100 millis", backoffStrategy: "fixed" })
        )
        const exit = yield* after(Effect.flip(policy.execute(effect)), 5000)
        expect(exit).toEqual(
          Option.some(Exit.succeed(new TimeoutError({ timeout: "overall", duration: 1000, phase: "Operation" })))
        )
        expect(calls).toEqual([0])
      }))

    it.effect("an overall timeout and a per-attempt timeout nest: the overall one ends the loop", () =>
      Effect.gen(function*() {
        const { calls, effect } = dependency(Effect.never)
        const policy = Policy.compose(
          Policy.timeout({ name: "overall", duration: "2500 millis" }),
          Policy.retry({ maxAttempts: 10, baseDelay: "100 millis", backoffStrategy: "fixed" }),
          Policy.timeout({ name: "attempt", duration: "1 second" })
        )
        const exit = yield* after(Effect.flip(policy.execute(effect)), 2500)
        expect(exit).toEqual(
          Option.some(Exit.succeed(new TimeoutError({ timeout: "overall", duration: 2500, phase: "Operation" })))
        )
        // Attempts at 0 and 1100 each ran out after 1 s; the one at 2200 was cut at 2500.
        expect(calls).toEqual([0, 1100, 2200])
      }))
  })

  describe("fallback", () => {
    it.scoped("outermost, it turns the pipeline's rejections into the fallback's value", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: "isolated" })
        yield* breaker.isolate
        const { calls, effect } = dependency(Effect.succeed("fresh"))
        const policy = Policy.compose(
          Policy.fallback(["CircuitBreakerOpenError"], "cached"),
          Policy.circuitBreaker(breaker)
        )
        expect(yield* policy.execute(effect)).toBe("cached")
        expect(calls).toEqual([])
        yield* breaker.reset
        expect(yield* policy.execute(effect)).toBe("fresh")
      }))

    it.effect("gives each handler its error, and passes other errors, defects and interruptions through", () =>
      Effect.gen(function*() {
        const policy = Policy.fallback({
          TimeoutError: (error) => Effect.succeed(`late after ${error.duration} ms`),
          Boom: (error: Boom) => error.code === 404 ? Effect.fail(new Gone()) : Effect.succeed(`boom ${error.code}`)
        })
        const late = Effect.never.pipe(Timeout.withTimeout("2 seconds"), Policy.withPolicy(policy))
        expect(yield* after(late, 2000)).toEqual(Option.some(Exit.succeed("late after 2000 ms")))
        expect(yield* policy.execute(boom)).toBe("boom 503")
        expect(yield* Effect.flip(policy.execute(Effect.fail(new Boom({ code: 404 }))))).toEqual(new Gone())
        expect(yield* Effect.flip(policy.execute(Effect.fail(new Gone())))).toEqual(new Gone())
        const defect = yield* Effect.exit(policy.execute(Effect.die(new TimeoutError({ timeout: "t", duration: 1, phase: "Operation" }))))
        expect(Exit.isFailure(defect) && defect.cause._tag === "Die").toBe(true)
        const interrupted = yield* Effect.exit(policy.execute(Effect.interrupt))
        expect(Exit.isInterrupted(interrupted)).toBe(true)
      }))

    it.effect("runs a fallback effect each time it is needed", () =>
      Effect.gen(function*() {
        let runs = 0
        const policy = Policy.fallback(["Boom", "Gone"], Effect.sync(() => ++runs))
        expect(yield* policy.execute(boom)).toBe(1)
        expect(yield* policy.execute(Effect.fail(new Gone()))).toBe(2)
        expect(yield* policy.execute(Effect.succeed(0))).toBe(0)
        expect(runs).toBe(2)
      }))

    it.effect("handles only what is raised inside it", () =>
      Effect.gen(function*() {
        const policy = Policy.compose(
          Policy.timeout({ name: "overall", duration: "1 second" }),
          Policy.fallback(["TimeoutError"], "attempt timed out"),
          Policy.timeout({ name: "attempt", duration: "2 seconds" })
        )
        expect(yield* after(Effect.flip(policy.execute(Effect.never)), 1000)).toEqual(
          Option.some(Exit.succeed(new TimeoutError({ timeout: "overall", duration: 1000, phase: "Operation" })))
        )
        const inner = Policy.compose(
          Policy.timeout({ name: "overall", duration: "3 seconds" }),
          Policy.fallback(["TimeoutError"], "attempt timed out"),
          Policy.timeout({ name: "attempt", duration: "2 seconds" })
        )
        expect(yield* after(inner.execute(Effect.never), 2000)).toEqual(Option.some(Exit.succeed("attempt timed out")))
      }))
  })

  describe("constructors", () => {
    it.scoped("builds on each pattern's own instance, so its stats count the calls", () =>
      Effect.gen(function*() {
        const retry = yield* Retry.make({ name: "shared", maxAttempts: 2, baseDelay: "10 millis" })
        const timeout = yield* Timeout.make({ name: "shared", duration: "1 second" })
        const policy = Policy.compose(Policy.retry(retry), Policy.timeout(timeout))
        const { effect } = dependency(boom, Effect.succeed(1))
        expect(yield* after(policy.execute(effect), 10)).toEqual(Option.some(Exit.succeed(1)))
        expect(yield* retry.stats).toMatchObject({ calls: 1, retries: 1, successes: 1 })
        expect(yield* timeout.stats).toMatchObject({ calls: 2, failures: 1, successes: 1 })
      }))

    it.effect("composes with no policy into the effect itself, and nests composed policies", () =>
      Effect.gen(function*() {
        expect(yield* Policy.compose().execute(Effect.succeed(1))).toBe(1)
        const { calls, effect } = dependency(boom)
        const nested = Policy.compose(
          Policy.compose(Policy.fallback(["RetryExhaustedError"], -1)),
          Policy.compose(Policy.retry({ maxAttempts: 2, baseDelay: "10 millis" }))
        )
        expect(yield* after(nested.execute(effect), 10)).toEqual(Option.some(Exit.succeed(-1)))
        expect(calls).toEqual([0, 10])
      }))

    it.effect("makes the effect die with InvalidConfigError for bad inline options", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Policy.retry({ maxAttempts: 0 }).execute(Effect.succeed(1)))
        expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect).toMatchObject({
          _tag: "InvalidConfigError",
          pattern: "Retry"
        })
      }))

    it.effect("a circuit breaker error stays typed through the pipeline", () =>
      Effect.gen(function*() {
        const rejected = new CircuitBreakerOpenError({ breaker: "b", state: "Open", retryAfter: 5 })
        const error = yield* Effect.flip(
          Policy.compose(Policy.retry({ maxAttempts: 1 }), Policy.timeout("1 second")).execute(Effect.fail(rejected))
        )
        expect(error).toBeInstanceOf(RetryExhaustedError)
        expect((error as RetryExhaustedError).cause).toBe(rejected)
      }))
  })
})
