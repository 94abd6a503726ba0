import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { InvalidConfigError, IntegrationPatternsError, PersistenceError, RateLimitExceededError } from "../src/Errors.js"
import * as IntegrationPatterns from "../src/IntegrationPatterns.js"
import * as Metrics from "../src/Metrics.js"
import * as PatternEvents from "../src/PatternEvents.js"
import * as RateLimiter from "../src/RateLimiter.js"
import { Registry } from "../src/internal/registry.js"

const counter = (metric: Metric.Metric.Counter<number>, name: string, outcome: string) =>
  Effect.map(
    Metric.value(Metric.taggedWithLabels(metric, new Metrics.PatternMetrics("RateLimiter", name).outcome(outcome))),
    (state) => state.count
  )

describe("RateLimiter (token bucket)", () => {
  it.scoped("admits 20 immediate requests of one user with a burst of 20, and rejects the 21st", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ requestsPerSecond: 10, burstLimit: 20, algorithm: "token-bucket" })
      for (let i = 0; i < 20; i++) expect((yield* limiter.allowRequest("user-123")).allowed).toBe(true)
      expect(yield* limiter.allowRequest("user-123")).toEqual({
        allowed: false,
        remaining: 0,
        limit: 20,
        retryAfter: 100,
        resetAfter: 2000,
        scope: "key"
      })
      expect((yield* limiter.allowRequest("user-456")).allowed).toBe(true)
    }))

  it.scoped("refills at requestsPerSecond as the clock moves", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ requestsPerSecond: 10, burstLimit: 2 })
      yield* limiter.allowRequest("k", 2)
      expect((yield* limiter.allowRequest("k")).allowed).toBe(false)
      yield* TestClock.adjust("99 millis")
      expect((yield* limiter.allowRequest("k")).allowed).toBe(false)
      yield* TestClock.adjust("1 millis")
      expect(yield* limiter.allowRequest("k")).toMatchObject({ allowed: true, remaining: 0 })
      yield* TestClock.adjust("1 second")
      expect(yield* limiter.allowRequest("k", 0)).toMatchObject({ allowed: true, remaining: 2, resetAfter: 0 })
    }))

  it.scoped("fails withRateLimit with RateLimitExceededError, without running the effect", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ name: "rl-reject", requestsPerSecond: 1, burstLimit: 1 })
      let runs = 0
      const call = Effect.sync(() => ++runs).pipe(limiter.withRateLimit("user-1"))
      expect(yield* call).toBe(1)
      const error = yield* Effect.flip(call)
      expect(error).toBeInstanceOf(RateLimitExceededError)
      expect(error).toMatchObject({ _tag: "RateLimitExceededError", limiter: "rl-reject", key: "user-1", retryAfter: 1000, limit: 1 })
      expect(error.message).toBe("Rate limit of 1 exceeded for key \"user-1\" on \"rl-reject\"; retry after 1 s")
      expect(runs).toBe(1)
      // Also callable data-first, with a cost.
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(limiter.withRateLimit(Effect.void, "user-1", { cost: 2 }))).toMatchObject({
        retryAfter: Number.POSITIVE_INFINITY
      })
    }))

  it.scoped("charges a request's cost against the budget", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ requestsPerSecond: 1, burstLimit: 10 })
      expect(yield* limiter.allowRequest("k", 7)).toMatchObject({ allowed: true, remaining: 3 })
      expect(yield* limiter.allowRequest("k", 4)).toMatchObject({ allowed: false, remaining: 3, retryAfter: 1000 })
      expect(yield* limiter.allowRequest("k", 3)).toMatchObject({ allowed: true, remaining: 0 })
    }))

  it.scoped("treats a negative or non-finite cost as a defect", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ requestsPerSecond: 1 })
      const exit = yield* Effect.exit(limiter.allowRequest("k", -1))
      expect(Exit.isFailure(exit) && Exit.isInterrupted(exit) === false).toBe(true)
      expect(String(exit)).toContain("cost must be a finite number of 0 or more, got -1")
      expect(Exit.isFailure(yield* Effect.exit(Effect.void.pipe(limiter.withRateLimit("k", { cost: Number.NaN })))))
        .toBe(true)
    }))
})

describe("RateLimiter (windows)", () => {
  it.scoped("fixed window: admits `limit` per window from the first request, then resets", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ algorithm: "fixed-window", limit: 3, window: "1 second" })
      yield* TestClock.adjust("250 millis")
      for (let i = 0; i < 3; i++) expect((yield* limiter.allowRequest("k")).allowed).toBe(true)
      yield* TestClock.adjust("700 millis")
      expect(yield* limiter.allowRequest("k")).toMatchObject({ allowed: false, retryAfter: 300, resetAfter: 300 })
      yield* TestClock.adjust("300 millis")
      expect(yield* limiter.allowRequest("k")).toMatchObject({ allowed: true, remaining: 2, resetAfter: 1000 })
    }))

  it.scoped("sliding window: weighs the previous window as it slides out", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ algorithm: "sliding-window", limit: 4, window: 1000 })
      for (let i = 0; i < 4; i++) yield* limiter.allowRequest("k")
      yield* TestClock.adjust("1000 millis")
      // The previous 4 still weigh 4: nothing fits yet.
      expect(yield* limiter.allowRequest("k")).toMatchObject({ allowed: false, retryAfter: 250 })
      yield* TestClock.adjust("250 millis")
      expect(yield* limiter.allowRequest("k")).toMatchObject({ allowed: true, remaining: 0 })
      yield* TestClock.adjust("500 millis")
      expect(yield* limiter.allowRequest("k")).toMatchObject({ allowed: true, remaining: 1 })
    }))
})

describe("RateLimiter: global budget", () => {
  it.scoped("consumes the key's budget and the global one atomically under many concurrent fibers", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({
        name: "rl-atomic",
        requestsPerSecond: 1e-6,
        burstLimit: 30,
        global: { requestsPerSecond: 1e-6, burstLimit: 200 }
      })
      const keys = Array.from({ length: 10 }, (_, i) => `tenant-${i}`)
      // 2,000 fibers, 200 per key, each yielding before and after its decision.
      const results = yield* Effect.forEach(
        Array.from({ length: 2000 }, (_, i) => keys[i % keys.length]!),
        (key) =>
          Effect.yieldNow().pipe(
            Effect.zipRight(Effect.either(Effect.succeed(key).pipe(limiter.withRateLimit(key)))),
            Effect.zipLeft(Effect.yieldNow())
          ),
        { concurrency: "unbounded" }
      )
      const admitted = results.filter(Either.isRight).map((r) => r.right)
      expect(admitted.length).toBe(200)
      const perKey = new Map<string, number>()
      for (const key of admitted) perKey.set(key, (perKey.get(key) ?? 0) + 1)
      for (const key of keys) {
        const stats = yield* limiter.keyStats(key)
        // Both or neither: each key paid exactly for what it was admitted.
        expect(stats.remaining).toBe(30 - (perKey.get(key) ?? 0))
        expect(perKey.get(key) ?? 0).toBeLessThanOrEqual(30)
      }
      const stats = yield* limiter.stats
      expect(stats.global).toEqual({ limit: 200, remaining: 0, resetAfter: expect.any(Number) })
      expect(stats.allowed).toBe(200)
      expect(stats.rejected).toBe(1800)
      expect(stats.rejectedByGlobal + stats.rejectedByKey).toBe(1800)
    }))

  it("keeps both budgets exact under random concurrent fibers (1,000 runs)", async () => {
    await FastCheck.assert(
      FastCheck.asyncProperty(
        FastCheck.array(
          FastCheck.record({
            key: FastCheck.integer({ min: 0, max: 3 }),
            cost: FastCheck.integer({ min: 1, max: 3 }),
            yields: FastCheck.integer({ min: 0, max: 3 })
          }),
          { maxLength: 40 }
        ),
        async (requests) => {
          const run = Effect.gen(function*() {
            const limiter = yield* RateLimiter.make({
              requestsPerSecond: 1e-6,
              burstLimit: 6,
              global: { requestsPerSecond: 1e-6, burstLimit: 15 }
            })
            const admitted = yield* Effect.forEach(
              requests,
              ({ cost, key, yields }) =>
                Effect.repeatN(Effect.yieldNow(), yields).pipe(
                  Effect.zipRight(limiter.allowRequest(`k${key}`, cost)),
                  Effect.map((decision) => (decision.allowed ? { key: `k${key}`, cost } : undefined))
                ),
              { concurrency: "unbounded" }
            )
            const spent = new Map<string, number>()
            let total = 0
            for (const a of admitted) {
              if (a === undefined) continue
              spent.set(a.key, (spent.get(a.key) ?? 0) + a.cost)
              total += a.cost
            }
            const keys = yield* Effect.forEach([0, 1, 2, 3], (k) => limiter.keyStats(`k${k}`))
            const stats = yield* limiter.stats
            return keys.every((ks) => ks.remaining === 6 - (spent.get(ks.key) ?? 0)) &&
              stats.global!.remaining === 15 - total
          })
          return Effect.runPromise(Effect.scoped(run))
        }
      ),
      { numRuns: 1000 }
    )
  })

  it.scoped("reports the global budget when it is the one that rejects", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({
        algorithm: "fixed-window",
        limit: 5,
        window: "1 minute",
        global: { limit: 2 }
      })
      yield* limiter.allowRequest("a")
      expect(yield* limiter.allowRequest("b")).toMatchObject({ allowed: true, scope: "global", remaining: 0, limit: 2 })
      const error = yield* Effect.flip(Effect.void.pipe(limiter.withRateLimit("c")))
      expect(error).toMatchObject({ key: "c", limit: 2, retryAfter: 60_000 })
    }))
})

describe("RateLimiter: wait mode", () => {
  it.scoped("admits waiting callers of one key first come, first served, as the budget refills", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ requestsPerSecond: 10, burstLimit: 1 })
      const order: Array<number> = []
      const call = (n: number) =>
        Effect.sync(() => order.push(n)).pipe(limiter.withRateLimit("k", { mode: "wait", maxWait: "1 second" }))
      yield* call(0)
      const fibers: Array<Fiber.RuntimeFiber<number, unknown>> = []
      for (let n = 1; n <= 4; n++) {
        fibers.push(yield* Effect.fork(call(n)))
        yield* Effect.yieldNow()
      }
      expect((yield* limiter.stats).waiting).toBe(4)
      yield* TestClock.adjust("100 millis")
      expect(order).toEqual([0, 1])
      yield* TestClock.adjust("300 millis")
      yield* Fiber.joinAll(fibers)
      expect(order).toEqual([0, 1, 2, 3, 4])
      expect((yield* limiter.stats).waiting).toBe(0)
    }))

  it.scoped("rejects a caller at maxWait, or as soon as it is known that it cannot be admitted in time", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ name: "rl-wait", requestsPerSecond: 1, burstLimit: 1 })
      const wait = (maxWait: Duration.DurationInput) =>
        Effect.void.pipe(limiter.withRateLimit("k", { mode: "wait", maxWait }))
      yield* wait("1 second")
      // The budget refills in 1 s: a 500 ms wait cannot succeed, so it fails at once.
      expect(yield* Effect.flip(wait("500 millis"))).toMatchObject({ retryAfter: 1000 })
      const head = yield* Effect.fork(wait("2 seconds"))
      yield* Effect.yieldNow()
      const short = yield* Effect.fork(Effect.flip(wait("300 millis")))
      yield* Effect.yieldNow()
      const medium = yield* Effect.fork(Effect.flip(wait("1500 millis")))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("299 millis")
      expect(short.unsafePoll()).toBe(null)
      yield* TestClock.adjust("1 millis")
      // Still queued behind the head at its deadline.
      expect(yield* Fiber.join(short)).toMatchObject({ key: "k", retryAfter: 700 })
      yield* TestClock.adjust("700 millis")
      yield* Fiber.join(head)
      // Its turn comes at 1 s, but the next token comes at 2 s, after its deadline.
      expect(yield* Fiber.join(medium)).toMatchObject({ key: "k", retryAfter: 1000 })
      expect((yield* limiter.stats).waiting).toBe(0)
    }))

  it.scoped("lets the next caller move up when a waiting caller is interrupted", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ requestsPerSecond: 10, burstLimit: 1 })
      const wait = Effect.void.pipe(limiter.withRateLimit("k", { mode: "wait", maxWait: "10 seconds" }))
      yield* wait
      const first = yield* Effect.fork(wait)
      yield* Effect.yieldNow()
      const second = yield* Effect.fork(wait)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      expect((yield* limiter.stats).waiting).toBe(1)
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(second)
      expect((yield* limiter.stats).waiting).toBe(0)
      // Nothing is left queued: a new caller is admitted as soon as the budget allows.
      yield* TestClock.adjust("100 millis")
      yield* wait
    }))

  it.scoped("takes maxWait from the global defaultTimeout when not given", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ requestsPerSecond: 1 / 60, burstLimit: 1 })
      yield* limiter.allowRequest("k")
      // 60 s to refill is more than the 30 s default: rejected at once.
      const error = yield* Effect.flip(Effect.void.pipe(limiter.withRateLimit("k", { mode: "wait" })))
      expect(error).toMatchObject({ _tag: "RateLimitExceededError", retryAfter: 60_000 })
    }))
})

describe("RateLimiter: monitoring", () => {
  it.scoped("publishes RateLimitRejected events, and counts decisions and rejections in metrics", () =>
    Effect.gen(function*() {
      const bus = yield* PatternEvents.PatternEvents
      const events = yield* bus.subscribe
      const limiter = yield* RateLimiter.make({ name: "rl-monitored", requestsPerSecond: 1, burstLimit: 1 })
      yield* Effect.either(Effect.void.pipe(limiter.withRateLimit("user-9")))
      yield* Effect.either(Effect.void.pipe(limiter.withRateLimit("user-9")))
      const received = Chunk.toReadonlyArray(yield* Queue.takeAll(events))
      expect(received).toEqual([{
        _tag: "RateLimitRejected",
        pattern: "RateLimiter",
        name: "rl-monitored",
        timestamp: 0,
        key: "user-9",
        cost: 1,
        limit: 1,
        retryAfter: 1000,
        scope: "key",
        mode: "reject"
      }])
      expect(yield* counter(Metrics.rateLimiterDecisions, "rl-monitored", "allowed")).toBe(1)
      expect(yield* counter(Metrics.rateLimiterDecisions, "rl-monitored", "rejected")).toBe(1)
      const rejections = yield* Metric.value(
        Metric.taggedWithLabels(
          Metrics.rejections,
          new Metrics.PatternMetrics("RateLimiter", "rl-monitored").reason("rate_limited")
        )
      )
      expect(rejections.count).toBe(1)
    }).pipe(Effect.provide(PatternEvents.layer())))

  it.scoped("sets the global tokens gauge after each admitted request", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({
        name: "rl-gauge",
        requestsPerSecond: 1,
        burstLimit: 10,
        global: { requestsPerSecond: 1, burstLimit: 5 }
      })
      yield* limiter.allowRequest("a", 2)
      const gauge = yield* Metric.value(
        Metric.taggedWithLabels(Metrics.rateLimiterTokens, new Metrics.PatternMetrics("RateLimiter", "rl-gauge").base)
      )
      expect(gauge.value).toBe(3)
    }))

  it.scoped("reports per-key stats: allowed, rejected, current rate and budget", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ requestsPerSecond: 2, burstLimit: 3 })
      for (let i = 0; i < 5; i++) yield* limiter.allowRequest("k")
      yield* TestClock.adjust("500 millis")
      expect(yield* limiter.keyStats("k")).toEqual({
        key: "k",
        tracked: true,
        allowed: 3,
        rejected: 2,
        currentRate: 3,
        limit: 3,
        remaining: 1,
        resetAfter: 1000
      })
      yield* TestClock.adjust("1 second")
      // Half of the last second overlaps the previous one, which held 3.
      expect((yield* limiter.keyStats("k")).currentRate).toBe(1.5)
      expect(yield* limiter.keyStats("never")).toMatchObject({ tracked: false, allowed: 0, remaining: 3 })
      const stats = yield* limiter.stats
      expect(stats).toMatchObject({ allowed: 3, rejected: 2, rejectedByKey: 2, trackedKeys: 1, currentRate: 1.5 })
    }))

  it.scoped("registers with the registry and turns degraded when the key table is full", () =>
    Effect.gen(function*() {
      const registry = new Registry()
      const limiter = yield* RateLimiter.make({ name: "rl-health", requestsPerSecond: 1, maxKeys: 2 }).pipe(
        Effect.provideService(IntegrationPatterns.PatternRegistry, registry)
      )
      const [instance] = registry.list()
      expect(instance).toMatchObject({ kind: "RateLimiter", name: "rl-health" })
      expect(instance!.health()).toEqual({ status: "healthy", reasons: [] })
      yield* limiter.allowRequest("a")
      yield* limiter.allowRequest("b")
      yield* limiter.allowRequest("c")
      expect(instance!.health().status).toBe("degraded")
      expect(instance!.stats()).toMatchObject({ trackedKeys: 2, evictedKeys: 1, maxKeys: 2 })
    }))
})

describe("RateLimiter: errors", () => {
  it.scoped("rejects with an error that behaves as a constructed RateLimitExceededError", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ name: "rl-error", requestsPerSecond: 1, burstLimit: 1 })
      yield* limiter.allowRequest("k")
      const error = yield* Effect.flip(Effect.void.pipe(limiter.withRateLimit("k")))
      const constructed = new RateLimitExceededError({ limiter: "rl-error", key: "k", retryAfter: 1000, limit: 1 })
      expect(error).toBeInstanceOf(Error)
      expect(error.name).toBe("RateLimitExceededError")
      expect(error.message).toBe(constructed.message)
      expect(error.stack).toContain(constructed.message)
      expect(Equal.equals(error, constructed)).toBe(true)
      expect(JSON.stringify(error)).toBe(JSON.stringify(constructed))
      const encoded = Schema.encodeSync(IntegrationPatternsError)(error)
      expect(Schema.decodeUnknownSync(IntegrationPatternsError)(JSON.parse(JSON.stringify(encoded)))).toEqual(
        constructed
      )
      const caught = yield* Effect.fail(error).pipe(
        Effect.catchTag("RateLimitExceededError", (e) => Effect.succeed(e.retryAfter))
      )
      expect(caught).toBe(1000)
    }))

  it.effect("rejects bad options with InvalidConfigError listing every problem", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(RateLimiter.make({ requestsPerSecond: 0, burstLimit: 1.5, maxKey: 3 } as never))
      )
      expect(error).toBeInstanceOf(InvalidConfigError)
      expect(error.message).toBe(
        [
          "Invalid RateLimiter options (3 problems):",
          "  - maxKey: is not a known option",
          "  - requestsPerSecond: expected a finite number greater than 0, got 0",
          "  - burstLimit: Expected an integer, actual 1.5"
        ].join("\n")
      )
      const windows = yield* Effect.flip(
        Effect.scoped(
          RateLimiter.make({ algorithm: "sliding-window", limit: -1, window: "soon", global: { limit: 0 } } as never)
        )
      )
      expect(windows.issues.map((issue) => issue.path)).toEqual(["limit", "window", "global.limit"])
      const unknown = yield* Effect.flip(
        Effect.scoped(RateLimiter.make({ algorithm: "leaky-bucket", requestsPerSecond: 1 } as never))
      )
      expect(unknown.issues).toEqual([{
        path: "algorithm",
        message: "Expected \"token-bucket\" | \"sliding-window\" | \"fixed-window\", actual \"leaky-bucket\""
      }])
    }))
})

describe("RateLimiter: layers and store", () => {
  it.effect("provides a limiter as a Layer for withRateLimit and allowRequest from context", () =>
    Effect.gen(function*() {
      const first = yield* Effect.succeed("ok").pipe(RateLimiter.withRateLimit("k"))
      const second = yield* Effect.flip(RateLimiter.withRateLimit(Effect.succeed("ok"), "k"))
      const decision = yield* RateLimiter.allowRequest("other")
      expect([first, second._tag, decision.allowed]).toEqual(["ok", "RateLimitExceededError", true])
    }).pipe(Effect.provide(RateLimiter.layer({ requestsPerSecond: 1, burstLimit: 1 }))))

  it.effect("reads its options from Config", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.RateLimiter
      expect([limiter.name, limiter.algorithm, limiter.limit]).toEqual(["from-env", "fixed-window", 7])
    }).pipe(
      Effect.provide(
        RateLimiter.layerConfig(
          Config.all({
            name: Config.string("NAME"),
            algorithm: Config.literal("fixed-window", "sliding-window")("ALGORITHM"),
            limit: Config.integer("LIMIT"),
            window: Config.duration("WINDOW")
          })
        ).pipe(
          Layer.provide(
            Layer.setConfigProvider(
              ConfigProvider.fromMap(
                new Map([["NAME", "from-env"], ["ALGORITHM", "fixed-window"], ["LIMIT", "7"], ["WINDOW", "1 minute"]])
              )
            )
          )
        )
      )
    ))

  it.effect("decides through whichever RateLimiterStore is provided, without changing callers", () =>
    Effect.gen(function*() {
      const requests: Array<RateLimiter.ConsumeRequest> = []
      // A remote-style store: decisions only through `consume`, which can fail.
      const remote: RateLimiter.RateLimiterStoreService = {
        name: "remote",
        make: (config) =>
          Effect.gen(function*() {
            const local = yield* RateLimiter.storeMemory.make(config)
            return {
              ...local,
              unsafeConsume: undefined,
              consume: (request) => {
                requests.push(request)
                return request.key === "down"
                  ? Effect.fail(new PersistenceError({ store: "remote", reason: "Unavailable", detail: "offline" }))
                  : local.consume(request)
              }
            }
          })
      }
      const program = Effect.gen(function*() {
        yield* TestClock.adjust("5 millis")
        const ok = yield* Effect.succeed(1).pipe(RateLimiter.withRateLimit("user-1"))
        const rejected = yield* Effect.flip(Effect.succeed(1).pipe(RateLimiter.withRateLimit("user-1")))
        const failed = yield* Effect.flip(Effect.succeed(1).pipe(RateLimiter.withRateLimit("down")))
        return [ok, rejected._tag, failed._tag]
      })
      const result = yield* program.pipe(
        Effect.provide(
          RateLimiter.layer({ name: "rl-remote", requestsPerSecond: 1, burstLimit: 1 }).pipe(
            Layer.provide(Layer.succeed(RateLimiter.RateLimiterStore, remote))
          )
        )
      )
      expect(result).toEqual([1, "RateLimitExceededError", "PersistenceError"])
      expect(requests).toEqual([
        { key: "user-1", cost: 1, now: 5 },
        { key: "user-1", cost: 1, now: 5 },
        { key: "down", cost: 1, now: 5 }
      ])
    }))
})

describe("RateLimiter.headers", () => {
  it("turns a decision into RateLimit-* headers, with Retry-After only when rejected", () => {
    expect(
      RateLimiter.headers({ allowed: true, remaining: 7, limit: 10, retryAfter: 0, resetAfter: 1200, scope: "key" })
    ).toEqual({ "RateLimit-Limit": "10", "RateLimit-Remaining": "7", "RateLimit-Reset": "2" })
    expect(
      RateLimiter.headers({ allowed: false, remaining: 0, limit: 10, retryAfter: 250, resetAfter: 4000, scope: "global" })
    ).toEqual({ "RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "4", "Retry-After": "1" })
    expect(
      RateLimiter.headers({
        allowed: false,
        remaining: 3,
        limit: 10,
        retryAfter: Number.POSITIVE_INFINITY,
        resetAfter: 0,
        scope: "key"
      })
    ).toEqual({ "RateLimit-Limit": "10", "RateLimit-Remaining": "3", "RateLimit-Reset": "0" })
  })
})
