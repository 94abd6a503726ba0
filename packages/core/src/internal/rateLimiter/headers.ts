import type { Decision } from "../../RateLimiter.js"

/**
 * The standard rate-limit response headers for a decision: `RateLimit-Limit`,
 * `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the budget is whole
 * again), plus `Retry-After` (seconds) when the request was rejected and could be
 * admitted later. Seconds are rounded up, so a client that waits them is never early.
 *
 * @internal
 */
export const headers = (decision: Decision): Record<string, string> => {
  const out: Record<string, string> = {
    "RateLimit-Limit": String(decision.limit),
    "RateLimit-Remaining": String(Math.max(0, Math.floor(decision.remaining))),
    "RateLimit-Reset": String(Math.ceil(decision.resetAfter / 1000))
  }
  if (!decision.allowed && Number.isFinite(decision.retryAfter)) {
    out["Retry-After"] = String(Math.max(1, Math.ceil(decision.retryAfter / 1000)))
  }
  return out
}
