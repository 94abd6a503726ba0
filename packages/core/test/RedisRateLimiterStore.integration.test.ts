import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { Cluster, Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import { InvalidConfigError, PersistenceError, RateLimitExceededError } from "../src/Errors.js"
import { LimiterCore } from "../src/internal/rateLimiter/core.js"
import { RedisBudgets, RedisConnection, type RedisSettings } from "../src/internal/rateLimiter/redis.js"
import * as redisOptions from "../src/internal/rateLimiter/redisOptions.js"
import * as PatternEvents from "../src/PatternEvents.js"
import { RateLimiter as PromiseRateLimiter } from "../src/promise/RateLimiter.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RedisRateLimiterStore from "../src/RedisRateLimiterStore.js"
import { eventually, required, startOwnServer } from "@integration-patterns/testkit/redisServer"

const redisUrl = required("REDIS_URL")
const raw = new Redis(redisUrl)
afterAll(() => raw.quit())

/** A prefix of one test, apart from every other test's and run's. */
const freshPrefix = () => `it:${randomUUID()}:`

const settings = (options: RedisRateLimiterStore.Options): RedisSettings => {
  const decoded = redisOptions.decodeEither(options)
  if (Either.isLeft(decoded)) throw decoded.left
  return decoded.right
}

const quietBus = PatternEvents.unsafeMake()

const collect = (bus: PatternEvents.PatternEventsService) => {
  const events: Array<PatternEvents.PatternEvent> = []
  const stop = bus.listen((event) => events.push(event))
  return { events, tags: () => events.map((e) => e._tag), stop }
}

const redisStore = (options: RedisRateLimiterStore.Options) => Effect.orDie(RedisRateLimiterStore.make(options))

// -------------------------------------------------------------------------------------
// The scripts against the in-memory core.

const bucketSpec = FastCheck.record({
  algorithm: FastCheck.constant("token-bucket" as const),
  requestsPerSecond: FastCheck.oneof(
    FastCheck.integer({ min: 1, max: 500 }),
    FastCheck.double({ min: 0.3, max: 300, noNaN: true, noDefaultInfinity: true })
  ),
  burstLimit: FastCheck.integer({ min: 1, max: 12 })
})

const windowSpec = (algorithm: "sliding-window" | "fixed-window") =>
  FastCheck.record({
    algorithm: FastCheck.constant(algorithm),
    limit: FastCheck.integer({ min: 1, max: 12 }),
    window: FastCheck.integer({ min: 1, max: 3000 })
  })

const limiterSpec = FastCheck.oneof(
  FastCheck.tuple(bucketSpec, FastCheck.option(bucketSpec, { nil: undefined })),
  FastCheck.tuple(windowSpec("sliding-window"), FastCheck.option(windowSpec("sliding-window"), { nil: undefined })),
  FastCheck.tuple(windowSpec("fixed-window"), FastCheck.option(windowSpec("fixed-window"), { nil: undefined }))
)

const step = FastCheck.record({
  key: FastCheck.constantFrom("a", "b", "c"),
  cost: FastCheck.constantFrom(0, 1, 1, 1, 1, 2, 3, 20),
  elapsed: FastCheck.oneof(
    FastCheck.constant(0),
    FastCheck.integer({ min: 0, max: 50 }),
    FastCheck.integer({ min: 0, max: 4000 })
  ),
  peek: FastCheck.boolean()
})

describe("RedisRateLimiterStore: the scripts decide as the in-memory store does", () => {
  it("gives the same decision, to the millisecond, for random traffic on every algorithm", async () => {
    const s = settings({ url: redisUrl, prefix: freshPrefix(), clock: "local", expiryMargin: "10 minutes" })
    const connection = RedisConnection.open(s)
    await connection.waitReady(2000)
    let run = 0
    try {
      await FastCheck.assert(
        FastCheck.asyncProperty(limiterSpec, FastCheck.array(step, { minLength: 1, maxLength: 40 }), async ([algorithm, global], steps) => {
          const config = { name: `diff-${run++}`, algorithm, global, maxKeys: 1000 }
          const memory = new LimiterCore(algorithm, global, 1000)
          const redis = new RedisBudgets(connection, config, s, { bus: quietBus, now: Date.now })
          // Steps at the same time go to Redis together, as one batch; memory decides
          // them one after the other, in the same order.
          let now = 1_700_000_000_000
          let group: Array<typeof steps[number]> = []
          const flush = async () => {
            const remote = await Promise.all(group.map(({ cost, key, peek }) =>
              peek ? Promise.all([redis.peek(key, cost, now), redis.keyStats(key, now)]) : redis.consume(key, cost, now)
            ))
            group.forEach(({ cost, key, peek }, i) => {
              if (!peek) return expect(remote[i]).toEqual(memory.consume(key, cost, now))
              const [decision, stats] = remote[i] as [RateLimiter.Decision, RateLimiter.KeyStats]
              expect(decision).toEqual(memory.peek(key, cost, now))
              const local = memory.keyStats(key, now)
              expect({ ...stats, tracked: true }).toEqual({
                ...local,
                tracked: true,
                // Per-key counts are kept in memory only, and so is a bucket's rate.
                allowed: 0,
                rejected: 0,
                currentRate: algorithm.algorithm === "token-bucket" ? 0 : local.currentRate
              })
            })
            group = []
          }
          for (const s of steps) {
            if (s.elapsed > 0) {
              await flush()
              now += s.elapsed
            }
            group.push(s)
          }
          await flush()
          redis.dispose()
        }),
        { numRuns: 300 }
      )
    } finally {
      await connection.close()
    }
  })
})

// -------------------------------------------------------------------------------------
// Keys, expiry, time.

describe("RedisRateLimiterStore: options", () => {
  it.effect("rejects bad options with InvalidConfigError listing every problem", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(RedisRateLimiterStore.make({
        prefix: "a{b}",
        insuranceNodes: 0,
        onUnavailable: "ignore" as never,
        commandTimeout: -1,
        clock: "app" as never
      })))
      expect(error).toBeInstanceOf(InvalidConfigError)
      expect(error.issues.map((issue) => issue.path)).toEqual([
        "prefix",
        "clock",
        "onUnavailable",
        "insuranceNodes",
        "commandTimeout"
      ])
      expect(error.message).toContain("prefix: must not contain braces")
    }))
})

describe("RedisRateLimiterStore: keys and time", () => {
  it.scopedLive("keeps a limiter's keys under its name as a hash tag, after the prefix, expiring once whole again", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const store = yield* redisStore({ url: redisUrl, prefix, expiryMargin: "1 second" })
      const limiter = yield* RateLimiter.make({
        name: "orders",
        requestsPerSecond: 10,
        burstLimit: 5,
        global: { requestsPerSecond: 100, burstLimit: 50 }
      }).pipe(Effect.provideService(RateLimiter.RateLimiterStore, store))
      yield* limiter.allowRequest("user-1")
      const keys = yield* Effect.promise(() => raw.keys(`${prefix}*`))
      expect(keys.sort()).toEqual([`${prefix}{orders}:g`, `${prefix}{orders}:k:user-1`])
      // The key's bucket is whole again 100 ms after one request (10 per second), the
      // global one 10 ms after; each key lives that long plus the margin.
      const keyTtl = yield* Effect.promise(() => raw.pttl(`${prefix}{orders}:k:user-1`))
      expect(keyTtl).toBeGreaterThan(1000)
      expect(keyTtl).toBeLessThanOrEqual(1100)
      const globalTtl = yield* Effect.promise(() => raw.pttl(`${prefix}{orders}:g`))
      expect(globalTtl).toBeGreaterThan(900)
      expect(globalTtl).toBeLessThanOrEqual(1010)
      // A request that leaves a budget whole stores nothing.
      yield* limiter.allowRequest("user-2", 0)
      expect(yield* Effect.promise(() => raw.exists(`${prefix}{orders}:k:user-2`))).toBe(0)
    }))

  it.scopedLive("lets idle keys disappear by themselves", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const store = yield* redisStore({ url: redisUrl, prefix, expiryMargin: 0 })
      const limiter = yield* RateLimiter.make({ name: "idle", algorithm: "sliding-window", limit: 5, window: "20 millis" })
        .pipe(Effect.provideService(RateLimiter.RateLimiterStore, store))
      for (const key of ["a", "b", "c"]) yield* limiter.allowRequest(key)
      expect(yield* Effect.promise(() => raw.keys(`${prefix}*`))).toHaveLength(3)
      yield* Effect.promise(() => eventually(() => raw.keys(`${prefix}*`).then((k) => k.length === 0), "keys to expire", 2000))
    }))

  it.effect("decides with Redis TIME by default, whatever the application's clock says", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      // The TestClock stands at 0, in 1970.
      const limiter = yield* RateLimiter.make({ name: "time", requestsPerSecond: 1, burstLimit: 1 }).pipe(
        Effect.provideServiceEffect(RateLimiter.RateLimiterStore, redisStore({ url: redisUrl, prefix }))
      )
      yield* limiter.allowRequest("k")
      const tat = Number(yield* Effect.promise(() => raw.get(`${prefix}{time}:k:k`)))
      const [seconds, micros] = yield* Effect.promise(() => raw.time())
      const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
      expect(tat).toBeGreaterThan(redisNow)
      expect(tat).toBeLessThanOrEqual(redisNow + 1000)
      // Moving the application's clock an hour on refills nothing.
      yield* TestClock.adjust("1 hour")
      expect((yield* limiter.allowRequest("k")).allowed).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("decides with the limiter's Clock when asked to, so that TestClock drives it", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ name: "clock", requestsPerSecond: 10, burstLimit: 2 }).pipe(
        Effect.provideServiceEffect(
          RateLimiter.RateLimiterStore,
          redisStore({ url: redisUrl, prefix: freshPrefix(), clock: "local", expiryMargin: "1 minute" })
        )
      )
      yield* limiter.allowRequest("k", 2)
      expect(yield* limiter.allowRequest("k")).toMatchObject({ allowed: false, retryAfter: 100 })
      yield* TestClock.adjust("100 millis")
      expect(yield* limiter.allowRequest("k")).toMatchObject({ allowed: true, remaining: 0 })
    }).pipe(Effect.scoped))

  it("works on Redis Cluster: a key's budget and the global one share a slot", async () => {
    const server = await startOwnServer(["--cluster-enabled", "yes", "--cluster-announce-ip", "127.0.0.1"])
    const admin = new Redis(server.url)
    const cluster = new Cluster([{ host: "127.0.0.1", port: server.port }])
    try {
      await admin.call("cluster", "addslotsrange", "0", "16383")
      await eventually(async () => String(await admin.call("cluster", "info")).includes("cluster_state:ok"), "the cluster")
      // Without the hash tag, one script could not touch both keys.
      await expect(admin.eval("return 1", 2, "ratelimit:orders:k:u1", "ratelimit:orders:g")).rejects.toThrow(/CROSSSLOT/)
      const decisions = await Effect.runPromise(
        Effect.gen(function*() {
          const limiter = yield* RateLimiter.make({
            name: "orders",
            requestsPerSecond: 1,
            burstLimit: 2,
            global: { requestsPerSecond: 1, burstLimit: 3 }
          })
          const decide = (key: string) => Effect.map(limiter.allowRequest(key), (d) => `${d.allowed}/${d.scope}`)
          const oneByOne = yield* Effect.all([decide("u1"), decide("u1"), decide("u1"), decide("u2"), decide("u3")])
          // Concurrent decisions of several keys go to Redis as one script call.
          const together = yield* Effect.all([decide("u4"), decide("u5"), decide("u6")], { concurrency: "unbounded" })
          return [...oneByOne, ...together]
        }).pipe(Effect.provide(RedisRateLimiterStore.layer({ client: cluster })), Effect.scoped)
      )
      expect(decisions).toEqual([
        "true/key",
        "true/key",
        "false/key",
        "true/global",
        "false/global",
        "false/global",
        "false/global",
        "false/global"
      ])
      const slots = await Promise.all(
        ["ratelimit:{orders}:k:u1", "ratelimit:{orders}:g"].map((key) => admin.call("cluster", "keyslot", key))
      )
      expect(slots[0]).toBe(slots[1])
    } finally {
      cluster.disconnect()
      admin.disconnect()
      await server.dispose()
    }
  })
})

// -------------------------------------------------------------------------------------
// Sharing.

describe("RedisRateLimiterStore: one budget for many limiters", () => {
  it.scopedLive("shares a budget between limiters on separate connections, Effect and Promise alike", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const options = { name: "shared", requestsPerSecond: 0.001, burstLimit: 6 } as const
      const first = yield* RateLimiter.make(options).pipe(
        Effect.provideServiceEffect(RateLimiter.RateLimiterStore, redisStore({ url: redisUrl, prefix }))
      )
      const second = yield* RateLimiter.make(options).pipe(
        Effect.provideServiceEffect(RateLimiter.RateLimiterStore, redisStore({ url: redisUrl, prefix }))
      )
      const facade = new PromiseRateLimiter({ ...options, store: "redis", redisUrl, keyPrefix: prefix })
      yield* Effect.addFinalizer(() => Effect.promise(() => facade.close()))
      let admitted = 0
      for (let i = 0; i < 4; i++) {
        if ((yield* first.allowRequest("k")).allowed) admitted++
        if ((yield* second.allowRequest("k")).allowed) admitted++
        if (yield* Effect.promise(() => facade.allowRequest("k"))) admitted++
      }
      expect(admitted).toBe(6)
      expect(yield* Effect.promise(() => facade.keyStats("k"))).toMatchObject({ tracked: true, remaining: 0, limit: 6 })
      expect(facade.getStats()).toMatchObject({ store: "redis", storeAvailable: true, allowed: 2, rejected: 2 })
      expect(() => facade.getKeyStats("k")).toThrow(TypeError)
      const error = yield* Effect.flip(Effect.succeed("never").pipe(first.withRateLimit("k")))
      expect(error).toBeInstanceOf(RateLimitExceededError)
    }))

  it.scopedLive("waits for the budget in wait mode, polling Redis", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const limiter = yield* RateLimiter.make({ name: "wait", requestsPerSecond: 50, burstLimit: 1 }).pipe(
        Effect.provideServiceEffect(RateLimiter.RateLimiterStore, redisStore({ url: redisUrl, prefix }))
      )
      const facade = new PromiseRateLimiter({
        name: "wait",
        requestsPerSecond: 50,
        burstLimit: 1,
        store: "redis",
        redisUrl,
        keyPrefix: prefix
      })
      yield* Effect.addFinalizer(() => Effect.promise(() => facade.close()))
      const start = Date.now()
      const results = yield* Effect.all([
        Effect.succeed(1).pipe(limiter.withRateLimit("k", { mode: "wait", maxWait: "1 second" })),
        Effect.succeed(2).pipe(limiter.withRateLimit("k", { mode: "wait", maxWait: "1 second" })),
        Effect.promise(() => facade.execute("k", () => 3, { mode: "wait", maxWait: 1000 })),
        Effect.promise(() => facade.execute("k", () => 4, { mode: "wait", maxWait: 1000 }))
      ], { concurrency: "unbounded" })
      expect(results).toEqual([1, 2, 3, 4])
      // One request every 20 ms: the fourth cannot have been admitted before 60 ms.
      expect(Date.now() - start).toBeGreaterThanOrEqual(55)
      const late = yield* Effect.flip(Effect.succeed(5).pipe(limiter.withRateLimit("k", { mode: "wait", maxWait: 0 })))
      expect(late).toBeInstanceOf(RateLimitExceededError)
    }))
})

// -------------------------------------------------------------------------------------
// Outages, with a redis-server of the test's own.

describe("RedisRateLimiterStore: Redis down and back", () => {
  it.live("insurance: keeps deciding through a kill and a restart in the middle of a run, with its share of the limit", () =>
    Effect.gen(function*() {
      const server = yield* Effect.promise(() => startOwnServer())
      yield* Effect.addFinalizer(() => Effect.promise(() => server.dispose()))
      const bus = yield* PatternEvents.make()
      const seen = collect(bus)
      const limiter = yield* RateLimiter.make({ name: "insured", requestsPerSecond: 0.001, burstLimit: 40 }).pipe(
        Effect.provideService(PatternEvents.PatternEvents, bus),
        Effect.provideServiceEffect(
          RateLimiter.RateLimiterStore,
          redisStore({
            url: server.url,
            onUnavailable: "insurance",
            insuranceNodes: 4,
            redis: { retryStrategy: () => 20 }
          })
        )
      )
      const counts = { allowed: 0, rejected: 0, failed: 0 }
      // Callers keep deciding while the server goes away and comes back.
      const traffic = yield* Effect.fork(Effect.forever(
        Effect.zipRight(
          Effect.matchEffect(limiter.allowRequest("k"), {
            onFailure: () => Effect.sync(() => counts.failed++),
            onSuccess: (d) => Effect.sync(() => d.allowed ? counts.allowed++ : counts.rejected++)
          }),
          Effect.sleep("1 millis")
        )
      ))
      yield* Effect.promise(() => eventually(() => counts.allowed + counts.rejected > 50, "traffic"))
      // Shared: the Redis budget of 40 is spent.
      expect(counts.allowed).toBe(40)
      const before = counts.allowed
      yield* Effect.promise(() => server.kill())
      yield* Effect.promise(() => eventually(() => seen.tags().includes("RateLimiterStoreUnavailable"), "the outage"))
      const stats = yield* limiter.stats
      expect(stats).toMatchObject({ store: "redis", storeAvailable: false })
      yield* Effect.promise(() => eventually(() => counts.rejected > 200, "insured decisions"))
      // Alone, this process admits its share: 40 / 4.
      expect(counts.allowed - before).toBe(10)
      // The insurance share is spent: whatever is admitted from here on comes from Redis.
      const afterRestart = counts.allowed
      yield* Effect.promise(() => server.start())
      yield* Effect.promise(() => eventually(() => seen.tags().includes("RateLimiterStoreRecovered"), "recovery"))
      yield* Effect.promise(() => eventually(() => counts.allowed - afterRestart >= 40, "decisions from the new server"))
      yield* Fiber.interrupt(traffic)
      // The restarted server was empty: a whole budget of 40 again, and not one more.
      expect(counts.allowed - afterRestart).toBe(40)
      expect(counts.failed).toBe(0)
      expect(seen.tags().filter((t) => t.startsWith("RateLimiterStore"))).toEqual([
        "RateLimiterStoreUnavailable",
        "RateLimiterStoreRecovered"
      ])
      expect(seen.events.find((e) => e._tag === "RateLimiterStoreUnavailable")).toMatchObject({
        name: "insured",
        store: "redis",
        policy: "insurance"
      })
      // The restart emptied the script cache: the script was sent once, then called by SHA.
      const admin = new Redis(server.url)
      const stats2 = String(yield* Effect.promise(() => admin.info("commandstats")))
      admin.disconnect()
      expect(stats2).toMatch(/cmdstat_eval:calls=1,/)
      expect(Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats2)![1])).toBeGreaterThanOrEqual(40)
    }).pipe(Effect.scoped))

  it.live("fail-closed: fails decisions with PersistenceError while Redis is down, and recovers by itself", () =>
    Effect.gen(function*() {
      const server = yield* Effect.promise(() => startOwnServer())
      yield* Effect.addFinalizer(() => Effect.promise(() => server.dispose()))
      const bus = yield* PatternEvents.make()
      const seen = collect(bus)
      const limiter = yield* RateLimiter.make({ name: "closed", requestsPerSecond: 100 }).pipe(
        Effect.provideService(PatternEvents.PatternEvents, bus),
        Effect.provideServiceEffect(
          RateLimiter.RateLimiterStore,
          redisStore({ url: server.url, onUnavailable: "fail-closed", redis: { retryStrategy: () => 20 } })
        )
      )
      expect((yield* limiter.allowRequest("k")).allowed).toBe(true)
      yield* Effect.promise(() => server.kill())
      const error = yield* Effect.flip(limiter.allowRequest("k"))
      expect(error).toBeInstanceOf(PersistenceError)
      expect(error).toMatchObject({ store: "RedisRateLimiterStore", reason: "Unavailable", key: "k" })
      const guarded = yield* Effect.flip(Effect.succeed(1).pipe(limiter.withRateLimit("k")))
      expect(guarded._tag).toBe("PersistenceError")
      expect(seen.tags()).toEqual(["RateLimiterStoreUnavailable"])
      yield* Effect.promise(() => server.start())
      yield* Effect.promise(() => eventually(() => seen.tags().includes("RateLimiterStoreRecovered"), "recovery"))
      expect((yield* limiter.allowRequest("k")).allowed).toBe(true)
      expect(yield* limiter.stats).toMatchObject({ storeAvailable: true })
    }).pipe(Effect.scoped))

  it("fail-open (Promise API): admits while Redis is down, reports it in health, recovers by itself", async () => {
    const server = await startOwnServer()
    const seen = collect(Effect.runSync(PatternEvents.PatternEvents))
    const name = `open-${randomUUID()}`
    const limiter = new PromiseRateLimiter({
      name,
      requestsPerSecond: 0.001,
      burstLimit: 2,
      store: "redis",
      redisUrl: server.url,
      onStoreUnavailable: "fail-open"
    })
    try {
      expect([await limiter.allowRequest("k"), await limiter.allowRequest("k"), await limiter.allowRequest("k")])
        .toEqual([true, true, false])
      await server.kill()
      const during = await Promise.all(Array.from({ length: 10 }, () => limiter.allowRequest("k")))
      expect(during.every(Boolean)).toBe(true)
      expect(limiter.getStats()).toMatchObject({ storeAvailable: false })
      const { globalRegistry } = await import("../src/internal/registry.js")
      const instance = globalRegistry.list().find((i) => i.kind === "RateLimiter" && i.name === name)
      expect(instance?.health()).toEqual({
        status: "degraded",
        reasons: ["the redis store is unreachable: deciding fail-open meanwhile"]
      })
      await server.start()
      await eventually(() => limiter.getStats().storeAvailable, "recovery")
      // The restarted server starts empty: the budget of 2 is whole again.
      expect([await limiter.allowRequest("k"), await limiter.allowRequest("k"), await limiter.allowRequest("k")])
        .toEqual([true, true, false])
      const mine = seen.events.filter((e) => e.name === name).map((e) => e._tag)
      expect(mine).toEqual(["RateLimiterStoreUnavailable", "RateLimiterStoreRecovered"])
    } finally {
      seen.stop()
      await limiter.close()
      await server.dispose()
    }
  })

  it("fail-closed (Promise API): rejects with PersistenceError", async () => {
    const server = await startOwnServer()
    const limiter = new PromiseRateLimiter({ name: `closed-${randomUUID()}`, requestsPerSecond: 10, store: "redis", redisUrl: server.url })
    try {
      expect(await limiter.allowRequest("k")).toBe(true)
      await server.kill()
      await expect(limiter.allowRequest("k")).rejects.toBeInstanceOf(PersistenceError)
      await expect(limiter.execute("k", () => 1)).rejects.toMatchObject({ _tag: "PersistenceError", reason: "Unavailable" })
    } finally {
      await limiter.close()
      await server.dispose()
    }
  })

  it.scopedLive("starts without Redis and decides by policy until it comes", () =>
    Effect.gen(function*() {
      const server = yield* Effect.promise(() => startOwnServer())
      yield* Effect.addFinalizer(() => Effect.promise(() => server.dispose()))
      yield* Effect.promise(() => server.kill())
      const limiter = yield* RateLimiter.make({ name: "late", requestsPerSecond: 0.001, burstLimit: 4 }).pipe(
        Effect.provideServiceEffect(
          RateLimiter.RateLimiterStore,
          redisStore({
            url: server.url,
            onUnavailable: "insurance",
            insuranceNodes: 2,
            connectTimeout: "50 millis",
            redis: { retryStrategy: () => 20 }
          })
        )
      )
      const local = yield* Effect.forEach([1, 2, 3], () => limiter.allowRequest("k"))
      expect(local.map((d) => d.allowed)).toEqual([true, true, false])
      yield* Effect.promise(() => server.start())
      yield* Effect.promise(() => eventually(() => Effect.runSync(limiter.stats).storeAvailable, "the connection"))
      const shared = yield* Effect.forEach([1, 2, 3, 4, 5], () => limiter.allowRequest("k"))
      expect(shared.map((d) => d.allowed)).toEqual([true, true, true, true, false])
    }))
})
