import { describe, expect, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { CircuitBreakerOpenError, InvalidConfigError, RateLimitExceededError, RetryExhaustedError } from "../src/Errors.js"
import * as IntegrationPatterns from "../src/IntegrationPatterns.js"
import * as Metrics from "../src/Metrics.js"
import * as PatternEvents from "../src/PatternEvents.js"
import * as Retry from "../src/Retry.js"

class Unavailable extends Data.TaggedError("Unavailable")<{ readonly n: number }> {}
class BadRequest extends Data.TaggedError("BadRequest")<{}> {}

/** A dependency that fails `failures` times, then succeeds; it records the Clock time of each call. */
const flaky = (failures: number) => {
  const calls: Array<number> = []
  const effect = Effect.gen(function*() {
    const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    calls.push(now)
    if (calls.length <= failures) return yield* Effect.fail(new Unavailable({ n: calls.length }))
    return calls.length
  })
  return { calls, effect }
}

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - times[i]!)

/** Runs under TestClock: fork, move time far ahead, join. */
const runToEnd = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust("1 hour")
    return yield* Fiber.await(fiber)
  })

describe("Retry", () => {
  it.effect("retries typed failures until the effect succeeds", () =>
    Effect.gen(function*() {
      const { calls, effect } = flaky(2)
      const exit = yield* runToEnd(effect.pipe(Retry.withRetry({ maxAttempts: 3, baseDelay: "100 millis" })))
      expect(exit).toEqual(Exit.succeed(3))
      expect(gaps(calls)).toEqual([100, 200])
    }))

  it.effect.each([
    ["fixed", [100, 100, 100, 100, 100]],
    ["linear", [100, 200, 300, 400, 500]],
    ["exponential", [100, 200, 400, 800, 1000]]
  ] as const)("waits exact %s delays between attempts (TestClock)", ([strategy, expected]) =>
    Effect.gen(function*() {
      const { calls, effect } = flaky(100)
      const exit = yield* runToEnd(
        effect.pipe(
          Retry.withRetry({ maxAttempts: 6, baseDelay: 100, maxDelay: 1000, backoffStrategy: strategy })
        )
      )
      expect(gaps(calls)).toEqual(expected)
      expect(calls[0]).toBe(0)
      expect(Exit.isFailure(exit)).toBe(true)
    }))

  it.effect("counts every attempt in maxAttempts and gives up with RetryExhaustedError", () =>
    Effect.gen(function*() {
      const { calls, effect } = flaky(100)
      const fiber = yield* Effect.fork(
        effect.pipe(Retry.withRetry({ name: "inventory", maxAttempts: 3, baseDelay: 100 }), Effect.flip)
      )
      yield* TestClock.adjust("1 minute")
      const error = yield* Fiber.join(fiber)
      expect(calls).toHaveLength(3)
      expect(error).toBeInstanceOf(RetryExhaustedError)
      const exhausted = error as RetryExhaustedError
      expect(exhausted.attempts).toBe(3)
      expect(exhausted.totalDelay).toBe(300)
      expect(exhausted.reason).toBe("MaxAttempts")
      expect(exhausted.cause).toEqual(new Unavailable({ n: 3 }))
      expect(exhausted.message).toBe(
        "Retry \"inventory\" gave up after 3 attempt(s) and 300 ms of delay (no attempts left): Unavailable"
      )
    }))

  it.effect("caps every delay at maxDelay", () =>
    Effect.gen(function*() {
      const { calls, effect } = flaky(100)
      yield* runToEnd(effect.pipe(Retry.withRetry({ maxAttempts: 5, baseDelay: 100, maxDelay: 250 })))
      expect(gaps(calls)).toEqual([100, 200, 250, 250])
    }))

  it.effect("passes errors the predicate rejects through unchanged, without retrying", () =>
    Effect.gen(function*() {
      let calls = 0
      const error = new BadRequest()
      const result = yield* Effect.suspend(() => {
        calls++
        return Effect.fail<Unavailable | BadRequest>(error)
      }).pipe(
        Retry.withRetry({ maxAttempts: 5, shouldRetry: (e) => e._tag === "Unavailable" }),
        Effect.flip
      )
      expect(result).toBe(error)
      expect(calls).toBe(1)
    }))

  it.effect("retries only the tags in retryOn and never those in neverRetryOn", () =>
    Effect.gen(function*() {
      const attempts = (error: Unavailable | BadRequest, options: Retry.Options<Unavailable | BadRequest>) =>
        Effect.gen(function*() {
          let calls = 0
          const fiber = yield* Effect.fork(
            Effect.suspend(() => {
              calls++
              return Effect.fail(error)
            }).pipe(Retry.withRetry({ maxAttempts: 3, baseDelay: 10, ...options }), Effect.flip)
          )
          yield* TestClock.adjust("1 second")
          const failure = yield* Fiber.join(fiber)
          return [calls, failure._tag] as const
        })
      expect(yield* attempts(new Unavailable({ n: 0 }), { retryOn: ["Unavailable"] })).toEqual([
        3,
        "RetryExhaustedError"
      ])
      expect(yield* attempts(new BadRequest(), { retryOn: ["Unavailable"] })).toEqual([1, "BadRequest"])
      expect(yield* attempts(new BadRequest(), { neverRetryOn: ["BadRequest"] })).toEqual([1, "BadRequest"])
      expect(yield* attempts(new Unavailable({ n: 0 }), { neverRetryOn: ["BadRequest"] })).toEqual([
        3,
        "RetryExhaustedError"
      ])
    }))

  it.effect("never retries defects or interruptions", () =>
    Effect.gen(function*() {
      let calls = 0
      const exit = yield* Effect.suspend(() => {
        calls++
        return Effect.die("bug")
      }).pipe(Retry.withRetry({ maxAttempts: 5 }), Effect.exit)
      expect(exit).toEqual(Exit.die("bug"))
      expect(calls).toBe(1)
    }))

  it.effect("waits at least an error's retryAfter, capped at maxDelay", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const limited = Effect.gen(function*() {
        times.push(yield* Effect.clockWith((clock) => clock.currentTimeMillis))
        return yield* Effect.fail(
          times.length === 1
            ? new RateLimitExceededError({ limiter: "api", key: "k", retryAfter: 700, limit: 10 })
            : new CircuitBreakerOpenError({ breaker: "db", state: "Open", retryAfter: 60_000 })
        )
      })
      yield* runToEnd(limited.pipe(Retry.withRetry({ maxAttempts: 3, baseDelay: 100, maxDelay: 5_000 })))
      expect(gaps(times)).toEqual([700, 5_000])
    }))

  it.effect("stops at once when interrupted during a retry sleep", () =>
    Effect.gen(function*() {
      const { calls, effect } = flaky(100)
      const fiber = yield* Effect.fork(effect.pipe(Retry.withRetry({ maxAttempts: 5, baseDelay: "1 second" })))
      yield* TestClock.adjust("500 millis")
      expect(calls).toEqual([0])
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* TestClock.adjust("1 hour")
      expect(calls).toEqual([0])
    }))

  it.effect("gives up once maxElapsed would be passed", () =>
    Effect.gen(function*() {
      const { calls, effect } = flaky(100)
      const fiber = yield* Effect.fork(
        effect.pipe(
          Retry.withRetry({ maxAttempts: 10, baseDelay: 1000, backoffStrategy: "fixed", maxElapsed: 2500 }),
          Effect.flip
        )
      )
      yield* TestClock.adjust("1 hour")
      const error = (yield* Fiber.join(fiber)) as RetryExhaustedError
      expect(calls).toEqual([0, 1000, 2000])
      expect(error.reason).toBe("MaxElapsed")
      expect(error.attempts).toBe(3)
    }))

  it.effect("uses any Schedule as the strategy, and stops when it ends", () =>
    Effect.gen(function*() {
      const { calls, effect } = flaky(100)
      const fiber = yield* Effect.fork(
        effect.pipe(
          Retry.withRetry({
            maxAttempts: 10,
            backoffStrategy: Schedule.spaced("300 millis").pipe(Schedule.intersect(Schedule.recurs(2)))
          }),
          Effect.flip
        )
      )
      yield* TestClock.adjust("1 hour")
      const error = (yield* Fiber.join(fiber)) as RetryExhaustedError
      expect(gaps(calls)).toEqual([300, 300])
      expect(error.attempts).toBe(3)
      expect(error.reason).toBe("MaxAttempts")
    }))

  it.effect("a budget caps retries under a failing dependency", () =>
    Effect.gen(function*() {
      let attempts = 0
      const down = Effect.suspend(() => {
        attempts++
        return Effect.fail(new Unavailable({ n: attempts }))
      })
      const run = (options: Retry.Options) =>
        Effect.gen(function*() {
          attempts = 0
          const guarded = Retry.withRetry(options)
          const fiber = yield* Effect.fork(
            Effect.forEach(Array.from({ length: 100 }, () => down.pipe(guarded, Effect.flip)), (e) => e, {
              concurrency: "unbounded"
            })
          )
          yield* TestClock.adjust("1 minute")
          return yield* Fiber.join(fiber)
        })
      const base = { maxAttempts: 4, baseDelay: 10, backoffStrategy: "fixed" } as const
      yield* run(base)
      expect(attempts).toBe(400)
      const errors = yield* run({ ...base, budget: { retryRatio: 0.1, minRetriesPerSecond: 0 } })
      // 100 first attempts may add at most 10 retries
      expect(attempts).toBe(110)
      const reasons = errors.map((e) => (e as RetryExhaustedError).reason)
      expect(reasons.filter((r) => r === "BudgetExhausted").length).toBeGreaterThanOrEqual(90)
    }))

  it.scoped("shares one budget between the callers of a policy", () =>
    Effect.gen(function*() {
      const retry = yield* Retry.make({
        maxAttempts: 3,
        baseDelay: 1,
        budget: { retryRatio: 0.5, minRetriesPerSecond: 0 }
      })
      let attempts = 0
      const down = Effect.suspend(() => {
        attempts++
        return Effect.fail(new Unavailable({ n: attempts }))
      })
      const fiber = yield* Effect.fork(Effect.forEach([1, 2, 3, 4], () => Effect.flip(retry.execute(down))))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      // 4 first attempts buy 2 retries in all
      expect(attempts).toBe(6)
      const stats = yield* retry.stats
      expect(stats).toMatchObject({ calls: 4, exhausted: 4, retries: 2, budgetRejections: 4, budgetAvailable: 0 })
    }))

  it.effect("publishes RetryScheduled and RetryExhausted events", () =>
    Effect.gen(function*() {
      const bus = yield* PatternEvents.PatternEvents
      const seen: Array<string> = []
      const stop = bus.listen((event) => {
        if (event.pattern === "Retry") {
          if (event._tag === "RetryScheduled") seen.push(`scheduled ${event.attempt} +${event.delay}`)
          if (event._tag === "RetryExhausted") seen.push(`exhausted ${event.attempts} ${event.reason}`)
        }
      })
      const { effect } = flaky(100)
      yield* runToEnd(effect.pipe(Retry.withRetry({ name: "events", maxAttempts: 3, baseDelay: 50 })))
      stop()
      expect(seen).toEqual(["scheduled 1 +50", "scheduled 2 +100", "exhausted 3 MaxAttempts"])
    }).pipe(Effect.provide(PatternEvents.layer())))

  it.scoped("keeps stats and updates the retry metrics", () =>
    Effect.gen(function*() {
      const retry = yield* Retry.make({ name: "stats-and-metrics", maxAttempts: 3, baseDelay: 100 })
      const first = flaky(1)
      const second = flaky(100)
      const fiber = yield* Effect.fork(
        Effect.zip(retry.execute(first.effect), Effect.either(retry.execute(second.effect)))
      )
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      expect(yield* retry.stats).toEqual({
        name: "stats-and-metrics",
        calls: 2,
        successes: 1,
        failures: 0,
        exhausted: 1,
        retries: 3,
        totalDelay: 400,
        budgetRejections: 0,
        budgetAvailable: undefined
      })
      const base = [MetricLabel.make("pattern", "Retry"), MetricLabel.make("name", "stats-and-metrics")]
      const retries = yield* Metric.value(Metrics.retries.pipe(Metric.taggedWithLabels(base)))
      expect(retries.count).toBe(3)
      const exhausted = yield* Metric.value(
        Metrics.calls.pipe(Metric.taggedWithLabels([...base, MetricLabel.make("outcome", "exhausted")]))
      )
      expect(exhausted.count).toBe(1)
    }))

  it.effect("takes maxAttempts from the settings in force", () =>
    Effect.gen(function*() {
      const { calls, effect } = flaky(100)
      yield* runToEnd(effect.pipe(Retry.withRetry({ baseDelay: 1 })))
      expect(calls).toHaveLength(5)
    }).pipe(
      Effect.provideService(IntegrationPatterns.GlobalConfig, {
        get: () => ({ ...IntegrationPatterns.defaultSettings, retryAttempts: 5 })
      })
    ))

  it.effect("is provided as a service by layer and layerConfig", () =>
    Effect.gen(function*() {
      const run = Effect.gen(function*() {
        const retry = yield* Retry.Retry
        const { calls, effect } = flaky(100)
        yield* runToEnd(retry.execute(effect))
        return [retry.name, calls.length] as const
      })
      expect(yield* run.pipe(Effect.provide(Retry.layer({ name: "from-layer", maxAttempts: 2 })))).toEqual([
        "from-layer",
        2
      ])
      const fromConfig = Retry.layerConfig(
        Config.all({ name: Config.string("NAME"), maxAttempts: Config.integer("MAX_ATTEMPTS") })
      ).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["NAME", "env"], ["MAX_ATTEMPTS", "4"]])))))
      expect(yield* run.pipe(Effect.provide(fromConfig))).toEqual(["env", 4])
    }))

  it.scoped("reports every bad option in one InvalidConfigError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Retry.make({
          maxAttempts: 0,
          baseDelay: -5,
          backoffStrategy: "random" as never,
          jitter: "some" as never,
          budget: { retryRatio: 2 },
          retries: 3
        } as never)
      )
      expect(error).toBeInstanceOf(InvalidConfigError)
      expect(error.message).toBe(
        [
          "Invalid Retry options (6 problems):",
          "  - retries: is not a known option",
          "  - maxAttempts: expected an integer greater than 0, got 0",
          "  - baseDelay: expected a duration: a number of milliseconds, a string such as \"5 seconds\", or a Duration",
          "  - backoffStrategy: expected \"fixed\", \"linear\", \"exponential\" or a Schedule",
          "  - jitter: Expected \"none\" | \"full\" | \"equal\" | \"decorrelated\", actual \"some\"",
          "  - budget.retryRatio: expected a ratio between 0 and 1, got 2"
        ].join("\n")
      )
      const crossed = yield* Effect.flip(Retry.make({ baseDelay: "2 seconds", maxDelay: "1 second" }))
      expect(crossed.issues).toEqual([{ path: "maxDelay", message: "must be at least baseDelay (2000 ms), got 1000 ms" }])
    }))

  it.effect("dies with InvalidConfigError when inline options are bad", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.succeed(1).pipe(Retry.withRetry({ maxAttempts: -1 })))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect instanceof InvalidConfigError)
        .toBe(true)
    }))

  it.effect("registers a policy made with make for health reporting", () =>
    Effect.gen(function*() {
      const names = yield* Effect.scoped(
        Effect.gen(function*() {
          yield* Retry.make({ name: "registered" })
          return (yield* IntegrationPatterns.instances).map((i) => `${i.kind}:${i.name}:${i.health().status}`)
        })
      )
      expect(names).toContain("Retry:registered:healthy")
      const after = (yield* IntegrationPatterns.instances).map((i) => i.name)
      expect(after).not.toContain("registered")
    }))

  it.effect("sleeps through Clock, so nothing happens until TestClock moves", () =>
    Effect.gen(function*() {
      const { calls, effect } = flaky(1)
      const fiber = yield* Effect.fork(effect.pipe(Retry.withRetry({ baseDelay: Duration.seconds(10) })))
      yield* TestClock.adjust("9999 millis")
      expect(calls).toEqual([0])
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toBe(2)
    }))
})
