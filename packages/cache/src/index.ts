/**
 * Cache-aside for Effect. The Redis stores live in `@integration-patterns/cache/RedisCacheStore`
 * (ioredis is an optional peer dependency), and the Promise facade in
 * `@integration-patterns/cache/promise`.
 *
 * @since 0.1.0
 */
export * as CacheAside from "./CacheAside.js"
export * as CacheStore from "./CacheStore.js"
