/**
 * The Promise facade: classes for code that does not use Effect. They make the same
 * decisions as the Effect services (they share the pure core in `internal/`), and
 * reject with the same error classes.
 *
 * @since 0.1.0
 */
export * from "../Errors.js"
export { Retry, type RetryContext, type RetryOptions } from "./Retry.js"
export { Timeout, type TimeoutOptions } from "./Timeout.js"
