import { describe, expect, it } from "@effect/vitest"
import { CircuitBreakerOpenError, RetryExhaustedError, TimeoutError } from "../../src/Errors.js"
import { Bulkhead, CircuitBreaker, Policy, RateLimiter, Retry, Timeout } from "../../src/promise/index.js"

const hang = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)))

describe("promise Policy.wrap", () => {
  it("nests the policies, the first outermost", async () => {
    const order: Array<string> = []
    const tracing = (name: string): Policy.Executor => ({
      execute: async (fn) => {
        order.push(`${name} in`)
        try {
          return await fn()
        } finally {
          order.push(`${name} out`)
        }
      }
    })
    const pipeline = Policy.wrap(tracing("a"), tracing("b"), tracing("c"))
    await expect(pipeline.execute(() => (order.push("call"), 42))).resolves.toBe(42)
    expect(order).toEqual(["a in", "b in", "c in", "call", "c out", "b out", "a out"])
    await expect(Policy.wrap().execute(() => "bare")).resolves.toBe("bare")
  })

  it("a retry outside a breaker gives up on the breaker's rejection once it opens", async () => {
    const breaker = new CircuitBreaker({ name: "wrap-breaker", failureThreshold: 2, recoveryTimeout: 60_000 })
    const retry = new Retry({ maxAttempts: 4, baseDelay: 1, maxDelay: 5 })
    let calls = 0
    const error = await Policy.wrap(retry, breaker).execute(() => {
      calls++
      throw new Error("down")
    }).catch((e: unknown) => e)
    // Two failures open the breaker; the two attempts after are rejected without a call.
    expect(calls).toBe(2)
    expect(error).toBeInstanceOf(RetryExhaustedError)
    expect((error as RetryExhaustedError).cause).toBeInstanceOf(CircuitBreakerOpenError)
  })

  it("a timeout inside a retry bounds each attempt and aborts its signal", async () => {
    const signals: Array<AbortSignal> = []
    const pipeline = Policy.wrap(
      new Retry({ maxAttempts: 2, baseDelay: 1 }),
      new Timeout({ name: "attempt", duration: 10 })
    )
    const result = await pipeline.execute((signal) => {
      signals.push(signal)
      return signals.length === 1 ? hang(signal) : "second try"
    })
    expect(result).toBe("second try")
    expect(signals.map((s) => s.aborted)).toEqual([true, false])
  })

  it("a timeout outside a retry bounds the whole loop, and nested timeouts share one signal", async () => {
    let seen: AbortSignal | undefined
    const pipeline = Policy.wrap(
      new Timeout({ name: "overall", duration: 20 }),
      new Retry({ maxAttempts: 100, baseDelay: 1, backoffStrategy: "fixed" }),
      new Timeout({ name: "attempt", duration: 1_000 })
    )
    const error = await pipeline.execute((signal) => {
      seen = signal
      return hang(signal)
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(error).toMatchObject({ timeout: "overall", duration: 20 })
    // The attempt's signal is aborted by the overall timeout too.
    expect(seen?.aborted).toBe(true)
  })

  it("runs keyed instances through an adapter", async () => {
    const limiter = new RateLimiter({ name: "wrap-limiter", requestsPerSecond: 1, burstLimit: 1 })
    const bulkhead = new Bulkhead({ name: "wrap-bulkhead", maxConcurrent: 1 })
    const pipeline = Policy.wrap(bulkhead, { execute: (fn) => limiter.execute("user-1", fn) })
    await expect(pipeline.execute(() => "first")).resolves.toBe("first")
    await expect(pipeline.execute(() => "second")).rejects.toMatchObject({ _tag: "RateLimitExceededError" })
  })

  it("turns a synchronous throw into a rejection", async () => {
    const boom = new Error("boom")
    const promise = Policy.wrap().execute(() => {
      throw boom
    })
    await expect(promise).rejects.toBe(boom)
  })
})
