import * as Effect from "effect/Effect"
import type {
  ConsumeRequest,
  Decision,
  KeyStats,
  RateLimiterStorage,
  RateLimiterStoreService,
  StorageSnapshot,
  StoreConfig
} from "../../RateLimiter.js"
import { LimiterCore } from "./core.js"

class MemoryStorage implements RateLimiterStorage {
  readonly core: LimiterCore

  constructor(readonly config: StoreConfig) {
    this.core = new LimiterCore(config.algorithm, config.global, config.maxKeys)
  }

  consume = (request: ConsumeRequest): Effect.Effect<Decision> =>
    Effect.sync(() => this.core.consume(request.key, request.cost, request.now))

  unsafeConsume = (key: string, cost: number, now: number): Decision => this.core.consume(key, cost, now)

  peek = (request: ConsumeRequest): Effect.Effect<Decision> =>
    Effect.sync(() => this.core.peek(request.key, request.cost, request.now))

  keyStats = (key: string, now: number): Effect.Effect<KeyStats> => Effect.sync(() => this.core.keyStats(key, now))

  snapshot = (now: number): StorageSnapshot => ({
    trackedKeys: this.core.table.size,
    evictedKeys: this.core.table.evicted,
    expiredKeys: this.core.table.expired,
    global: this.core.global(now),
    available: true,
    policy: undefined
  })

  globalRemaining = (): number | undefined => this.core.globalRemaining
}

/**
 * Keeps every limiter's budgets in this process, in compact typed arrays.
 *
 * @internal
 */
export const memoryStore: RateLimiterStoreService = {
  name: "memory",
  make: (config) => Effect.sync(() => new MemoryStorage(config))
}
