/**
 * Pure backoff arithmetic, shared by the Effect service and the Promise facade.
 * Every function takes plain numbers (milliseconds) and a random number in [0, 1),
 * so tests can pin exact delays and property-test the jitter bounds.
 *
 * @internal
 */

/** @internal */
export type BackoffStrategy = "fixed" | "linear" | "exponential"

/** @internal */
export type Jitter = "none" | "full" | "equal" | "decorrelated"

/** @internal */
export interface DelayPolicy {
  readonly strategy: BackoffStrategy
  readonly jitter: Jitter
  /** Milliseconds. */
  readonly baseDelay: number
  /** Milliseconds; every delay is capped here, jitter and `retryAfter` included. */
  readonly maxDelay: number
}

/**
 * The un-jittered delay before retry number `retry` (1 for the first retry), capped at
 * `maxDelay`:
 * - fixed: `base`;
 * - linear: `base * retry`;
 * - exponential: `base * 2 ** (retry - 1)`.
 *
 * @internal
 */
export const backoff = (policy: DelayPolicy, retry: number): number => {
  const { baseDelay, maxDelay } = policy
  switch (policy.strategy) {
    case "fixed":
      return Math.min(maxDelay, baseDelay)
    case "linear":
      return Math.min(maxDelay, baseDelay * retry)
    case "exponential":
      // 2 ** 1024 is Infinity, which the cap absorbs.
      return Math.min(maxDelay, baseDelay * 2 ** (retry - 1))
  }
}

/**
 * Spreads a delay with jitter, so that callers that failed together do not retry
 * together. `delay` is the capped backoff, `previous` the delay used before the last
 * retry (`baseDelay` before the first), `random` a number in [0, 1).
 * - none: `delay`;
 * - full: uniform in [0, delay);
 * - equal: uniform in [delay / 2, delay);
 * - decorrelated: uniform in [base, 3 * previous), capped at `maxDelay`
 *   ("Exponential Backoff And Jitter", AWS Architecture Blog); it ignores the strategy.
 *
 * @internal
 */
export const applyJitter = (
  policy: DelayPolicy,
  delay: number,
  previous: number,
  random: number
): number => {
  switch (policy.jitter) {
    case "none":
      return delay
    case "full":
      return random * delay
    case "equal":
      return delay / 2 + random * (delay / 2)
    case "decorrelated": {
      const base = Math.min(policy.baseDelay, policy.maxDelay)
      const upper = Math.max(base, 3 * previous)
      return Math.min(policy.maxDelay, base + random * (upper - base))
    }
  }
}

/**
 * An error that says when to come back (`CircuitBreakerOpenError`,
 * `RateLimitExceededError`, or any error with a numeric `retryAfter` in milliseconds)
 * is retried no sooner than that, but never later than `maxDelay`.
 *
 * @internal
 */
export const honourRetryAfter = (delay: number, retryAfter: number | undefined, maxDelay: number): number =>
  retryAfter === undefined || !(retryAfter > delay) ? delay : Math.min(maxDelay, retryAfter)

/**
 * Shapes a proposed delay (from a strategy or a `Schedule`): cap at `maxDelay`, then
 * jitter, then `retryAfter`. Delays are whole milliseconds (jitter is rounded down), so
 * that `TestClock` and `setTimeout` agree on them.
 *
 * @internal
 */
export const shapeDelay = (
  policy: DelayPolicy,
  proposed: number,
  previous: number,
  random: number,
  retryAfter: number | undefined
): number =>
  honourRetryAfter(
    Math.floor(applyJitter(policy, Math.min(policy.maxDelay, proposed), previous, random)),
    retryAfter,
    policy.maxDelay
  )

/**
 * The delay before retry number `retry` (1 for the first retry): backoff, then
 * {@link shapeDelay}.
 *
 * @internal
 */
export const nextDelay = (
  policy: DelayPolicy,
  retry: number,
  previous: number,
  random: number,
  retryAfter: number | undefined
): number => shapeDelay(policy, backoff(policy, retry), previous, random, retryAfter)

/**
 * Reads a numeric `retryAfter` (milliseconds) from an error, if it has one.
 *
 * @internal
 */
export const retryAfterOf = (error: unknown): number | undefined => {
  if (typeof error === "object" && error !== null && "retryAfter" in error) {
    const value = (error as { readonly retryAfter: unknown }).retryAfter
    if (typeof value === "number" && Number.isFinite(value) && value > 0) return value
  }
  return undefined
}
