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
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { InvalidConfigError, TimeoutError } from "../src/Errors.js"
import * as IntegrationPatterns from "../src/IntegrationPatterns.js"
import * as Metrics from "../src/Metrics.js"
import * as PatternEvents from "../src/PatternEvents.js"
import * as Retry from "../src/Retry.js"
import * as Timeout from "../src/Timeout.js"

class Unavailable extends Data.TaggedError("Unavailable")<{}> {}

const now = Effect.clockWith((clock) => clock.currentTimeMillis)

/** An operation that never ends on its own and records when its finalizer ran. */
const hanging = (log: Array<string>, finalizer: Effect.Effect<void> = Effect.void) =>
  Effect.never.pipe(
    Effect.onInterrupt(() =>
      Effect.gen(function*() {
        log.push(`interrupted@${yield* now}`)
        yield* finalizer
        log.push(`finalized@${yield* now}`)
      })
    )
  )

describe("Timeout", () => {
  it.effect("returns the value of an operation that finishes in time", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.sleep("900 millis").pipe(Effect.as(7), Timeout.withTimeout("1 second")))
      yield* TestClock.adjust("900 millis")
      expect(yield* Fiber.join(fiber)).toBe(7)
    }))

  it.effect("interrupts the operation at the deadline and runs its finalizers", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const fiber = yield* Effect.fork(
        hanging(log).pipe(Timeout.withTimeout({ name: "inventory", duration: "1 second" }), Effect.flip)
      )
      yield* TestClock.adjust("999 millis")
      expect(log).toEqual([])
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      expect(error).toBeInstanceOf(TimeoutError)
      expect(error).toMatchObject({ timeout: "inventory", duration: 1000, phase: "Operation" })
      expect(error.name).toBe("TimeoutError")
      expect(log).toEqual(["interrupted@1000", "finalized@1000"])
    }))

  it.effect("waits for finalizers before failing, like Effect.timeout", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const fiber = yield* Effect.fork(
        hanging(log, Effect.sleep("200 millis")).pipe(
          Timeout.withTimeout("1 second"),
          Effect.flip,
          Effect.zipLeft(Effect.suspend(() => Effect.sync(() => log.push("caller released"))))
        )
      )
      yield* TestClock.adjust("1 second")
      expect(log).toEqual(["interrupted@1000"])
      yield* TestClock.adjust("200 millis")
      yield* Fiber.join(fiber)
      expect(log).toEqual(["interrupted@1000", "finalized@1200", "caller released"])
    }))

  it.effect("gives finalizers the grace period, then releases the caller with phase GracePeriod", () =>
    Effect.gen(function*() {
      // each run starts where the previous one left the TestClock
      const run = (finalizerTakes: Duration.DurationInput) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(0)
          const log: Array<string> = []
          const fiber = yield* Effect.fork(
            hanging(log, Effect.sleep(finalizerTakes)).pipe(
              Timeout.withTimeout({ duration: "1 second", gracefulShutdown: true, gracePeriod: "500 millis" }),
              Effect.flip,
              Effect.flatMap((error) => Effect.map(now, (at) => [error.phase, at] as const))
            )
          )
          yield* TestClock.adjust("1 second")
          yield* TestClock.adjust("2 seconds")
          return [yield* Fiber.join(fiber), log] as const
        })
      const [inTime, inTimeLog] = yield* run("200 millis")
      expect(inTime).toEqual(["Operation", 1200])
      expect(inTimeLog).toEqual(["interrupted@1000", "finalized@1200"])
      const [overrun, overrunLog] = yield* run("2 seconds")
      expect(overrun).toEqual(["GracePeriod", 1500])
      // the finalizer still ran to completion, in the background
      expect(overrunLog).toEqual(["interrupted@1000", "finalized@3000"])
    }))

  it.effect("turns a timeout into a fallback value or another error", () =>
    Effect.gen(function*() {
      const fallback = yield* Effect.fork(
        Effect.never.pipe(Timeout.withTimeout({ duration: 100, onTimeout: () => Effect.succeed("cached") }))
      )
      const otherError = yield* Effect.fork(
        Effect.never.pipe(
          Timeout.withTimeout({ duration: 100, onTimeout: (e) => Effect.fail(new Unavailable()).pipe(Effect.as(e)) }),
          Effect.flip
        )
      )
      yield* TestClock.adjust("100 millis")
      const value: string = yield* Fiber.join(fallback)
      expect(value).toBe("cached")
      expect(yield* Fiber.join(otherError)).toBeInstanceOf(Unavailable)
    }))

  it.effect("leaves the caller's fiber usable after a timeout", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.gen(function*() {
          const first = yield* Effect.either(Effect.never.pipe(Timeout.withTimeout("1 second")))
          // interruptible work after the timeout must not be interrupted
          yield* Effect.sleep("5 seconds")
          const second = yield* Effect.sleep("10 millis").pipe(Effect.as("ok"), Timeout.withTimeout("1 second"))
          return [first._tag, second, yield* now] as const
        })
      )
      yield* TestClock.adjust("1 hour")
      expect(yield* Fiber.join(fiber)).toEqual(["Left", "ok", 6010])
    }))

  it.effect("does not interrupt fibers the caller forked before the timed operation", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.gen(function*() {
          const background = yield* Effect.fork(Effect.sleep("10 seconds").pipe(Effect.as("background done")))
          const timedOut = yield* Effect.flip(Effect.never.pipe(Timeout.withTimeout("1 second")))
          return [timedOut._tag, yield* Fiber.join(background)] as const
        })
      )
      yield* TestClock.adjust("1 hour")
      expect(yield* Fiber.join(fiber)).toEqual(["TimeoutError", "background done"])
    }))

  it.effect("interrupts the fibers the operation itself forked", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const fiber = yield* Effect.fork(
        Effect.gen(function*() {
          yield* Effect.fork(hanging(log))
          return yield* Effect.never
        }).pipe(Timeout.withTimeout("1 second"), Effect.flip)
      )
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber))._tag).toBe("TimeoutError")
      expect(log).toEqual(["interrupted@1000", "finalized@1000"])
    }))

  it.effect("lets an interruption from outside win", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const fiber = yield* Effect.fork(hanging(log).pipe(Timeout.withTimeout("1 second")))
      yield* TestClock.adjust("100 millis")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(log).toEqual(["interrupted@100", "finalized@100"])
      yield* TestClock.adjust("1 hour")
      expect(log).toHaveLength(2)
    }))

  it.effect("an outside interruption that arrives with the deadline still interrupts the caller", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.never.pipe(Timeout.withTimeout("1 second"), Effect.either, Effect.zipRight(Effect.never))
      )
      yield* TestClock.adjust("999 millis")
      fiber.unsafeInterruptAsFork(fiber.id())
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
    }))

  it.effect("times out an uninterruptible operation when it ends", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.uninterruptible(Effect.sleep("3 seconds")).pipe(
          Timeout.withTimeout("1 second"),
          Effect.flip,
          Effect.zipRight(now)
        )
      )
      yield* TestClock.adjust("1 hour")
      expect(yield* Fiber.join(fiber)).toBe(3000)
    }))

  describe("deadline propagation", () => {
    it.effect("an inner timeout never outlives the outer one", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          Effect.never.pipe(
            Timeout.withTimeout({ name: "inner", duration: "5 seconds" }),
            Timeout.withTimeout({ name: "outer", duration: "1 second" }),
            Effect.flip,
            Effect.flatMap((error) => Effect.map(now, (at) => [error.timeout, at] as const))
          )
        )
        yield* TestClock.adjust("1 hour")
        expect(yield* Fiber.join(fiber)).toEqual(["outer", 1000])
      }))

    it.effect("a shorter inner timeout fires first and the outer goes on", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          Effect.gen(function*() {
            const inner = yield* Effect.flip(
              Effect.never.pipe(Timeout.withTimeout({ name: "inner", duration: "300 millis" }))
            )
            return [inner.timeout, yield* now] as const
          }).pipe(Timeout.withTimeout({ name: "outer", duration: "1 second" }))
        )
        yield* TestClock.adjust("1 hour")
        expect(yield* Fiber.join(fiber)).toEqual(["inner", 300])
      }))

    it.effect("when both are due together, the outer one reports", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          Effect.never.pipe(
            Timeout.withTimeout({ name: "inner", duration: "1 second" }),
            Effect.catchTag("TimeoutError", () => Effect.succeed("inner handled")),
            Timeout.withTimeout({ name: "outer", duration: "1 second" }),
            Effect.flip,
            Effect.map((error) => error.timeout)
          )
        )
        yield* TestClock.adjust("1 hour")
        expect(yield* Fiber.join(fiber)).toBe("outer")
      }))

    it.effect("reaches timeouts in fibers forked inside the operation", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          Effect.gen(function*() {
            const children = yield* Effect.forEach(
              [1, 2],
              () => Effect.fork(Effect.never.pipe(Timeout.withTimeout({ name: "inner", duration: "5 seconds" }))),
              { concurrency: "unbounded" }
            )
            return yield* Fiber.joinAll(children)
          }).pipe(Timeout.withTimeout({ name: "outer", duration: "1 second" }), Effect.flip)
        )
        yield* TestClock.adjust("1 second")
        expect((yield* Fiber.join(fiber)).timeout).toBe("outer")
      }))

    it.effect("bounds a timeout in a daemon fiber by the deadline it was forked under", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          Effect.forkDaemon(Effect.never.pipe(Timeout.withTimeout({ name: "inner", duration: "5 seconds" }))).pipe(
            Timeout.withTimeout({ name: "outer", duration: "1 second" })
          )
        )
        yield* TestClock.adjust("10 millis")
        const daemon = yield* Fiber.join(fiber)
        yield* TestClock.adjust("990 millis")
        const error = yield* Effect.flip(Fiber.join(daemon))
        expect(error).toMatchObject({ timeout: "inner", phase: "Operation" })
      }))

    it.effect("fails at once with phase Deadline when the enclosing deadline has passed", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          Effect.forkDaemon(
            Effect.sleep("2 seconds").pipe(
              Effect.zipRight(Effect.succeed(1).pipe(Timeout.withTimeout({ name: "late", duration: "5 seconds" })))
            )
          ).pipe(Effect.zipLeft(Effect.sleep("10 millis")), Timeout.withTimeout("1 second"))
        )
        yield* TestClock.adjust("10 millis")
        const daemon = yield* Fiber.join(fiber)
        yield* TestClock.adjust("1 second")
        // the daemon's sleep was not interrupted (it is not a child), so it reaches the inner timeout late
        yield* TestClock.adjust("1 second")
        const exit = yield* Fiber.await(daemon)
        expect(exit).toEqual(Exit.fail(new TimeoutError({ timeout: "late", duration: 5000, phase: "Deadline" })))
      }))

    it.effect("propagates into an operation that runs in a fiber of its own (gracefulShutdown)", () =>
      Effect.gen(function*() {
        let left: Option.Option<Duration.Duration> = Option.none()
        const fiber = yield* Effect.fork(
          Effect.gen(function*() {
            yield* Effect.sleep("300 millis")
            left = yield* Timeout.remaining
            return yield* Effect.never.pipe(Timeout.withTimeout({ name: "inner", duration: "5 seconds" }))
          }).pipe(
            Timeout.withTimeout({ name: "outer", duration: "1 second", gracefulShutdown: true }),
            Effect.flip,
            Effect.zip(now)
          )
        )
        yield* TestClock.adjust("1 hour")
        const [error, at] = yield* Fiber.join(fiber)
        expect([error.timeout, error.phase, at]).toEqual(["outer", "Operation", 1000])
        expect(Option.map(left, Duration.toMillis)).toEqual(Option.some(700))
      }))

    it.effect("reads the remaining budget", () =>
      Effect.gen(function*() {
        expect(yield* Timeout.remaining).toEqual(Option.none())
        const fiber = yield* Effect.fork(
          Effect.gen(function*() {
            yield* Effect.sleep("300 millis")
            const outer = yield* Timeout.remaining
            const inner = yield* Timeout.remaining.pipe(Timeout.withTimeout("5 seconds"))
            const shorter = yield* Timeout.remaining.pipe(Timeout.withTimeout("100 millis"))
            const inChild = yield* Fiber.join(yield* Effect.fork(Timeout.remaining))
            return [outer, inner, shorter, inChild].map(Option.map(Duration.toMillis))
          }).pipe(Timeout.withTimeout("1 second"))
        )
        yield* TestClock.adjust("300 millis")
        expect(yield* Fiber.join(fiber)).toEqual([Option.some(700), Option.some(700), Option.some(100), Option.some(700)])
        expect(yield* Timeout.remaining).toEqual(Option.none())
      }))
  })

  it.effect("fires many concurrent timeouts each at its own deadline", () =>
    Effect.gen(function*() {
      const fibers = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) =>
          Effect.fork(
            Effect.never.pipe(
              Timeout.withTimeout(((i * 37) % 10 + 1) * 100),
              Effect.flip,
              Effect.zipRight(now)
            )
          )
      )
      yield* TestClock.adjust("1 hour")
      const times = yield* Effect.forEach(fibers, Fiber.join)
      expect(times).toEqual(Array.from({ length: 50 }, (_, i) => ((i * 37) % 10 + 1) * 100))
    }))

  it.effect("is retried by Retry like any typed error", () =>
    Effect.gen(function*() {
      let calls = 0
      const slowThenFast = Effect.suspend(() => ++calls < 3 ? Effect.never : Effect.succeed(calls))
      const fiber = yield* Effect.fork(
        slowThenFast.pipe(Timeout.withTimeout("1 second"), Retry.withRetry({ maxAttempts: 3, baseDelay: 100 }))
      )
      yield* TestClock.adjust("1 hour")
      expect(yield* Fiber.join(fiber)).toBe(3)
    }))

  it.scoped("keeps stats, updates metrics and publishes TimeoutExpired", () =>
    Effect.gen(function*() {
      const bus = yield* PatternEvents.PatternEvents
      const seen: Array<string> = []
      const stop = bus.listen((event) => {
        if (event._tag === "TimeoutExpired") seen.push(`${event.name} ${event.phase} ${event.duration}@${event.timestamp}`)
      })
      const timeout = yield* Timeout.make({ name: "timeout-stats", duration: "1 second" })
      const fiber = yield* Effect.fork(
        Effect.all([
          timeout.execute(Effect.succeed(1)),
          Effect.either(timeout.execute(Effect.fail(new Unavailable()))),
          Effect.either(timeout.execute(Effect.never))
        ])
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      stop()
      expect(yield* timeout.stats).toEqual({
        name: "timeout-stats",
        duration: 1000,
        calls: 3,
        successes: 1,
        failures: 1,
        timeouts: 1,
        gracePeriodOverruns: 0
      })
      expect(seen).toEqual(["timeout-stats Operation 1000@1000"])
      const tags = [
        MetricLabel.make("pattern", "Timeout"),
        MetricLabel.make("name", "timeout-stats"),
        MetricLabel.make("outcome", "timeout")
      ]
      expect((yield* Metric.value(Metrics.calls.pipe(Metric.taggedWithLabels(tags)))).count).toBe(1)
    }).pipe(Effect.provide(PatternEvents.layer())))

  it.effect("takes its duration from the settings in force", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.never.pipe(Timeout.withTimeout({}), Effect.flip, Effect.zipRight(now)))
      yield* TestClock.adjust("1 hour")
      expect(yield* Fiber.join(fiber)).toBe(250)
    }).pipe(
      Effect.provideService(IntegrationPatterns.GlobalConfig, {
        get: () => ({ ...IntegrationPatterns.defaultSettings, defaultTimeout: Duration.millis(250) })
      })
    ))

  it.effect("is provided as a service by layer and layerConfig", () =>
    Effect.gen(function*() {
      const run = Effect.gen(function*() {
        const timeout = yield* Timeout.Timeout
        const fiber = yield* Effect.fork(timeout.execute(Effect.never).pipe(Effect.flip))
        yield* TestClock.adjust("1 hour")
        const error = yield* Fiber.join(fiber)
        return [timeout.name, error.duration] as const
      })
      expect(yield* run.pipe(Effect.provide(Timeout.layer({ name: "from-layer", duration: 300 })))).toEqual([
        "from-layer",
        300
      ])
      const fromConfig = Timeout.layerConfig(
        Config.all({ name: Config.string("NAME"), duration: Config.duration("DURATION") })
      ).pipe(
        Layer.provide(
          Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["NAME", "env"], ["DURATION", "2 seconds"]])))
        )
      )
      expect(yield* run.pipe(Effect.provide(fromConfig))).toEqual(["env", 2000])
    }))

  it.scoped("reports every bad option in one InvalidConfigError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Timeout.make({ duration: 0, gracefulShutdown: "yes", onTimeout: 5, timeout: 10 } as never)
      )
      expect(error).toBeInstanceOf(InvalidConfigError)
      expect(error.message).toBe(
        [
          "Invalid Timeout options (4 problems):",
          "  - timeout: is not a known option",
          "  - duration: must be greater than zero",
          "  - gracefulShutdown: Expected boolean, actual \"yes\"",
          "  - onTimeout: expected a function from the TimeoutError to a fallback"
        ].join("\n")
      )
      const grace = yield* Effect.flip(Timeout.make({ duration: 10, gracePeriod: 5 }))
      expect(grace.issues).toEqual([{ path: "gracePeriod", message: "only applies with gracefulShutdown: true" }])
    }))

  it.effect("dies with InvalidConfigError when inline options are bad", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.succeed(1).pipe(Timeout.withTimeout({ duration: -1 })))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die" && exit.cause.defect instanceof InvalidConfigError)
        .toBe(true)
    }))

  it.live("works with the live clock", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.never.pipe(Timeout.withTimeout("20 millis")))
      expect(error._tag).toBe("TimeoutError")
      expect(yield* Effect.sleep("1 millis").pipe(Effect.as(1), Timeout.withTimeout("1 second"))).toBe(1)
    }))
})
