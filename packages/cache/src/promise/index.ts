/**
 * The Promise facade of `@integration-patterns/cache`: `new CacheAside({ ttl: 3600,
 * maxSize: 1000, storage: "redis" })`. It makes the same decisions as the Effect API
 * (it runs the same code) and rejects with the same error classes.
 *
 * @since 0.1.0
 */
export { CacheLoadError, InvalidConfigError, PersistenceError } from "@integration-patterns/core"
export { CacheAside, type CacheAsideOptions } from "./CacheAside.js"
