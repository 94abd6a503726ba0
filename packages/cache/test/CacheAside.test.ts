import { CacheLoadError, InvalidConfigError, PersistenceError } from "@integration-patterns/core"
import * as IntegrationPatterns from "@integration-patterns/core/IntegrationPatterns"
import { cacheEvictions, cacheLoads, cacheLookups, PatternMetrics } from "@integration-patterns/core/Metrics"
import * as PatternEvents from "@integration-patterns/core/PatternEvents"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as CacheAside from "../src/CacheAside.js"
import * as CacheStore from "../src/CacheStore.js"
import * as RedisCacheStore from "../src/RedisCacheStore.js"

class NotFound {
  readonly _tag = "NotFound"
  constructor(readonly id: string) {}
}

/** A loader that counts its calls and returns `<key>#<call>`. */
const counting = () => {
  const calls: Array<string> = []
  const loader = (key: string) =>
    Effect.sync(() => {
      calls.push(key)
      return `${key}#${calls.length}`
    })
  return { calls, loader }
}

const events = (bus: PatternEvents.PatternEventsService) =>
  Effect.map(bus.subscribe, (queue) => Effect.map(Queue.takeAll(queue), (c) => Chunk.toReadonlyArray(c)))

describe("CacheAside", () => {
  describe("lookup", () => {
    it.scoped("returns the cached value on a hit without calling the loader", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "lookup", ttl: "1 minute" })
        const { calls, loader } = counting()
        expect(yield* cache.get("a", loader)).toBe("a#1")
        expect(yield* cache.get("a", loader)).toBe("a#1")
        expect(yield* cache.get("b", loader)).toBe("b#2")
        expect(calls).toEqual(["a", "b"])
        const stats = yield* cache.stats
        expect(stats).toMatchObject({ hits: 1, misses: 2, loads: 2, loadFailures: 0, size: 2, storeAvailable: true })
        expect(stats.hitRatio).toBeCloseTo(1 / 3)
      }))

    it.scoped("gives 10,000 concurrent misses of one key exactly one loader call", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "stampede", ttl: "1 minute" })
        const gate = yield* Deferred.make<void>()
        let calls = 0
        const loader = () =>
          Effect.zipRight(
            Effect.sync(() => calls++),
            Effect.as(Deferred.await(gate), "value")
          )
        const fiber = yield* Effect.fork(
          Effect.all(Array.from({ length: 10_000 }, () => cache.get("hot", loader)), { concurrency: "unbounded" })
        )
        yield* Effect.yieldNow()
        yield* Deferred.succeed(gate, undefined)
        const values = yield* Fiber.join(fiber)
        expect(calls).toBe(1)
        expect(values.length).toBe(10_000)
        expect(values.every((v) => v === "value")).toBe(true)
        expect(yield* cache.stats).toMatchObject({ misses: 10_000, loads: 1 })
      }))

    it.scoped("keeps loading for the other waiters when one waiting caller is interrupted", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "interrupt", ttl: "1 minute" })
        const loader = () => Effect.as(Effect.sleep("1 second"), "loaded")
        const first = yield* Effect.fork(cache.get("k", loader))
        const second = yield* Effect.fork(cache.get("k", loader))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(first)
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(second)).toBe("loaded")
        expect(yield* cache.get("k", () => Effect.die("not called"))).toBe("loaded")
      }))

    it.effect("interrupts a running load when its scope closes, releasing the waiters", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const cache = yield* Scope.extend(CacheAside.make({ name: "closing", ttl: "1 minute" }), scope)
        let interrupted = false
        const started = yield* Deferred.make<void>()
        const loader = () =>
          Effect.zipRight(
            Deferred.succeed(started, undefined),
            Effect.onInterrupt(Effect.never, () => Effect.sync(() => (interrupted = true)))
          )
        const waiter = yield* Effect.fork(cache.get("k", loader))
        yield* Deferred.await(started)
        yield* Scope.close(scope, Exit.void)
        const exit = yield* Fiber.await(waiter)
        expect(interrupted).toBe(true)
        expect(Exit.isInterrupted(exit)).toBe(true)
        // A lookup after the scope closed is interrupted at once instead of hanging.
        expect(Exit.isInterrupted(yield* Effect.exit(cache.get("other", loader)))).toBe(true)
      }))

    it.scoped("serves an effect through withCache, data-first and in a pipe", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "combinator", ttl: "1 minute" })
        let calls = 0
        const load = Effect.sync(() => ++calls)
        expect(yield* load.pipe(CacheAside.withCache(cache, "n"))).toBe(1)
        expect(yield* CacheAside.withCache(load, cache, "n")).toBe(1)
        expect(calls).toBe(1)
      }))
  })

  describe("loader failures", () => {
    it.scoped("fails with CacheLoadError carrying the typed cause, and does not cache it", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "failures", ttl: "1 minute" })
        let calls = 0
        const loader = (key: string) =>
          Effect.suspend(() => ++calls === 1 ? Effect.fail(new NotFound(key)) : Effect.succeed("found"))
        const error = yield* Effect.flip(cache.get("user:1", loader))
        expect(error).toBeInstanceOf(CacheLoadError)
        expect(error._tag).toBe("CacheLoadError")
        expect(error.cache).toBe("failures")
        expect(error.key).toBe("user:1")
        const cause: NotFound = error.cause
        expect(cause).toBeInstanceOf(NotFound)
        expect(cause.id).toBe("user:1")
        expect(yield* cache.get("user:1", loader)).toBe("found")
        expect(calls).toBe(2)
        expect(yield* cache.stats).toMatchObject({ loads: 1, loadFailures: 1 })
      }))

    it.scoped("keeps a loader defect a defect", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "defects", ttl: "1 minute" })
        const exit = yield* Effect.exit(cache.get("k", () => Effect.die(new Error("boom"))))
        expect(Exit.isFailure(exit) && exit.cause._tag === "Die").toBe(true)
      }))

    it.scoped("caches a failure for negativeTtl when negative caching is on", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "negative", ttl: "1 minute", negativeTtl: "5 seconds" })
        let calls = 0
        const loader = (key: string) => Effect.suspend(() => (calls++, Effect.fail(new NotFound(key))))
        const first = yield* Effect.flip(cache.get("k", loader))
        const second = yield* Effect.flip(cache.get("k", loader))
        expect(second).toBe(first)
        expect(calls).toBe(1)
        yield* TestClock.adjust("5 seconds")
        yield* Effect.flip(cache.get("k", loader))
        expect(calls).toBe(2)
        expect((yield* cache.stats).negativeHits).toBe(1)
      }))

    it.scoped("shares one failure among concurrent misses", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "shared-failure", ttl: "1 minute" })
        let calls = 0
        const loader = (key: string) =>
          Effect.zipRight(Effect.sleep("1 second"), Effect.suspend(() => (calls++, Effect.fail(new NotFound(key)))))
        const fiber = yield* Effect.fork(
          Effect.all([1, 2, 3].map(() => Effect.flip(cache.get("k", loader))), { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("1 second")
        const errors = yield* Fiber.join(fiber)
        expect(calls).toBe(1)
        expect(errors.every((e) => e === errors[0] && e.cause instanceof NotFound)).toBe(true)
      }))
  })

  describe("expiry and size", () => {
    it.scoped("reloads a key once its ttl has passed", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "ttl", ttl: "10 seconds" })
        const { calls, loader } = counting()
        yield* cache.get("k", loader)
        yield* TestClock.adjust("9999 millis")
        expect(yield* cache.get("k", loader)).toBe("k#1")
        yield* TestClock.adjust("1 millis")
        expect(yield* cache.get("k", loader)).toBe("k#2")
        expect(calls.length).toBe(2)
        expect((yield* cache.stats).evictions).toBe(1)
      }))

    it.scoped("evicts the least recently used entry beyond maxSize", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "lru", ttl: "1 minute", maxSize: 2 })
        const { calls, loader } = counting()
        yield* cache.get("a", loader)
        yield* cache.get("b", loader)
        yield* cache.get("a", loader)
        yield* cache.get("c", loader)
        expect((yield* cache.stats)).toMatchObject({ size: 2, evictions: 1 })
        yield* cache.get("a", loader)
        expect(calls).toEqual(["a", "b", "c"])
        yield* cache.get("b", loader)
        expect(calls).toEqual(["a", "b", "c", "b"])
      }))
  })

  describe("freshness", () => {
    it.scoped("serves a stale value within staleTtl and reloads it once in the background", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "swr", ttl: "10 seconds", staleTtl: "5 seconds" })
        let calls = 0
        const loader = () =>
          Effect.zipRight(Effect.sleep("1 second"), Effect.sync(() => `v${++calls}`))
        const first = yield* Effect.fork(cache.get("k", loader))
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(first)).toBe("v1")
        yield* TestClock.adjust("10 seconds")
        // stale: served at once, three times, with one reload behind them
        expect(yield* cache.get("k", loader)).toBe("v1")
        expect(yield* cache.get("k", loader)).toBe("v1")
        expect(yield* cache.get("k", loader)).toBe("v1")
        yield* TestClock.adjust("1 second")
        expect(calls).toBe(2)
        expect(yield* cache.get("k", loader)).toBe("v2")
        expect(yield* cache.stats).toMatchObject({ staleServed: 3, loads: 2 })
      }))

    it.scoped("misses once the stale window has passed too", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "swr-expired", ttl: "10 seconds", staleTtl: "5 seconds" })
        const { calls, loader } = counting()
        yield* cache.get("k", loader)
        yield* TestClock.adjust("15 seconds")
        expect(yield* cache.get("k", loader)).toBe("k#2")
        expect(calls.length).toBe(2)
        expect((yield* cache.stats).staleServed).toBe(0)
      }))

    it.scoped("refreshes a hot key ahead of expiry, so that it never misses", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "ahead", ttl: "10 seconds", refreshAhead: "2 seconds" })
        let calls = 0
        const loader = () => Effect.zipRight(Effect.sleep("500 millis"), Effect.sync(() => `v${++calls}`))
        const first = yield* Effect.fork(cache.get("hot", loader))
        yield* TestClock.adjust("500 millis")
        yield* Fiber.join(first)
        yield* TestClock.adjust("7 seconds")
        expect(yield* cache.get("hot", loader)).toBe("v1")
        expect(calls).toBe(1)
        yield* TestClock.adjust("1 second")
        // 8.5 s in: inside the refresh window; served now, reloaded behind.
        expect(yield* cache.get("hot", loader)).toBe("v1")
        expect(yield* cache.get("hot", loader)).toBe("v1")
        yield* TestClock.adjust("500 millis")
        expect(calls).toBe(2)
        yield* TestClock.adjust("2 seconds")
        // Past the first entry's expiry: the refreshed one answers without a load.
        expect(yield* cache.get("hot", loader)).toBe("v2")
        expect(yield* cache.stats).toMatchObject({ misses: 1, hits: 4, loads: 2 })
      }))

    it.scoped("does not refresh a key nobody reads in the refresh window", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "cold", ttl: "10 seconds", refreshAhead: "2 seconds" })
        const { calls, loader } = counting()
        yield* cache.get("cold", loader)
        yield* TestClock.adjust("20 seconds")
        expect(calls.length).toBe(1)
        expect(yield* cache.get("cold", loader)).toBe("cold#2")
      }))
  })

  describe("invalidation", () => {
    it.scoped("removes entries by key, by tag, by prefix and all at once", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "invalidate", ttl: "1 minute" })
        const { calls, loader } = counting()
        const load = (key: string, tags: ReadonlyArray<string> = []) => cache.get(key, loader, { tags })
        yield* load("user:42:profile", ["user:42"])
        yield* load("user:42:orders", ["user:42"])
        yield* load("user:7:profile", ["user:7"])
        yield* load("product:1")
        yield* load("product:2")

        yield* cache.invalidateTag("user:42")
        expect((yield* cache.stats).size).toBe(3)
        yield* cache.invalidate("user:7:profile")
        yield* cache.invalidatePrefix("product:")
        expect((yield* cache.stats)).toMatchObject({ size: 0, evictions: 5 })

        yield* load("a")
        yield* cache.invalidateAll
        yield* load("a")
        expect(calls.filter((k) => k === "a").length).toBe(2)
      }))

    it.scoped("takes tags from the loaded value", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "tags-fn", ttl: "1 minute" })
        const order = { id: "o1", customer: "c9" }
        yield* cache.get("order:o1", () => Effect.succeed(order), { tags: (o) => [`customer:${o.customer}`] })
        yield* cache.invalidateTag("customer:c9")
        expect((yield* cache.stats).size).toBe(0)
      }))

    it.scoped("does not store a load that was running when its key was invalidated", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "race", ttl: "1 minute" })
        const fiber = yield* Effect.fork(cache.get("k", () => Effect.as(Effect.sleep("1 second"), "old")))
        yield* Effect.yieldNow()
        yield* cache.invalidate("k")
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(fiber)).toBe("old")
        expect(yield* cache.get("k", () => Effect.succeed("new"))).toBe("new")
      }))

    it.scoped("writes through with set, and refresh replaces an entry", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "set", ttl: "1 minute" })
        yield* cache.set("k", "written", { tags: ["t"] })
        expect(yield* cache.get("k", () => Effect.die("not called"))).toBe("written")
        expect(yield* cache.refresh("k", () => Effect.succeed("refreshed"))).toBe("refreshed")
        expect(yield* cache.get("k", () => Effect.die("not called"))).toBe("refreshed")
      }))
  })

  describe("warming", () => {
    it.scoped("warms keys, counting failures without raising them", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "warm", ttl: "1 minute" })
        const result = yield* cache.warm(
          ["a", "b", "bad"],
          (key) => key === "bad" ? Effect.fail(new NotFound(key)) : Effect.succeed(key.toUpperCase())
        )
        expect(result).toEqual({ loaded: 2, failed: 1 })
        expect(yield* cache.get("a", () => Effect.die("not called"))).toBe("A")
      }))

    it.scoped("warms on a schedule, reading the key list each round", () =>
      Effect.gen(function*() {
        const cache = yield* CacheAside.make({ name: "warm-schedule", ttl: "90 seconds" })
        const loads = yield* Queue.unbounded<string>()
        let round = 0
        const keys = Effect.sync(() => [`top-${++round}`])
        const loader = (key: string) => Effect.as(Queue.offer(loads, key), `${key}!`)
        yield* cache.warmOn(Schedule.spaced("1 minute"), keys, loader)
        expect(yield* Queue.take(loads)).toBe("top-1")
        yield* TestClock.adjust("1 minute")
        expect(yield* Queue.take(loads)).toBe("top-2")
        yield* TestClock.adjust("1 minute")
        expect(yield* Queue.take(loads)).toBe("top-3")
        expect(yield* Queue.size(loads)).toBe(0)
        expect(yield* cache.get("top-3", () => Effect.die("not called"))).toBe("top-3!")
      }))
  })

  describe("stores", () => {
    const failingStore = (
      failure: PersistenceError,
      state: { down: boolean; sets: number }
    ): CacheStore.CacheStoreService => ({
      backend: "redis",
      open: () =>
        Effect.succeed({
          remote: true,
          local: undefined,
          get: () => state.down ? Effect.fail(failure) : Effect.succeed(undefined),
          set: () => state.down ? Effect.fail(failure) : Effect.sync(() => void state.sets++),
          invalidate: () => state.down ? Effect.fail(failure) : Effect.succeed(0),
          available: () => !state.down,
          size: () => 0
        })
    })
    const outage = new PersistenceError({ store: "test", reason: "Unavailable", detail: "connection refused" })

    it.scoped("calls the loader when the store is unavailable, reports it, and recovers", () =>
      Effect.gen(function*() {
        const bus = yield* PatternEvents.make()
        const state = { down: true, sets: 0 }
        const cache = yield* CacheAside.make({ name: "fail-open", ttl: "1 minute", store: failingStore(outage, state) })
          .pipe(Effect.provideService(PatternEvents.PatternEvents, bus))
        const drain = yield* events(bus)
        const entry = (yield* IntegrationPatterns.instances).find((i) => i.name === "fail-open")!
        expect(yield* cache.get("k", () => Effect.succeed("loaded"))).toBe("loaded")
        expect(yield* cache.get("k", () => Effect.succeed("loaded"))).toBe("loaded")
        expect(entry.health().status).toBe("degraded")
        expect((yield* cache.stats)).toMatchObject({ storeAvailable: false, loads: 2 })
        state.down = false
        expect(yield* cache.get("k", () => Effect.succeed("loaded"))).toBe("loaded")
        expect(state.sets).toBe(1)
        expect(entry.health().status).toBe("healthy")
        const tags = (yield* drain).map((e) => e._tag)
        expect(tags.filter((t) => t === "CacheStoreUnavailable").length).toBe(1)
        expect(tags.filter((t) => t === "CacheStoreRecovered").length).toBe(1)
      }))

    it.scoped("fails a miss with PersistenceError when fail-closed and the store is unavailable", () =>
      Effect.gen(function*() {
        const state = { down: true, sets: 0 }
        const cache = yield* CacheAside.make({
          name: "fail-closed",
          ttl: "1 minute",
          store: failingStore(outage, state),
          onStoreUnavailable: "fail-closed"
        })
        let calls = 0
        const error = yield* Effect.flip(cache.get("k", () => Effect.sync(() => ++calls)))
        expect(error).toBeInstanceOf(PersistenceError)
        expect(calls).toBe(0)
      }))

    it.scoped("counts an undecodable entry as a miss and publishes an event", () =>
      Effect.gen(function*() {
        const bus = yield* PatternEvents.make()
        const corrupt = new PersistenceError({ store: "test", reason: "Decode", key: "k", detail: "bad json" })
        const cache = yield* CacheAside.make({
          name: "decode",
          ttl: "1 minute",
          store: failingStore(corrupt, { down: true, sets: 0 })
        }).pipe(Effect.provideService(PatternEvents.PatternEvents, bus))
        const drain = yield* events(bus)
        expect(yield* cache.get("k", () => Effect.succeed("reloaded"))).toBe("reloaded")
        expect(yield* cache.stats).toMatchObject({ decodeErrors: 1, misses: 1 })
        expect((yield* drain).map((e) => e._tag)).toContain("CacheDecodeFailed")
      }))

    it.effect("takes the store from the CacheStore service", () =>
      Effect.gen(function*() {
        const state = { down: false, sets: 0 }
        const store = Layer.succeed(CacheStore.CacheStore, failingStore(outage, state))
        yield* Effect.scoped(
          Effect.flatMap(CacheAside.make({ name: "from-layer", ttl: "1 minute" }), (cache) =>
            cache.get("k", () => Effect.succeed(1)))
        ).pipe(Effect.provide(store))
        expect(state.sets).toBe(1)
      }))
  })

  describe("telemetry", () => {
    it.scoped("publishes misses, loads, failures and invalidations, and nothing for hits", () =>
      Effect.gen(function*() {
        const bus = yield* PatternEvents.make()
        const cache = yield* CacheAside.make({ name: "events", ttl: "1 minute" }).pipe(
          Effect.provideService(PatternEvents.PatternEvents, bus)
        )
        const drain = yield* events(bus)
        yield* cache.get("k", () => Effect.succeed(1))
        yield* cache.get("k", () => Effect.succeed(1))
        yield* Effect.flip(cache.get("bad", () => Effect.fail(new NotFound("bad"))))
        yield* cache.invalidate("k")
        const seen = yield* drain
        expect(seen.map((e) => e._tag)).toEqual([
          "CacheMiss",
          "CacheLoaded",
          "CacheMiss",
          "CacheLoadFailed",
          "CacheInvalidated"
        ])
        expect(seen.every((e) => e.pattern === "CacheAside" && e.name === "events")).toBe(true)
        expect(seen[4]).toMatchObject({ target: "Key", value: "k", removed: 1, origin: "local" })
      }))

    it.scoped("records lookups, loads and evictions in the shared metrics", () =>
      Effect.gen(function*() {
        const tags = new PatternMetrics("CacheAside", "metrics")
        const read = (metric: Metric.Metric.Counter<number>, labels: ReturnType<typeof tags.outcome>) =>
          Effect.map(Metric.value(Metric.taggedWithLabels(metric, labels)), (state) => state.count)
        const cache = yield* CacheAside.make({ name: "metrics", ttl: "1 minute", maxSize: 1 })
        yield* cache.get("a", () => Effect.succeed(1))
        yield* cache.get("a", () => Effect.succeed(1))
        yield* cache.get("b", () => Effect.succeed(2))
        yield* Effect.flip(cache.get("c", () => Effect.fail(new NotFound("c"))))
        expect(yield* read(cacheLookups, tags.outcome("hit"))).toBe(1)
        expect(yield* read(cacheLookups, tags.outcome("miss"))).toBe(3)
        expect(yield* read(cacheLoads, tags.outcome("success"))).toBe(2)
        expect(yield* read(cacheLoads, tags.outcome("failure"))).toBe(1)
        expect(yield* read(cacheEvictions, tags.reason("size"))).toBe(1)
      }))

    it.effect("registers while its scope is open", () =>
      Effect.gen(function*() {
        const registered = yield* Effect.scoped(
          Effect.zipRight(CacheAside.make({ name: "registry", ttl: "1 minute" }), IntegrationPatterns.instances)
        )
        const entry = registered.find((i) => i.kind === "CacheAside" && i.name === "registry")
        expect(entry?.health()).toEqual({ status: "healthy", reasons: [] })
        expect(entry?.stats()).toMatchObject({ hits: 0, misses: 0 })
        const after = yield* IntegrationPatterns.instances
        expect(after.some((i) => i.name === "registry")).toBe(false)
      }))
  })

  describe("options", () => {
    it.effect("rejects bad options, listing every problem", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.scoped(CacheAside.make({
          name: "",
          ttl: -1,
          maxSize: 0,
          staleTtl: "forever",
          ttlSeconds: 3
        } as never)))
        expect(error).toBeInstanceOf(InvalidConfigError)
        expect(error.issues.map((i) => i.path).sort()).toEqual(["maxSize", "name", "staleTtl", "ttl", "ttlSeconds"])
        expect(error.message).toContain("Invalid CacheAside options (5 problems)")
      }))

    it.effect("rejects a refreshAhead that is not shorter than ttl, and an infinite ttl", () =>
      Effect.gen(function*() {
        const ahead = yield* Effect.flip(
          Effect.scoped(CacheAside.make({ name: "x", ttl: "1 second", refreshAhead: "1 second" }))
        )
        expect(ahead.issues).toEqual([{ path: "refreshAhead", message: "must be shorter than ttl" }])
        const infinite = yield* Effect.flip(Effect.scoped(CacheAside.make({ name: "x", ttl: Duration.infinity })))
        expect(infinite.issues).toEqual([{ path: "ttl", message: "must be finite" }])
      }))

    it.effect("provides the default service from a Layer", () =>
      Effect.gen(function*() {
        const value = yield* Effect.flatMap(CacheAside.CacheAside, (cache) => cache.get("k", () => Effect.succeed(7)))
          .pipe(Effect.provide(CacheAside.layer({ name: "layer", ttl: "1 minute" })))
        expect(value).toBe(7)
      }))

    it.effect("reads its options from Config", () =>
      Effect.gen(function*() {
        const config = Config.all({ name: Config.string("CACHE_NAME"), ttl: Config.duration("CACHE_TTL") })
        const provider = ConfigProvider.fromMap(new Map([["CACHE_NAME", "from-config"], ["CACHE_TTL", "10 seconds"]]))
        const cache = yield* CacheAside.CacheAside.pipe(
          Effect.provide(CacheAside.layerConfig(config)),
          Effect.withConfigProvider(provider)
        )
        expect(cache.name).toBe("from-config")
        const missing = yield* Effect.flip(
          CacheAside.CacheAside.pipe(
            Effect.provide(CacheAside.layerConfig(config)),
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
          )
        )
        expect(ConfigError.isConfigError(missing)).toBe(true)
      }))

    it.effect("rejects bad Redis store options before connecting", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.scoped(RedisCacheStore.make({
          prefix: 1,
          commandTimeout: -5,
          twoLevels: true
        } as never)))
        expect(error).toBeInstanceOf(InvalidConfigError)
        expect(error.issues.map((i) => i.path).sort()).toEqual(["commandTimeout", "prefix", "twoLevels"])
      }))

    it.effect("serves a typed cache through a tag of its own", () =>
      Effect.gen(function*() {
        interface User {
          readonly id: string
        }
        const Users = Context.GenericTag<CacheAside.CacheAside<User>>("test/Users")
        const user = yield* Effect.flatMap(Users, (cache) => cache.get("u1", (id) => Effect.succeed({ id })))
          .pipe(Effect.provide(Layer.scoped(Users, CacheAside.make<User>({ name: "users", ttl: "1 minute" }))))
        expect(user.id).toBe("u1")
      }))
  })
})
