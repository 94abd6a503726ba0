import { PersistenceError } from "@integration-patterns/core"
import * as PatternEvents from "@integration-patterns/core/PatternEvents"
import { required, startOwnServer } from "@integration-patterns/testkit/redisServer"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import * as CacheAside from "../src/CacheAside.js"
import type { CacheStoreService } from "../src/CacheStore.js"
import { CacheAside as PromiseCacheAside } from "../src/promise/index.js"
import * as RedisCacheStore from "../src/RedisCacheStore.js"

const redisUrl = required("REDIS_URL")
const redisServerBin = required("REDIS_SERVER_BIN")

const raw = new Redis(redisUrl)
afterAll(() => raw.quit())

/** Keys of one test, apart from every other test's and run's. */
const freshPrefix = () => `it:${randomUUID()}:`

const eventually = (check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Effect.Effect<void> =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (!(yield* Effect.promise(async () => check()))) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep("10 millis")
    }
  })

const subscribe = (bus: PatternEvents.PatternEventsService) =>
  Effect.map(bus.subscribe, (queue) => Effect.map(Queue.takeAll(queue), (c) => Chunk.toReadonlyArray(c)))

const notCalled = <A>(): Effect.Effect<A> => Effect.die(new Error("the loader was called"))

const store = (options: RedisCacheStore.Options): Effect.Effect<CacheStoreService, never, Scope.Scope> =>
  Effect.orDie(RedisCacheStore.make(options))

describe("RedisCacheStore", () => {
  it.scopedLive("stores entries in Redis under the prefix, with the entry's lifetime as the key's TTL", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const shared = yield* store({ url: redisUrl, prefix })
      const cache = yield* CacheAside.make({ name: "users", ttl: "10 seconds", staleTtl: "5 seconds", store: shared })
      expect(yield* cache.get("u1", (key) => Effect.succeed({ id: key, visits: 3 }))).toEqual({ id: "u1", visits: 3 })
      const ttl = yield* Effect.promise(() => raw.pttl(`${prefix}users:v:u1`))
      expect(ttl).toBeGreaterThan(14_000)
      expect(ttl).toBeLessThanOrEqual(15_000)

      // Another process with a cache of the same name reads the same entry.
      const otherStore = yield* store({ url: redisUrl, prefix })
      const other = yield* CacheAside.make({ name: "users", ttl: "10 seconds", store: otherStore })
      expect(yield* other.get("u1", notCalled)).toEqual({ id: "u1", visits: 3 })
      expect(yield* other.stats).toMatchObject({ hits: 1, misses: 0, loads: 0 })
      // A cache of another name does not.
      const products = yield* CacheAside.make({ name: "products", ttl: "10 seconds", store: shared })
      expect(yield* products.get("u1", () => Effect.succeed("product"))).toBe("product")
    }))

  it.scopedLive("encodes values with the cache's schema", () =>
    Effect.gen(function*() {
      const Order = Schema.Struct({ id: Schema.String, placedAt: Schema.Date, total: Schema.BigInt })
      const cache = yield* CacheAside.make({
        name: "orders",
        ttl: "1 minute",
        schema: Order,
        store: yield* store({ url: redisUrl, prefix: freshPrefix() })
      })
      const order = { id: "o1", placedAt: new Date("2024-05-01T10:00:00Z"), total: 12_345_678_901_234_567_890n }
      yield* cache.set("o1", order)
      const read = yield* cache.get("o1", notCalled)
      expect(read.placedAt).toBeInstanceOf(Date)
      expect(read).toEqual(order)
    }))

  it.scopedLive("fails set with a typed Encode error, and a lookup still returns its loaded value", () =>
    Effect.gen(function*() {
      const bus = yield* PatternEvents.make()
      const cache = yield* CacheAside.make({
        name: "codes",
        ttl: "1 minute",
        schema: Schema.String.pipe(Schema.maxLength(3)),
        store: yield* store({ url: redisUrl, prefix: freshPrefix() })
      }).pipe(Effect.provideService(PatternEvents.PatternEvents, bus))
      const drain = yield* subscribe(bus)
      const error = yield* Effect.flip(cache.set("k", "too long"))
      expect(error).toBeInstanceOf(PersistenceError)
      expect(error.reason).toBe("Encode")
      expect(error.key).toBe("k")
      expect(yield* cache.get("k", () => Effect.succeed("too long"))).toBe("too long")
      expect((yield* drain).map((e) => e._tag)).toContain("CacheEncodeFailed")

      const json = yield* CacheAside.make({
        name: "json",
        ttl: "1 minute",
        store: yield* store({ url: redisUrl, prefix: freshPrefix() })
      })
      expect((yield* Effect.flip(json.set("big", 1n))).reason).toBe("Encode")
    }))

  it.scopedLive("counts an undecodable stored entry as a miss with an event, and replaces it", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const bus = yield* PatternEvents.make()
      const cache = yield* CacheAside.make({
        name: "corrupt",
        ttl: "1 minute",
        schema: Schema.Struct({ n: Schema.Number }),
        store: yield* store({ url: redisUrl, prefix })
      }).pipe(Effect.provideService(PatternEvents.PatternEvents, bus))
      const drain = yield* subscribe(bus)
      yield* Effect.promise(() => raw.set(`${prefix}corrupt:v:a`, "{not json"))
      const wrongShape = JSON.stringify({ v: { n: "NaN?" }, t: [], r: 0, f: 0, s: 0 })
      yield* Effect.promise(() => raw.set(`${prefix}corrupt:v:b`, wrongShape))
      expect(yield* cache.get("a", () => Effect.succeed({ n: 1 }))).toEqual({ n: 1 })
      expect(yield* cache.get("b", () => Effect.succeed({ n: 2 }))).toEqual({ n: 2 })
      expect(yield* cache.stats).toMatchObject({ decodeErrors: 2, misses: 2, loads: 2 })
      const decodeEvents = (yield* drain).filter((e) => e._tag === "CacheDecodeFailed")
      expect(decodeEvents.length).toBe(2)
      expect(yield* cache.get("a", notCalled)).toEqual({ n: 1 })
    }))

  it.scopedLive("invalidates by key, tag and prefix in Redis", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const shared = yield* store({ url: redisUrl, prefix })
      const cache = yield* CacheAside.make({ name: "inv", ttl: "1 minute", store: shared })
      const base = `${prefix}inv:v:`
      const keys = () =>
        Effect.promise(() => raw.keys(`${base}*`).then((k) => k.map((s) => s.slice(base.length)).sort()))
      yield* cache.get("user:42:profile", () => Effect.succeed(1), { tags: ["user:42"] })
      yield* cache.get("user:42:orders", () => Effect.succeed(2), { tags: ["user:42"] })
      yield* cache.get("user:7:profile", () => Effect.succeed(3), { tags: ["user:7"] })
      yield* cache.get("product:[1]", () => Effect.succeed(4))
      yield* cache.get("product:2", () => Effect.succeed(5))
      yield* cache.get("other", () => Effect.succeed(6))
      yield* cache.invalidateTag("user:42")
      expect(yield* keys()).toEqual(["other", "product:2", "product:[1]", "user:7:profile"])
      yield* cache.invalidatePrefix("product:[")
      expect(yield* keys()).toEqual(["other", "product:2", "user:7:profile"])
      yield* cache.invalidate("other")
      expect(yield* keys()).toEqual(["product:2", "user:7:profile"])
      yield* cache.invalidateAll
      expect(yield* Effect.promise(() => raw.keys(`${prefix}*`))).toEqual([])
      expect((yield* cache.stats).evictions).toBe(6)
    }))

  it.scopedLive("gives 10,000 concurrent misses of one key one loader call through Redis", () =>
    Effect.gen(function*() {
      const cache = yield* CacheAside.make({
        name: "stampede",
        ttl: "1 minute",
        store: yield* store({ url: redisUrl, prefix: freshPrefix() })
      })
      let calls = 0
      const loader = () => Effect.zipRight(Effect.sleep("20 millis"), Effect.sync(() => ++calls))
      const values = yield* Effect.all(Array.from({ length: 10_000 }, () => cache.get("hot", loader)), {
        concurrency: "unbounded"
      })
      expect(calls).toBe(1)
      expect(values.every((v) => v === 1)).toBe(true)
    }))
})

describe("two-level store", () => {
  it.scopedLive("an invalidation on one node reaches the other node's memory copy through pub/sub", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const busB = yield* PatternEvents.make()
      const nodeA = yield* CacheAside.make({
        name: "profiles",
        ttl: "1 minute",
        store: yield* store({ url: redisUrl, prefix, twoLevel: true })
      })
      const nodeB = yield* CacheAside.make({
        name: "profiles",
        ttl: "1 minute",
        store: yield* store({ url: redisUrl, prefix, twoLevel: true })
      }).pipe(Effect.provideService(PatternEvents.PatternEvents, busB))
      const drainB = yield* subscribe(busB)

      expect(yield* nodeA.get("p1", () => Effect.succeed("v1"), { tags: ["team:red"] })).toBe("v1")
      // A's write is announced to B (which holds no copy yet).
      const seen: Array<PatternEvents.PatternEvent> = []
      const remoteOnB = (removed: number) => () => {
        seen.push(...Effect.runSync(drainB))
        return seen.some((e) => e._tag === "CacheInvalidated" && e.origin === "remote" && e.removed === removed)
      }
      yield* eventually(remoteOnB(0), "A's write to be announced to B")
      // B finds the entry in Redis and keeps a memory copy.
      expect(yield* nodeB.get("p1", notCalled)).toBe("v1")
      expect((yield* nodeB.stats).size).toBe(1)
      // B's copy now answers even without Redis in the loop.
      yield* Effect.promise(() => raw.del(`${prefix}profiles:v:p1`))
      expect(yield* nodeB.get("p1", notCalled)).toBe("v1")

      yield* nodeA.invalidate("p1")
      yield* eventually(remoteOnB(1), "A's invalidation to reach B")
      expect((yield* nodeB.stats).size).toBe(0)
      const remote = seen.find((e) => e._tag === "CacheInvalidated" && e.removed === 1)
      expect(remote).toMatchObject({ target: "Key", value: "p1", origin: "remote" })
      expect(yield* nodeB.get("p1", () => Effect.succeed("v2"))).toBe("v2")

      // A write on B (the load of v2) dropped A's copy too: A reads v2 from Redis.
      expect(yield* nodeA.get("p1", notCalled)).toBe("v2")
    }))

  it.scopedLive("tag and prefix invalidations reach the other node too", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const node = Effect.flatMap(
        store({ url: redisUrl, prefix, twoLevel: true }),
        (shared) => CacheAside.make({ name: "teams", ttl: "1 minute", store: shared })
      )
      const nodeA = yield* node
      const nodeB = yield* node
      for (const key of ["a:1", "a:2", "b:1"]) {
        yield* nodeB.get(key, () => Effect.succeed(key), { tags: key === "a:1" ? ["red"] : [] })
      }
      expect((yield* nodeB.stats).size).toBe(3)
      yield* nodeA.invalidateTag("red")
      yield* eventually(() => Effect.runSync(nodeB.stats).size === 2, "the tag invalidation")
      yield* nodeA.invalidatePrefix("a:")
      yield* eventually(() => Effect.runSync(nodeB.stats).size === 1, "the prefix invalidation")
      yield* nodeA.invalidateAll
      yield* eventually(() => Effect.runSync(nodeB.stats).size === 0, "the invalidation of everything")
    }))
})

// -------------------------------------------------------------------------------------
// A Redis server of this test's own, to stop and restart.

const ownServer = Effect.gen(function*() {
  const server = yield* Effect.acquireRelease(
    Effect.promise(() => startOwnServer([], redisServerBin)),
    (own) => Effect.promise(own.dispose)
  )
  return {
    url: server.url,
    stop: Effect.promise(server.kill),
    restart: Effect.promise(server.start)
  }
})

describe("Redis down and back", () => {
  it.scopedLive("falls back to the loader while Redis is down, reports it, and recovers by itself", () =>
    Effect.gen(function*() {
      const server = yield* ownServer
      const bus = yield* PatternEvents.make()
      const cache = yield* CacheAside.make({
        name: "outage",
        ttl: "1 minute",
        store: yield* store({ url: server.url, prefix: "outage:", redis: { retryStrategy: () => 50 } })
      }).pipe(Effect.provideService(PatternEvents.PatternEvents, bus))
      const drain = yield* subscribe(bus)
      const stats = () => Effect.runSync(cache.stats)
      let calls = 0
      const loader = (key: string) => Effect.sync(() => `${key}#${++calls}`)

      expect(yield* cache.get("before", loader)).toBe("before#1")
      yield* server.stop
      yield* eventually(() => !stats().storeAvailable, "the store to notice the outage")

      // Every lookup still answers, from the loader.
      expect(yield* cache.get("before", loader)).toBe("before#2")
      expect(yield* cache.get("during", loader)).toBe("during#3")
      expect(yield* cache.get("during", loader)).toBe("during#4")
      expect(stats().storeErrors).toBeGreaterThan(0)
      const degraded = (yield* drain).map((e) => e._tag)
      expect(degraded.filter((t) => t === "CacheStoreUnavailable").length).toBe(1)

      yield* server.restart
      yield* eventually(() => stats().storeAvailable, "the client to reconnect")
      expect(yield* cache.get("after", loader)).toBe("after#5")
      expect(yield* cache.get("after", loader)).toBe("after#5")
      expect((yield* drain).map((e) => e._tag)).toContain("CacheStoreRecovered")
    }))

  it.scopedLive("fails a miss with PersistenceError while Redis is down when fail-closed", () =>
    Effect.gen(function*() {
      const server = yield* ownServer
      const cache = yield* CacheAside.make({
        name: "closed",
        ttl: "1 minute",
        onStoreUnavailable: "fail-closed",
        store: yield* store({ url: server.url, redis: { retryStrategy: () => 50 } })
      })
      yield* server.stop
      yield* eventually(() => !Effect.runSync(cache.stats).storeAvailable, "the store to notice the outage")
      let calls = 0
      const error = yield* Effect.flip(cache.get("k", () => Effect.sync(() => ++calls)))
      expect(error).toBeInstanceOf(PersistenceError)
      expect(error._tag === "PersistenceError" && error.reason).toBe("Unavailable")
      expect(calls).toBe(0)
      yield* server.restart
      yield* eventually(() => Effect.runSync(cache.stats).storeAvailable, "the client to reconnect")
      expect(yield* cache.get("k", () => Effect.sync(() => ++calls))).toBe(1)
    }))

  it.scopedLive("keeps serving a two-level node's memory copies while Redis is down, and drops them on reconnect", () =>
    Effect.gen(function*() {
      const server = yield* ownServer
      const cache = yield* CacheAside.make({
        name: "l1",
        ttl: "1 minute",
        store: yield* store({ url: server.url, twoLevel: true, redis: { retryStrategy: () => 50 } })
      })
      yield* cache.get("k", () => Effect.succeed("v1"))
      yield* server.stop
      yield* eventually(() => !Effect.runSync(cache.stats).storeAvailable, "the store to notice the outage")
      expect(yield* cache.get("k", notCalled)).toBe("v1")
      yield* server.restart
      // The restarted server is empty and this node may have missed invalidations.
      yield* eventually(() => Effect.runSync(cache.stats).size === 0, "the memory copies to be dropped")
      expect(yield* cache.get("k", () => Effect.succeed("v2"))).toBe("v2")
    }))
})

describe("CacheAside (Promise API) on Redis", () => {
  it("uses REDIS_URL, stores in Redis and invalidates there", async () => {
    const prefix = freshPrefix()
    const a = new PromiseCacheAside<string>({ name: "facade", ttl: 60, storage: "redis", keyPrefix: prefix })
    const b = new PromiseCacheAside<string>({ name: "facade", ttl: 60, storage: "redis", keyPrefix: prefix })
    try {
      expect(await a.get("k", async () => "v1")).toBe("v1")
      expect(await raw.pttl(`${prefix}facade:v:k`)).toBeGreaterThan(59_000)
      expect(await b.get("k", () => Promise.reject(new Error("not called")))).toBe("v1")
      await b.invalidate("k")
      expect(await a.get("k", async () => "v2")).toBe("v2")
      expect(a.getStats()).toMatchObject({ misses: 2, loads: 2, storeAvailable: true })
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})
