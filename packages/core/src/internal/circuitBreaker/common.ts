/**
 * What both shells share beyond the state machine: how outcomes are classified, how a
 * rejection is built, and how states are reported.
 */
import { CircuitBreakerOpenError } from "../../Errors.js"
import * as Metrics from "../../Metrics.js"
import type { PatternMetrics } from "../../Metrics.js"
import type { PatternHealth } from "../registry.js"
import type { State } from "./machine.js"
import type { Resolved } from "./options.js"

/** Gauge values of `integration_patterns_circuit_breaker_state`. */
export const stateCode: Readonly<Record<State, number>> = {
  Closed: 0,
  Open: 1,
  HalfOpen: 2,
  Isolated: 3,
  Disabled: 4,
  MetricsOnly: 5
}

/** The `outcome` tag of `integration_patterns_circuit_breaker_transitions`: the state entered. */
export const stateTag: Readonly<Record<State, string>> = {
  Closed: "closed",
  Open: "open",
  HalfOpen: "half_open",
  Isolated: "isolated",
  Disabled: "disabled",
  MetricsOnly: "metrics_only"
}

/** Open or isolated: unhealthy; half-open: degraded. */
export const healthOf = (state: State): PatternHealth =>
  state === "Open" || state === "Isolated"
    ? { status: "unhealthy", reasons: [`circuit breaker is ${state === "Open" ? "open" : "isolated"}`] }
    : state === "HalfOpen"
    ? { status: "degraded", reasons: ["circuit breaker is half-open (probing)"] }
    : { status: "healthy", reasons: [] }

/** How a typed error counts. */
export type Outcome = "success" | "failure" | "ignored"

/** `ignore` first, then `isFailure` (every error is a failure by default). */
export const classifyError = (resolved: Resolved, error: unknown): Outcome =>
  resolved.ignore !== undefined && resolved.ignore(error)
    ? "ignored"
    : resolved.isFailure === undefined || resolved.isFailure(error)
    ? "failure"
    : "success"

const openErrorPrototype: object = CircuitBreakerOpenError.prototype

/**
 * A new rejection error, built without running the constructor. A rejection is a
 * policy decision, not a bug: its stack trace would only point into the breaker, and
 * capturing one is nearly all the cost of a rejection (about 1 µs with
 * `Error.stackTraceLimit = 0`, several µs without, against about 25 ns for this). The
 * object has the same prototype, the same own enumerable fields in the same order,
 * and no `stack`; `instanceof`, `_tag`, `name`, `message`, `Equal`, JSON and the
 * error's schema all treat it as the constructed error.
 */
export const openError = (
  breaker: string,
  state: "Open" | "HalfOpen" | "Isolated",
  retryAfter: number
): CircuitBreakerOpenError => {
  const error = Object.create(openErrorPrototype) as {
    -readonly [K in "breaker" | "state" | "retryAfter" | "_tag"]: CircuitBreakerOpenError[K]
  }
  error.breaker = breaker
  error.state = state
  error.retryAfter = retryAfter
  error._tag = "CircuitBreakerOpenError"
  return error as CircuitBreakerOpenError
}

/**
 * The metric updates of one breaker, with every tag array resolved once, so a call
 * pays for a flag check and the metric updates themselves.
 */
export class BreakerMetrics {
  readonly on: boolean
  private readonly base: PatternMetrics["base"]
  private readonly success: PatternMetrics["base"]
  private readonly failure: PatternMetrics["base"]
  private readonly ignoredError: PatternMetrics["base"]
  private readonly rejectedCall: PatternMetrics["base"]
  private readonly open: PatternMetrics["base"]

  /** A keyed breaker does not set the state gauge: its keys have states of their own. */
  constructor(private readonly metrics: PatternMetrics, private readonly gauge: boolean) {
    this.on = metrics.enabled
    this.base = metrics.base
    this.success = metrics.outcome("success")
    this.failure = metrics.outcome("failure")
    this.ignoredError = metrics.outcome("ignored")
    this.rejectedCall = metrics.outcome("rejected")
    this.open = metrics.reason("open")
  }

  succeeded(duration: number): void {
    if (!this.on) return
    Metrics.calls.unsafeUpdate(1, this.success)
    Metrics.callDuration.unsafeUpdate(duration / 1000, this.base)
  }

  failed(duration: number): void {
    if (!this.on) return
    Metrics.calls.unsafeUpdate(1, this.failure)
    Metrics.callDuration.unsafeUpdate(duration / 1000, this.base)
  }

  ignored(duration: number): void {
    if (!this.on) return
    Metrics.calls.unsafeUpdate(1, this.ignoredError)
    Metrics.callDuration.unsafeUpdate(duration / 1000, this.base)
  }

  rejected(): void {
    if (!this.on) return
    Metrics.calls.unsafeUpdate(1, this.rejectedCall)
    Metrics.rejections.unsafeUpdate(1, this.open)
  }

  state(state: State): void {
    if (this.gauge) this.metrics.set(Metrics.circuitBreakerState, stateCode[state])
  }

  transition(to: State): void {
    this.metrics.count(Metrics.circuitBreakerTransitions, stateTag[to])
    this.state(to)
  }

  shadowTrip(): void {
    this.metrics.count(Metrics.circuitBreakerTransitions, "shadow_open")
  }
}
