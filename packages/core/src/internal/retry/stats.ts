/**
 * Counters, stats and health of a retry policy, shared by both shells.
 *
 * @internal
 */
import { RetryExhaustedError } from "../../Errors.js"
import * as Metrics from "../../Metrics.js"
import type { PatternEventsService } from "../../PatternEvents.js"
import type * as Retry from "../../Retry.js"
import { RecentOutcomes } from "../fiberEnv.js"
import type { PatternHealth } from "../registry.js"
import type { RetryBudget } from "./budget.js"
import type { GiveUpReason, Progress } from "./policy.js"

/** @internal */
export class Counters {
  successes = 0
  failures = 0
  exhausted = 0
  retries = 0
  totalDelay = 0
  budgetRejections = 0
  readonly recent = new RecentOutcomes()
}

/** @internal */
export const snapshot = (name: string, c: Counters, budget: RetryBudget | undefined, now: number): Retry.Stats => ({
  name,
  calls: c.successes + c.failures + c.exhausted,
  successes: c.successes,
  failures: c.failures,
  exhausted: c.exhausted,
  retries: c.retries,
  totalDelay: c.totalDelay,
  budgetRejections: c.budgetRejections,
  budgetAvailable: budget?.available(now)
})

/** Degraded while the budget is spent, or when most recent calls gave up. @internal */
export const health = (c: Counters, budget: RetryBudget | undefined, now: number): PatternHealth => {
  const reasons: Array<string> = []
  if (budget !== undefined && budget.available(now) === 0) reasons.push("retry budget exhausted")
  if (c.recent.mostlyBad(8)) reasons.push("most recent calls gave up")
  return reasons.length === 0 ? { status: "healthy", reasons } : { status: "degraded", reasons }
}

/** Counts a scheduled retry and publishes its event when someone listens. @internal */
export const recordRetry = (
  name: string,
  c: Counters,
  metrics: Metrics.PatternMetrics,
  bus: PatternEventsService,
  error: unknown,
  progress: Progress,
  delay: number,
  now: number
): void => {
  c.retries++
  c.totalDelay += delay
  if (metrics.enabled) {
    Metrics.retries.unsafeUpdate(1, metrics.base)
    metrics.observe(Metrics.retryDelay, delay / 1000)
  }
  if (bus.active) {
    bus.unsafePublish({
      _tag: "RetryScheduled",
      pattern: "Retry",
      name,
      timestamp: now,
      attempt: progress.attempts,
      delay,
      error
    })
  }
}

/**
 * Counts a call that gave up, publishes its event when someone listens, and returns
 * its error.
 *
 * @internal
 */
export const exhaustion = (
  name: string,
  c: Counters,
  metrics: Metrics.PatternMetrics,
  bus: PatternEventsService,
  reason: GiveUpReason,
  error: unknown,
  progress: Progress,
  now: number
): RetryExhaustedError => {
  c.exhausted++
  if (reason === "BudgetExhausted") c.budgetRejections++
  c.recent.record(true)
  metrics.count(Metrics.calls, "exhausted")
  if (bus.active) {
    bus.unsafePublish({
      _tag: "RetryExhausted",
      pattern: "Retry",
      name,
      timestamp: now,
      attempts: progress.attempts,
      totalDelay: progress.totalDelay,
      reason,
      error
    })
  }
  return new RetryExhaustedError({
    retry: name,
    attempts: progress.attempts,
    totalDelay: progress.totalDelay,
    reason,
    cause: error
  })
}
