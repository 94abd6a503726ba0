/**
 * Counters, stats and health of a timeout, shared by both shells.
 *
 * @internal
 */
import type * as Timeout from "../../Timeout.js"
import { RecentOutcomes } from "../fiberEnv.js"
import type { PatternHealth } from "../registry.js"

/** @internal */
export class Counters {
  successes = 0
  failures = 0
  timeouts = 0
  gracePeriodOverruns = 0
  readonly recent = new RecentOutcomes()
}

/** @internal */
export const snapshot = (name: string, duration: number, c: Counters): Timeout.Stats => ({
  name,
  duration,
  calls: c.successes + c.failures + c.timeouts,
  successes: c.successes,
  failures: c.failures,
  timeouts: c.timeouts,
  gracePeriodOverruns: c.gracePeriodOverruns
})

/** Degraded when most recent calls timed out. @internal */
export const health = (c: Counters): PatternHealth =>
  c.recent.mostlyBad(8)
    ? { status: "degraded", reasons: ["most recent calls timed out"] }
    : { status: "healthy", reasons: [] }
