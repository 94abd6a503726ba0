/**
 * The Promise facade: classes for code that does not use Effect. They make the same
 * decisions as the Effect services (they share the pure core in `internal/`), and
 * reject with the same error classes.
 *
 * @since 0.1.0
 */
export * from "../Errors.js"
export { IntegrationPatterns } from "./IntegrationPatterns.js"
export * from "./RequestResponse.js"
export {
  RateLimiter,
  type RateLimitDecision,
  type RateLimiterExecuteOptions,
  type RateLimiterKeyStats,
  type RateLimiterOptions,
  type RateLimiterStats,
  type RateLimiterTokenBucketOptions,
  type RateLimiterWindowOptions,
  rateLimitHeaders
} from "./RateLimiter.js"
export * from "./CircuitBreaker.js"
export * as Policy from "./Policy.js"
export {
  Bulkhead,
  type BulkheadExecuteOptions,
  type BulkheadKeyStats,
  type BulkheadOptions,
  type BulkheadStats,
  KeyedBulkhead,
  type KeyedBulkheadStats
} from "./Bulkhead.js"
export { Retry, type RetryContext, type RetryOptions } from "./Retry.js"
export { Timeout, type TimeoutOptions } from "./Timeout.js"
