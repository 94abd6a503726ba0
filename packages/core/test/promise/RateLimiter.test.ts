import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Scope from "effect/Scope"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { InvalidConfigError, RateLimitExceededError } from "../../src/Errors.js"
import { globalRegistry } from "../../src/internal/registry.js"
import * as PatternEvents from "../../src/PatternEvents.js"
import { RateLimiter, rateLimitHeaders, type RateLimiterOptions } from "../../src/promise/RateLimiter.js"
import * as EffectRateLimiter from "../../src/RateLimiter.js"

describe("RateLimiter (Promise API)", () => {
  beforeEach(() => {
    vi.useFakeTimers()
    vi.setSystemTime(0)
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("lets 20 immediate requests of one user through with a burst of 20, and not the 21st", async () => {
    const rateLimiter = new RateLimiter({ requestsPerSecond: 10, burstLimit: 20, algorithm: "token-bucket" })
    const results: Array<boolean> = []
    for (let i = 0; i < 21; i++) results.push(await rateLimiter.allowRequest("user-123"))
    expect(results.slice(0, 20).every(Boolean)).toBe(true)
    expect(results[20]).toBe(false)
    expect(await rateLimiter.allowRequest("user-456")).toBe(true)
    vi.advanceTimersByTime(100)
    expect(await rateLimiter.allowRequest("user-123")).toBe(true)
  })

  it("returns the whole decision from check, and headers for it", async () => {
    const rateLimiter = new RateLimiter({ algorithm: "fixed-window", limit: 2, window: 60_000 })
    await rateLimiter.check("k")
    await rateLimiter.check("k")
    vi.advanceTimersByTime(15_000)
    const decision = await rateLimiter.check("k")
    expect(decision).toEqual({ allowed: false, remaining: 0, limit: 2, retryAfter: 45_000, resetAfter: 45_000, scope: "key" })
    expect(rateLimitHeaders(decision)).toEqual({
      "RateLimit-Limit": "2",
      "RateLimit-Remaining": "0",
      "RateLimit-Reset": "45",
      "Retry-After": "45"
    })
  })

  it("reports stats and per-key stats", async () => {
    const rateLimiter = new RateLimiter({
      name: "facade-stats",
      requestsPerSecond: 1,
      burstLimit: 2,
      global: { requestsPerSecond: 5, burstLimit: 3 }
    })
    await rateLimiter.allowRequest("a")
    await rateLimiter.allowRequest("a")
    await rateLimiter.allowRequest("a")
    await rateLimiter.allowRequest("b")
    await rateLimiter.allowRequest("c")
    expect(rateLimiter.getStats()).toMatchObject({
      name: "facade-stats",
      algorithm: "token-bucket",
      allowed: 3,
      rejected: 2,
      rejectedByKey: 1,
      rejectedByGlobal: 1,
      currentRate: 3,
      trackedKeys: 2,
      global: { limit: 3, remaining: 0 }
    })
    expect(rateLimiter.getKeyStats("a")).toMatchObject({ allowed: 2, rejected: 1, remaining: 0, tracked: true })
    const registered = globalRegistry.list().find((instance) => instance.name === "facade-stats")
    expect(registered?.health()).toEqual({ status: "degraded", reasons: ["the global budget is spent"] })
  })

  it("throws InvalidConfigError from the constructor for bad options", () => {
    const build = () => new RateLimiter({ algorithm: "sliding-window", limit: 0, window: -1, burstLimit: 3 } as never)
    expect(build).toThrow(InvalidConfigError)
    expect(build).toThrow(
      [
        "Invalid RateLimiter options (3 problems):",
        "  - burstLimit: is not a known option",
        "  - limit: expected an integer greater than 0, got 0",
        "  - window: expected a duration: a number of milliseconds, a string such as \"5 seconds\", or a Duration"
      ].join("\n")
    )
    expect(() => new RateLimiter({ requestsPerSecond: Number.POSITIVE_INFINITY })).toThrow(
      "requestsPerSecond: expected a finite number greater than 0, got Infinity"
    )
  })

  it("rejects a bad cost with a RangeError", async () => {
    const rateLimiter = new RateLimiter({ requestsPerSecond: 1 })
    expect(() => rateLimiter.allowRequest("k", -2)).toThrow(RangeError)
    await expect(rateLimiter.execute("k", () => 1, { cost: Number.NaN })).rejects.toThrow(RangeError)
  })

  it("runs a call through execute, or rejects with RateLimitExceededError and publishes an event", async () => {
    const rateLimiter = new RateLimiter({ name: "facade-execute", requestsPerSecond: 1, burstLimit: 1 })
    const events: Array<PatternEvents.PatternEvent> = []
    const stop = Effect.runSync(PatternEvents.PatternEvents).listen((event) => events.push(event))
    let runs = 0
    expect(await rateLimiter.execute("k", async () => ++runs)).toBe(1)
    const error = await rateLimiter.execute("k", async () => ++runs).catch((e: unknown) => e)
    stop()
    expect(error).toBeInstanceOf(RateLimitExceededError)
    expect(error).toMatchObject({ name: "RateLimitExceededError", limiter: "facade-execute", key: "k", retryAfter: 1000 })
    expect(runs).toBe(1)
    expect(events).toEqual([expect.objectContaining({ _tag: "RateLimitRejected", name: "facade-execute", key: "k" })])
  })

  it("waits first come, first served in wait mode, and rejects at maxWait", async () => {
    const rateLimiter = new RateLimiter({ requestsPerSecond: 10, burstLimit: 1 })
    const order: Array<string> = []
    const call = (id: string, maxWait: number) =>
      rateLimiter.execute("k", () => order.push(id), { mode: "wait", maxWait }).then(
        () => "ok",
        (e: RateLimitExceededError) => `rejected after ${e.retryAfter}`
      )
    await call("a", 1000)
    const b = call("b", 1000)
    const c = call("c", 150)
    const d = call("d", 1000)
    expect(rateLimiter.getStats().waiting).toBe(3)
    await vi.advanceTimersByTimeAsync(100)
    expect(order).toEqual(["a", "b"])
    await vi.advanceTimersByTimeAsync(100)
    expect(await Promise.all([b, c, d])).toEqual(["ok", "rejected after 100", "ok"])
    expect(order).toEqual(["a", "b", "d"])
    expect(rateLimiter.getStats().waiting).toBe(0)
  })

  it("makes the same decisions as the Effect RateLimiter (1,000 runs)", async () => {
    const options: ReadonlyArray<RateLimiterOptions> = [
      { requestsPerSecond: 7, burstLimit: 3, global: { requestsPerSecond: 11, burstLimit: 5 } },
      { algorithm: "fixed-window", limit: 3, window: 250, global: { limit: 5 } },
      { algorithm: "sliding-window", limit: 3, window: 250, global: { limit: 5, window: 400 } }
    ]
    await FastCheck.assert(
      FastCheck.asyncProperty(
        FastCheck.constantFrom(...options),
        FastCheck.array(
          FastCheck.record({
            key: FastCheck.constantFrom("a", "b", "c"),
            cost: FastCheck.integer({ min: 0, max: 3 }),
            gap: FastCheck.integer({ min: 0, max: 150 })
          }),
          { maxLength: 40 }
        ),
        async (opts, requests) => {
          vi.setSystemTime(0)
          const facade = new RateLimiter(opts)
          // The default Clock reads Date.now(), which the fake timers control too.
          const scope = Effect.runSync(Scope.make())
          const limiter = Effect.runSync(Scope.extend(EffectRateLimiter.make(opts), scope))
          for (const request of requests) {
            vi.setSystemTime(Date.now() + request.gap)
            const fromFacade = await facade.check(request.key, request.cost)
            expect(fromFacade).toEqual(Effect.runSync(limiter.allowRequest(request.key, request.cost)))
          }
          Effect.runSync(Scope.close(scope, Exit.void))
        }
      ),
      { numRuns: 1000 }
    )
  })
})
