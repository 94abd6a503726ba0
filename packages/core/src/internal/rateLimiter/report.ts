/**
 * What both shells do with a decision once it is made: count it, and for a rejection
 * publish the event and build the error.
 *
 * @internal
 */
import type { RateLimitExceededError } from "../../Errors.js"
import { type PatternMetrics, rateLimiterDecisions, rateLimiterTokens } from "../../Metrics.js"
import type { PatternEventsService } from "../../PatternEvents.js"
import type { Decision } from "../../RateLimiter.js"
import type { Tally } from "./core.js"
import { rateLimitExceeded } from "./rejection.js"

/**
 * Adds a decision to the limiter's tally and metrics. `globalRemaining`: the global
 * budget's units left, when the limiter has one (its gauge is set on admission).
 *
 * @internal
 */
export const recordDecision = (
  tally: Tally,
  metrics: PatternMetrics,
  decision: Decision,
  cost: number,
  now: number,
  globalRemaining: number | undefined
): void => {
  tally.record(decision, cost, now)
  metrics.count(rateLimiterDecisions, decision.allowed ? "allowed" : "rejected")
  if (decision.allowed && globalRemaining !== undefined) metrics.set(rateLimiterTokens, globalRemaining)
}

/**
 * Counts a rejection, publishes its event when someone listens, and returns its error.
 *
 * @internal
 */
export const rejection = (
  name: string,
  metrics: PatternMetrics,
  bus: PatternEventsService,
  key: string,
  cost: number,
  decision: Decision,
  now: number,
  mode: "reject" | "wait"
): RateLimitExceededError => {
  metrics.reject("rate_limited")
  if (bus.active) {
    bus.unsafePublish({
      _tag: "RateLimitRejected",
      pattern: "RateLimiter",
      name,
      timestamp: now,
      key,
      cost,
      limit: decision.limit,
      retryAfter: decision.retryAfter,
      scope: decision.scope,
      mode
    })
  }
  return rateLimitExceeded(name, key, decision.retryAfter, decision.limit)
}
