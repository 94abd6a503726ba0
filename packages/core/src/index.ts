/**
 * @since 0.1.0
 */
export * as Errors from "./Errors.js"
export * from "./Errors.js"
export * as IntegrationPatterns from "./IntegrationPatterns.js"
export * as Metrics from "./Metrics.js"
export * as PatternEvents from "./PatternEvents.js"
export * as Retry from "./Retry.js"
export * as Timeout from "./Timeout.js"
