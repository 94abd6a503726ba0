/**
 * Counters, stats and health of a retry policy, shared by both shells.
 *
 * @internal
 */
import type * as Retry from "../../Retry.js"
import { RecentOutcomes } from "../fiberEnv.js"
import type { PatternHealth } from "../registry.js"
import type { RetryBudget } from "./budget.js"

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
