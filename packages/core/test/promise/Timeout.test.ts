import { describe, expect, it } from "@effect/vitest"
import { InvalidConfigError, TimeoutError } from "../../src/Errors.js"
import { Timeout } from "../../src/promise/index.js"

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Settles `ms` after the signal is aborted, like a well-behaved client cleaning up. */
const windsDown = (ms: number) => (signal: AbortSignal) =>
  new Promise<string>((resolve) => signal.addEventListener("abort", () => setTimeout(() => resolve("late"), ms)))

describe("promise Timeout", () => {
  it("resolves with the function's value when it finishes in time", async () => {
    const timeout = new Timeout({ duration: 1000 })
    await expect(timeout.execute(async () => "fast")).resolves.toBe("fast")
    await expect(timeout.execute(() => "sync")).resolves.toBe("sync")
    expect(timeout.getStats()).toMatchObject({ calls: 2, successes: 2, timeouts: 0 })
  })

  it("passes the function's own rejection through", async () => {
    const boom = new Error("boom")
    const timeout = new Timeout({ duration: 1000 })
    await expect(timeout.execute(async () => Promise.reject(boom))).rejects.toBe(boom)
    await expect(timeout.execute(() => {
      throw boom
    })).rejects.toBe(boom)
  })

  it("aborts the signal and rejects with TimeoutError at the deadline", async () => {
    const timeout = new Timeout({ name: "slow-api", duration: 20 })
    let seen: AbortSignal | undefined
    const started = Date.now()
    const error = await timeout.execute((signal) => {
      seen = signal
      return new Promise(() => undefined)
    }).catch((e: unknown) => e)
    expect(Date.now() - started).toBeGreaterThanOrEqual(15)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).name).toBe("TimeoutError")
    expect(error).toMatchObject({ timeout: "slow-api", duration: 20, phase: "Operation" })
    expect(seen?.aborted).toBe(true)
    expect(seen?.reason).toBeInstanceOf(TimeoutError)
    expect(timeout.getStats()).toMatchObject({ calls: 1, timeouts: 1 })
  })

  it("times out a function that takes no signal", async () => {
    await expect(new Timeout({ duration: 10 }).execute(() => delay(200))).rejects.toBeInstanceOf(TimeoutError)
  })

  it("with gracefulShutdown, waits for the operation to wind down within the grace period", async () => {
    const timeout = new Timeout({ duration: 10, gracefulShutdown: true, gracePeriod: 40 })
    const started = Date.now()
    const error = (await timeout.execute(windsDown(10)).catch((e) => e)) as TimeoutError
    expect(error.phase).toBe("Operation")
    expect(Date.now() - started).toBeGreaterThanOrEqual(15)
  })

  it("with gracefulShutdown, rejects with phase GracePeriod when the operation overruns it", async () => {
    const timeout = new Timeout({ duration: 10, gracefulShutdown: true, gracePeriod: 15 })
    const error = (await timeout.execute(windsDown(200)).catch((e) => e)) as TimeoutError
    expect(error.phase).toBe("GracePeriod")
    expect(timeout.getStats()).toMatchObject({ timeouts: 1, gracePeriodOverruns: 1 })
  })

  it("turns a timeout into a fallback value", async () => {
    const timeout = new Timeout({ duration: 10, onTimeout: (error) => `fallback after ${error.duration} ms` })
    const value: string | number = await timeout.execute(() => delay(200).then(() => 1))
    expect(value).toBe("fallback after 10 ms")
  })

  it("throws InvalidConfigError synchronously from the constructor", () => {
    expect(() => new Timeout({ duration: -1 })).toThrow(InvalidConfigError)
    expect(() => new Timeout({ duration: 10, gracePeriod: 5 })).toThrow(
      "Invalid Timeout options (1 problem):\n  - gracePeriod: only applies with gracefulShutdown: true"
    )
  })
})
