import { globalRegistry } from "@integration-patterns/core/internal/registry"
import { afterEach, describe, expect, it } from "vitest"
import { CacheAside, CacheLoadError, InvalidConfigError } from "../../src/promise/index.js"

const open: Array<CacheAside<any>> = []
const track = <T>(cache: CacheAside<T>): CacheAside<T> => {
  open.push(cache)
  return cache
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((cache) => cache.close()))
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("CacheAside (Promise API)", () => {
  it("answers a hit from memory and loads a miss once", async () => {
    const cache = track(new CacheAside<string>({ ttl: 3600, maxSize: 1000 }))
    let calls = 0
    const loader = async (key: string) => `${key}#${++calls}`
    expect(await cache.get("a", loader)).toBe("a#1")
    expect(await cache.get("a", loader)).toBe("a#1")
    expect(calls).toBe(1)
    expect(cache.getStats()).toMatchObject({ hits: 1, misses: 1, loads: 1, hitRatio: 0.5, size: 1 })
  })

  it("gives 10,000 concurrent misses of one key one loader call", async () => {
    const cache = track(new CacheAside<number>({ name: "facade-stampede", ttl: 60 }))
    let calls = 0
    const loader = async () => {
      calls++
      await sleep(5)
      return 42
    }
    const values = await Promise.all(Array.from({ length: 10_000 }, () => cache.get("hot", loader)))
    expect(calls).toBe(1)
    expect(values.every((v) => v === 42)).toBe(true)
  })

  it("rejects with CacheLoadError carrying the loader's error, and does not cache it", async () => {
    const cache = track(new CacheAside({ name: "facade-failures", ttl: 60 }))
    const boom = new Error("db down")
    const error = await cache.get("k", () => Promise.reject(boom)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CacheLoadError)
    expect((error as CacheLoadError).name).toBe("CacheLoadError")
    expect((error as CacheLoadError).cause).toBe(boom)
    expect(await cache.get("k", async () => "recovered")).toBe("recovered")
    expect(cache.getStats()).toMatchObject({ loads: 1, loadFailures: 1 })
  })

  it("takes ttl in seconds", async () => {
    const cache = track(new CacheAside<string>({ name: "facade-ttl", ttl: 0.02 }))
    let calls = 0
    const loader = async () => `v${++calls}`
    await cache.get("k", loader)
    expect(await cache.get("k", loader)).toBe("v1")
    await sleep(30)
    expect(await cache.get("k", loader)).toBe("v2")
  })

  it("invalidates by key, tag and prefix", async () => {
    const cache = track(new CacheAside<string>({ name: "facade-invalidate", ttl: 60 }))
    await cache.get("user:1", async () => "u1", { tags: ["team:a"] })
    await cache.get("user:2", async () => "u2", { tags: ["team:a"] })
    await cache.get("order:1", async () => "o1")
    await cache.get("misc", async () => "m")
    await cache.invalidate("misc")
    await cache.invalidateTag("team:a")
    await cache.invalidatePrefix("order:")
    expect(cache.getStats()).toMatchObject({ size: 0, evictions: 4 })
    expect(await cache.get("user:1", async () => "fresh")).toBe("fresh")
  })

  it("warms keys, and set writes through", async () => {
    const cache = track(new CacheAside<string>({ name: "facade-warm", ttl: 60 }))
    expect(await cache.warm(["a", "b"], async (key) => key.toUpperCase())).toEqual({ loaded: 2, failed: 0 })
    await cache.set("c", "C")
    const never = () => Promise.reject(new Error("not called"))
    expect([await cache.get("a", never), await cache.get("c", never)]).toEqual(["A", "C"])
  })

  it("throws InvalidConfigError from the constructor, listing every problem", () => {
    let thrown: unknown
    try {
      new CacheAside({ ttl: -1, maxSize: 0, storage: "disk", ttlMs: 5 } as never)
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(InvalidConfigError)
    const error = thrown as InvalidConfigError
    expect(error.issues.map((i) => i.path).sort()).toEqual(["maxSize", "storage", "ttl", "ttlMs"])
    expect(error.message).toContain("ttl: expected a finite number of seconds greater than 0, got -1")
  })

  it("requires a Redis URL for Redis storage when REDIS_URL is not set", () => {
    const saved = process.env.REDIS_URL
    delete process.env.REDIS_URL
    try {
      expect(() => new CacheAside({ ttl: 60, storage: "redis", refreshAhead: 60 })).toThrow(
        "Invalid CacheAside options (2 problems):\n" +
          "  - refreshAhead: must be shorter than ttl\n" +
          "  - redisUrl: is required for storage \"redis\" when REDIS_URL is not set"
      )
    } finally {
      if (saved !== undefined) process.env.REDIS_URL = saved
    }
  })

  it("registers in the process-wide registry", async () => {
    const cache = track(new CacheAside({ name: "facade-registry", ttl: 60 }))
    await cache.get("k", async () => 1)
    const entry = globalRegistry.list().find((i) => i.name === "facade-registry")
    expect(entry?.kind).toBe("CacheAside")
    expect(entry?.stats()).toMatchObject({ misses: 1 })
    expect(entry?.health().status).toBe("healthy")
  })
})
