/**
 * The Redis stores live in their own modules, `@integration-patterns/core/RedisRateLimiterStore`
 * and `@integration-patterns/core/RedisCircuitBreakerStore` (ioredis is an optional peer
 * dependency, loaded only by them), and the Promise facade in `@integration-patterns/core/promise`.
 *
 * @since 0.1.0
 */
export * as Bulkhead from "./Bulkhead.js"
export * as Errors from "./Errors.js"
export * from "./Errors.js"
export * as IntegrationPatterns from "./IntegrationPatterns.js"
export * as Metrics from "./Metrics.js"
export * as PatternEvents from "./PatternEvents.js"
export * as Policy from "./Policy.js"
export * as RequestResponse from "./RequestResponse.js"
export * as RateLimiter from "./RateLimiter.js"
export * as CircuitBreaker from "./CircuitBreaker.js"
export * as Retry from "./Retry.js"
export * as Timeout from "./Timeout.js"
