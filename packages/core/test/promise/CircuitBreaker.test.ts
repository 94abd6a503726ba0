import { afterEach, beforeEach, describe, expect, it, vi } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Effect_ from "../../src/CircuitBreaker.js"
import * as PatternEvents from "../../src/PatternEvents.js"
import {
  CircuitBreaker,
  CircuitBreakerOpenError,
  InvalidConfigError,
  PersistenceError
} from "../../src/promise/index.js"

const down = async (): Promise<never> => {
  throw new Error("down")
}
const ok = async () => "ok"

const failTimes = async (breaker: CircuitBreaker, n: number) => {
  for (let i = 0; i < n; i++) await breaker.execute(down).catch(() => undefined)
}

// Only `Date` is faked: the breaker reads time from `Date.now()` and sets no timers.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] })
  vi.setSystemTime(1_000_000)
})
afterEach(() => {
  vi.useRealTimers()
})
const advance = (ms: number) => vi.setSystemTime(Date.now() + ms)

describe("CircuitBreaker (Promise)", () => {
  it("rejects with CircuitBreakerOpenError after 5 failures, without calling the operation", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 5, recoveryTimeout: 60000, monitoringWindow: 300000 })
    let calls = 0
    const operation = async () => {
      calls++
      throw new Error("down")
    }
    for (let i = 0; i < 5; i++) await expect(breaker.execute(operation)).rejects.toThrow("down")
    const rejection = await breaker.execute(operation).catch((e: unknown) => e)
    expect(rejection).toBeInstanceOf(CircuitBreakerOpenError)
    expect(rejection).toMatchObject({ name: "CircuitBreakerOpenError", state: "Open", retryAfter: 60_000 })
    expect(calls).toBe(5)
    expect(breaker.getState()).toBe("Open")
    expect(breaker.getStats()).toMatchObject({ calls: 5, failures: 5, rejections: 1, failureRatio: 1 })
  })

  it("throws InvalidConfigError from the constructor, listing every problem", () => {
    const make = () =>
      new CircuitBreaker({ failureThreshold: -1, recoveryTimeout: 0, monitoringWindow: "often" as never })
    expect(make).toThrow(InvalidConfigError)
    expect(make).toThrow([
      "Invalid CircuitBreaker options (3 problems):",
      "  - failureThreshold: expected an integer greater than 0, got -1",
      "  - monitoringWindow: expected a duration: a number of milliseconds, a string such as \"5 seconds\", "
      + "or a Duration",
      "  - recoveryTimeout: must be greater than zero"
    ].join("\n"))
    expect(() => new CircuitBreaker({ halfOpenMaxCalls: 1, successThreshold: 2 })).toThrow(
      "successThreshold: expected at most halfOpenMaxCalls (1), got 2"
    )
  })

  it("probes after the recovery timeout, then closes on success or reopens on failure", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, recoveryTimeout: 1_000 })
    await failTimes(breaker, 2)
    advance(999)
    await expect(breaker.execute(ok)).rejects.toMatchObject({ retryAfter: 1 })
    advance(1)
    await expect(breaker.execute(down)).rejects.toThrow("down")
    expect(breaker.getState()).toBe("Open")
    advance(1_000)
    await expect(breaker.execute(ok)).resolves.toBe("ok")
    expect(breaker.getState()).toBe("Closed")
  })

  it("rejects everyone else at once while the probe runs", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1_000 })
    await failTimes(breaker, 1)
    advance(1_000)
    let finish!: (value: string) => void
    const probe = breaker.execute(() => new Promise<string>((resolve) => (finish = resolve)))
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: "HalfOpen", retryAfter: 0 })
    finish("probe")
    await expect(probe).resolves.toBe("probe")
    expect(breaker.getState()).toBe("Closed")
  })

  it("does not let a slow call that started before the breaker opened close it (opossum #381)", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, recoveryTimeout: 1_000 })
    let finish!: (value: string) => void
    const slow = breaker.execute(() => new Promise<string>((resolve) => (finish = resolve)))
    await failTimes(breaker, 2)
    advance(1_000)
    let fail!: (error: Error) => void
    const probe = breaker.execute(() => new Promise<string>((_, reject) => (fail = reject)))
    finish("late")
    await expect(slow).resolves.toBe("late")
    expect(breaker.getState()).toBe("HalfOpen")
    fail(new Error("still down"))
    await expect(probe).rejects.toThrow("still down")
    expect(breaker.getState()).toBe("Open")
  })

  it("opens once, with one state change, when many calls fail together (opossum #385)", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 5 })
    const changes: Array<string> = []
    breaker.onStateChange((e) => changes.push(`${e.from}>${e.to}`))
    const rejects: Array<(error: Error) => void> = []
    const calls = Array.from({ length: 50 }, () =>
      breaker.execute(() => new Promise((_, reject) => rejects.push(reject))).catch(() => undefined))
    for (const reject of rejects) reject(new Error("down"))
    await Promise.all(calls)
    expect(changes).toEqual(["Closed>Open"])
    expect(breaker.getStats().failures).toBe(50)
  })

  it("counts a synchronous throw as a failure and passes plain values through", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 })
    await expect(breaker.execute(() => 7)).resolves.toBe(7)
    for (let i = 0; i < 2; i++) {
      await expect(breaker.execute(() => {
        throw new TypeError("bug")
      })).rejects.toThrow(TypeError)
    }
    expect(breaker.getState()).toBe("Open")
  })

  it("classifies errors and results with ignore, isFailure and isResultFailure", async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 2,
      ignore: (e) => e instanceof RangeError,
      isFailure: (e) => !(e instanceof SyntaxError),
      isResultFailure: (v) => v === "503"
    })
    const fail = (error: Error) => breaker.execute(() => Promise.reject(error)).catch(() => undefined)
    await fail(new Error("a"))
    await fail(new RangeError("ignored"))
    await fail(new SyntaxError("a success"))
    await fail(new Error("b"))
    expect(breaker.getState()).toBe("Closed")
    await breaker.execute(async () => "503")
    expect(breaker.getState()).toBe("Open")
    expect(breaker.getStats()).toMatchObject({ successes: 1, failures: 3, ignored: 1 })
  })

  it("calls listeners, stops after dispose, and publishes to the PatternEvents bus", async () => {
    const breaker = new CircuitBreaker({ name: "listeners", failureThreshold: 1, recoveryTimeout: 10 })
    const seen: Array<string> = []
    const bus = Effect.runSync(PatternEvents.PatternEvents)
    const onBus: Array<string> = []
    const stopBus = bus.listen((e) => e.name === "listeners" && onBus.push(e._tag))
    const stops = [
      breaker.onBreak((e) => seen.push(`break:${e.reason}`)),
      breaker.onHalfOpen(() => seen.push("half-open")),
      breaker.onReset(() => seen.push("reset")),
      breaker.onSuccess((e) => seen.push(`success:${e.duration}`)),
      breaker.onFailure(() => seen.push("failure")),
      breaker.onReject((e) => seen.push(`reject:${e.retryAfter}`))
    ]
    await failTimes(breaker, 1)
    await breaker.execute(ok).catch(() => undefined)
    advance(10)
    await breaker.execute(ok)
    for (const stop of stops) stop.dispose()
    stopBus()
    await failTimes(breaker, 1)
    expect(seen).toEqual(["failure", "break:ConsecutiveFailures", "reject:10", "half-open", "success:0", "reset"])
    expect(onBus).toEqual([
      "CallFailed",
      "StateChanged",
      "CallRejected",
      "StateChanged",
      "CallSucceeded",
      "StateChanged"
    ])
  })

  it("isolates, resets, disables and runs in metrics-only mode", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 })
    breaker.isolate()
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: "Isolated" })
    breaker.reset()
    breaker.disable()
    await failTimes(breaker, 3)
    expect(breaker.getState()).toBe("Disabled")
    breaker.metricsOnly()
    await failTimes(breaker, 3)
    expect(breaker.getState()).toBe("MetricsOnly")
    expect(breaker.getStats().shadowTrips).toBe(3)
  })

  it("saves a half-open breaker as open and due, and restores it from toJSON", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1_000 })
    await failTimes(breaker, 1)
    advance(1_000)
    void breaker.execute(() => new Promise(() => undefined))
    expect(breaker.getState()).toBe("HalfOpen")
    const json = JSON.stringify(breaker)
    const restored = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1_000, snapshot: JSON.parse(json) })
    expect(restored.getState()).toBe("Open")
    await expect(restored.execute(ok)).resolves.toBe("ok")
    expect(restored.getState()).toBe("Closed")
    expect(() => new CircuitBreaker({ snapshot: { version: 1, state: "Open" } })).toThrow(PersistenceError)
    expect(() => restored.restore("garbage")).toThrow(PersistenceError)
  })
})

type Step =
  | { readonly _tag: "advance"; readonly ms: number }
  | { readonly _tag: "call"; readonly fails: boolean; readonly duration: number }

const stepArb: FastCheck.Arbitrary<Step> = FastCheck.oneof(
  FastCheck.record({ _tag: FastCheck.constant("advance" as const), ms: FastCheck.integer({ min: 0, max: 3_000 }) }),
  FastCheck.record({
    _tag: FastCheck.constant("call" as const),
    fails: FastCheck.boolean(),
    duration: FastCheck.integer({ min: 0, max: 300 })
  })
)

// A clock that moves only when told to; the calls below never sleep.
interface ManualClock extends Clock.Clock {
  now: number
}

const manualClock = (): ManualClock => {
  const clock: ManualClock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    now: 0,
    unsafeCurrentTimeMillis: () => clock.now,
    unsafeCurrentTimeNanos: () => BigInt(clock.now) * 1_000_000n,
    currentTimeMillis: Effect.sync(() => clock.now),
    currentTimeNanos: Effect.sync(() => BigInt(clock.now) * 1_000_000n),
    sleep: () => Effect.die("the manual clock does not sleep")
  }
  return clock
}

describe("both shells", () => {
  it("make the same decisions for the same calls and times", async () => {
    const options = {
      failureThreshold: 3,
      slidingWindowSize: 6,
      failureRateThreshold: 0.5,
      slowCallDuration: 200,
      recoveryTimeout: 1_000,
      halfOpenMaxCalls: 1
    }
    await FastCheck.assert(
      FastCheck.asyncProperty(FastCheck.array(stepArb, { minLength: 1, maxLength: 60 }), async (steps) => {
        vi.setSystemTime(0)
        const facade = new CircuitBreaker(options)
        const fromFacade: Array<string> = []
        for (const step of steps) {
          if (step._tag === "advance") advance(step.ms)
          else {
            const outcome = await facade.execute(async () => {
              advance(step.duration)
              if (step.fails) throw new Error("down")
            }).then(() => "ok", (e: unknown) => e instanceof CircuitBreakerOpenError ? "rejected" : "failed")
            fromFacade.push(`${outcome}:${facade.getState()}`)
          }
        }
        const clock = manualClock()
        const fromEffect = await Effect.runPromise(
          Effect.gen(function*() {
            const breaker = yield* Effect_.make(options)
            const out: Array<string> = []
            for (const step of steps) {
              if (step._tag === "advance") clock.now += step.ms
              else {
                const adjust = Effect.sync(() => void (clock.now += step.duration))
                const call = Effect.zipRight(adjust, step.fails ? Effect.fail("down") : Effect.void)
                const outcome = yield* breaker.execute(call).pipe(
                  Effect.match({
                    onSuccess: () => "ok",
                    onFailure: (e) => e instanceof CircuitBreakerOpenError ? "rejected" : "failed"
                  })
                )
                out.push(`${outcome}:${yield* breaker.state}`)
              }
            }
            return out
          }).pipe(Effect.scoped, Effect.withClock(clock))
        )
        expect(fromFacade).toEqual(fromEffect)
      }),
      { numRuns: 150 }
    )
  })
})
