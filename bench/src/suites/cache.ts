import { CacheAside } from "@integration-patterns/cache"
import * as Cache from "effect/Cache"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { LRUCache } from "lru-cache"
import { measure, measureWall, type Row, type Suite } from "../harness.js"

// cache.hit: a fresh entry read through each cache. lru-cache is read synchronously;
// `baseline.in-fiber` is that same read as one in-fiber step, the floor an Effect
// cache is measured against (target: <= 2x). Every cache holds 1,000 keys with a TTL.
//
// cache.stampede: 10,000 concurrent misses of one key; `count` is the number of loader
// calls (the target is exactly 1), `wallMs` the time until every caller has its value.

const keys = Array.from({ length: 1_000 }, (_, i) => `key:${i}`)
const hot = "key:500"

const hit: Suite = {
  name: "cache.hit",
  run: async (ctx) => {
    const lru = new LRUCache<string, { readonly id: string }>({ max: 10_000, ttl: 60_000 })
    for (const key of keys) lru.set(key, { id: key })

    const effectCache = await Effect.runPromise(
      Cache.make({ capacity: 10_000, timeToLive: "1 minute", lookup: (key: string) => Effect.succeed({ id: key }) })
    )
    await Effect.runPromise(Effect.forEach(keys, (key) => effectCache.get(key), { discard: true }))

    const scope = Effect.runSync(Scope.make())
    const cache = Effect.runSync(Scope.extend(CacheAside.make({ name: "bench.hit", ttl: "1 minute" }), scope))
    const loader = (key: string) => Effect.succeed({ id: key })
    await Effect.runPromise(Effect.forEach(keys, (key) => cache.get(key, loader), { discard: true }))

    let sink: unknown
    try {
      return await measure("cache.hit", [
        { impl: "lru-cache", kind: "sync", fn: () => (sink = lru.get(hot)) },
        { impl: "baseline.in-fiber", kind: "effect", effect: Effect.sync(() => lru.get(hot)) },
        { impl: "effect.cache", kind: "effect", effect: effectCache.get(hot) },
        { impl: "integration-patterns", kind: "effect", effect: cache.get(hot, loader) }
      ], ctx)
    } finally {
      if (sink === undefined) throw new Error("lru-cache lost its entry")
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

const stampede: Suite = {
  name: "cache.stampede",
  run: async (ctx) => {
    const callers = ctx.quick ? 100 : 10_000
    const rows: Array<Row> = []
    const note = `${callers.toLocaleString("en-US")} concurrent misses; count = loader calls in the last round`
    let round = 0

    {
      const scope = Effect.runSync(Scope.make())
      const cache = Effect.runSync(Scope.extend(CacheAside.make({ name: "bench.stampede", ttl: "1 minute" }), scope))
      let calls = 0
      const loader = (key: string) =>
        Effect.zipRight(Effect.sleep("1 millis"), Effect.sync(() => ({ key, n: ++calls })))
      const row = await measureWall("cache.stampede", "integration-patterns", () => {
        const key = `k${round++}`
        calls = 0
        return Effect.runPromise(
          Effect.all(Array.from({ length: callers }, () => cache.get(key, loader)), { concurrency: "unbounded" })
        )
      }, ctx)
      rows.push({ ...row, count: calls, note })
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }

    {
      let calls = 0
      const effectCache = await Effect.runPromise(
        Cache.make({
          capacity: 10_000,
          timeToLive: "1 minute",
          lookup: (key: string) => Effect.zipRight(Effect.sleep("1 millis"), Effect.sync(() => ({ key, n: ++calls })))
        })
      )
      const row = await measureWall("cache.stampede", "effect.cache", () => {
        const key = `k${round++}`
        calls = 0
        return Effect.runPromise(
          Effect.all(Array.from({ length: callers }, () => effectCache.get(key)), { concurrency: "unbounded" })
        )
      }, ctx)
      rows.push({ ...row, count: calls, note })
    }

    {
      let calls = 0
      const lru = new LRUCache<string, { readonly key: string; readonly n: number }>({
        max: 10_000,
        ttl: 60_000,
        fetchMethod: async (key) => {
          calls++
          await new Promise((resolve) => setTimeout(resolve, 1))
          return { key, n: calls }
        }
      })
      const row = await measureWall("cache.stampede", "lru-cache", () => {
        const key = `k${round++}`
        calls = 0
        return Promise.all(Array.from({ length: callers }, () => lru.fetch(key)))
      }, ctx)
      rows.push({ ...row, count: calls, note: `${note}; lru-cache fetch()` })
    }
    return rows
  }
}

const suites: ReadonlyArray<Suite> = [hit, stampede]

export default suites
