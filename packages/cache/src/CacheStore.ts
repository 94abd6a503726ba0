/**
 * Where cache-aside keeps its entries. The store is a service chosen by Layer, so
 * moving a cache from one process to many is a change of Layer, not of code:
 *
 * - {@link layerMemory} (the default when no Layer is given): an LRU in process memory,
 *   bounded by each cache's `maxSize`, with expiry read from `Clock`;
 * - `RedisCacheStore.layer` (`@integration-patterns/cache/RedisCacheStore`): entries in
 *   Redis, encoded to JSON with the cache's `schema`, under a key prefix, with the
 *   entry's lifetime as the Redis key's TTL;
 * - `RedisCacheStore.layerTwoLevel`: a memory L1 in front of Redis as L2; invalidations
 *   reach the other nodes' L1 through Redis pub/sub.
 *
 * A store serves many caches: each cache opens its own {@link Partition}, named after
 * the cache, so two caches never see each other's keys while two processes running a
 * cache of the same name share its entries.
 *
 * @since 0.1.0
 */
import type { PersistenceError } from "@integration-patterns/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as entry from "./internal/cacheAside/entry.js"
import * as memoryStore from "./internal/cacheStore/memory.js"

/**
 * A stored value with its freshness timestamps (milliseconds) and tags.
 *
 * @since 0.1.0
 * @category Models
 */
export type Entry<A> = entry.Entry<A>

/**
 * Which entries an invalidation removes: one key, every entry carrying a tag, every
 * key starting with a prefix, or all of them.
 *
 * @since 0.1.0
 * @category Models
 */
export type Invalidation = entry.Invalidation

/**
 * What a cache tells its store when it opens its partition.
 *
 * @since 0.1.0
 * @category Models
 */
export interface PartitionOptions<A, I> {
  /** The cache's name; it namespaces the cache's keys in the store. */
  readonly name: string
  /** The most entries kept in process memory. */
  readonly maxSize: number
  /** Encodes values for stores outside the process; plain JSON when absent. */
  readonly schema: Schema.Schema<A, I> | undefined
  /** Called when process memory drops an entry by size or expiry. */
  readonly onEvict: (reason: "size" | "ttl") => void
  /** Called when another node's invalidation reached this node's memory copies. */
  readonly onRemoteInvalidation: (invalidation: Invalidation, removed: number) => void
}

/**
 * One cache's view of a store.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Partition<A> {
  /** True when entries live outside this process, so a miss in `local` must still ask `get`. */
  readonly remote: boolean
  /** A synchronous lookup in process memory (the memory store, or the L1 of two levels). */
  readonly local: ((key: string, now: number) => Entry<A> | undefined) | undefined
  /**
   * The full lookup. A stored entry that cannot be decoded fails with
   * `PersistenceError` reason `Decode`; an unreachable store with reason `Unavailable`.
   */
  readonly get: (key: string) => Effect.Effect<Entry<A> | undefined, PersistenceError>
  /** Stores an entry; a value the schema cannot encode fails with reason `Encode`. */
  readonly set: (key: string, entry: Entry<A>) => Effect.Effect<void, PersistenceError>
  /** Removes entries; succeeds with how many this store knows it removed. */
  readonly invalidate: (invalidation: Invalidation) => Effect.Effect<number, PersistenceError>
  /** False while the store is unreachable. */
  readonly available: () => boolean
  /** Entries held in process memory. */
  readonly size: () => number
}

/**
 * The store service: it opens one partition per cache.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CacheStoreService {
  readonly backend: "memory" | "redis" | "two-level"
  /** Opens a cache's partition for the lifetime of the scope. */
  readonly open: <A, I>(options: PartitionOptions<A, I>) => Effect.Effect<Partition<A>, never, Scope.Scope>
}

/**
 * The memory store: one LRU per cache, in process memory.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const memory: CacheStoreService = {
  backend: "memory",
  open: (options) => Effect.sync(() => memoryStore.makePartition(options))
}

/**
 * The store caches use. Without a Layer, it is the {@link memory} store.
 *
 * @since 0.1.0
 * @category Tags
 */
export class CacheStore extends Context.Reference<CacheStore>()("@integration-patterns/cache/CacheStore", {
  defaultValue: (): CacheStoreService => memory
}) {}

/**
 * Provides the memory store.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerMemory: Layer.Layer<CacheStore> = Layer.succeed(CacheStore, memory)
