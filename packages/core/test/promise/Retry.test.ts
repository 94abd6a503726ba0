import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { InvalidConfigError, RetryExhaustedError } from "../../src/Errors.js"
import * as PatternEvents from "../../src/PatternEvents.js"
import { Retry } from "../../src/promise/index.js"
import * as EffectRetry from "../../src/Retry.js"

class Unavailable extends Error {
  override readonly name = "Unavailable"
}

const failing = (failures: number) => {
  let calls = 0
  const attempts: Array<number> = []
  const fn = async ({ attempt }: { readonly attempt: number }) => {
    attempts.push(attempt)
    if (++calls <= failures) throw new Unavailable(`call ${calls}`)
    return calls
  }
  return { attempts, fn }
}

describe("promise Retry", () => {
  it("retries rejections until the function resolves", async () => {
    const retry = new Retry({ maxAttempts: 3, baseDelay: 5, backoffStrategy: "exponential" })
    const { attempts, fn } = failing(2)
    await expect(retry.execute(fn)).resolves.toBe(3)
    expect(attempts).toEqual([1, 2, 3])
    expect(retry.getStats()).toMatchObject({ calls: 1, successes: 1, retries: 2, totalDelay: 15 })
  })

  it("gives up with RetryExhaustedError carrying the last error", async () => {
    const retry = new Retry({ name: "inventory", maxAttempts: 2, baseDelay: 1 })
    const error = await retry.execute(failing(10).fn).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RetryExhaustedError)
    expect(error).toMatchObject({ name: "RetryExhaustedError", retry: "inventory", attempts: 2, reason: "MaxAttempts" })
    expect((error as RetryExhaustedError).cause).toBeInstanceOf(Unavailable)
    expect((error as RetryExhaustedError).message).toBe(
      "Retry \"inventory\" gave up after 2 attempt(s) and 1 ms of delay (no attempts left): call 2"
    )
  })

  it("passes rejections the condition refuses through unchanged", async () => {
    const boom = new TypeError("bug")
    let calls = 0
    const fn = async () => {
      calls++
      throw boom
    }
    await expect(new Retry({ neverRetryOn: ["TypeError"] }).execute(fn)).rejects.toBe(boom)
    await expect(new Retry({ shouldRetry: (e) => e instanceof Unavailable }).execute(fn)).rejects.toBe(boom)
    expect(calls).toBe(2)
  })

  it("retries synchronous throws and plain values alike", async () => {
    let calls = 0
    const value = await new Retry({ baseDelay: 1 }).execute(() => {
      if (++calls === 1) throw new Unavailable("sync")
      return "plain"
    })
    expect(value).toBe("plain")
  })

  it("caps retries with a budget shared by every call", async () => {
    const retry = new Retry({ maxAttempts: 4, baseDelay: 0, budget: { retryRatio: 0.1, minRetriesPerSecond: 0 } })
    let calls = 0
    const down = async () => {
      calls++
      throw new Unavailable("down")
    }
    const errors = await Promise.all(Array.from({ length: 50 }, () => retry.execute(down).catch((e) => e)))
    // 50 first attempts buy 5 retries; the calls that got one are then refused a second
    expect(calls).toBe(55)
    expect(errors.filter((e) => e.reason === "BudgetExhausted")).toHaveLength(50)
  })

  it("makes the same decisions as the Effect API", async () => {
    const options = { maxAttempts: 5, baseDelay: 2, maxDelay: 5, backoffStrategy: "linear" } as const
    const facade = (await new Retry(options).execute(failing(100).fn).catch((e) => e)) as RetryExhaustedError
    const effect = await Effect.runPromise(
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          Effect.fail(new Unavailable("down")).pipe(EffectRetry.withRetry(options), Effect.flip)
        )
        yield* TestClock.adjust("1 minute")
        return (yield* Fiber.join(fiber)) as RetryExhaustedError
      }).pipe(Effect.provide(TestContext.TestContext))
    )
    // delays 2, 4, then capped at 5, 5
    expect([facade.attempts, facade.totalDelay, facade.reason]).toEqual([5, 16, "MaxAttempts"])
    expect([effect.attempts, effect.totalDelay, effect.reason]).toEqual([5, 16, "MaxAttempts"])
  })

  it("publishes RetryScheduled events to the process-wide bus", async () => {
    const bus = Effect.runSync(PatternEvents.PatternEvents)
    const seen: Array<number> = []
    const stop = bus.listen((event) => {
      if (event._tag === "RetryScheduled" && event.name === "facade-events") seen.push(event.delay)
    })
    await new Retry({ name: "facade-events", baseDelay: 1, backoffStrategy: "linear" }).execute(failing(2).fn)
    stop()
    expect(seen).toEqual([1, 2])
  })

  it("throws InvalidConfigError synchronously from the constructor", () => {
    expect(() => new Retry({ maxAttempts: 1.5, baseDelay: -1 })).toThrow(InvalidConfigError)
    try {
      new Retry({ maxAttempts: 1.5, jitter: "lots" as never })
    } catch (error) {
      expect((error as InvalidConfigError).message).toBe(
        [
          "Invalid Retry options (2 problems):",
          "  - maxAttempts: Expected an integer, actual 1.5",
          "  - jitter: Expected \"none\" | \"full\" | \"equal\" | \"decorrelated\", actual \"lots\""
        ].join("\n")
      )
    }
    expect(() => new Retry({ backoffStrategy: Schedule.spaced(10) as never })).toThrow(
      "backoffStrategy: a Schedule needs the Effect API"
    )
  })
})
