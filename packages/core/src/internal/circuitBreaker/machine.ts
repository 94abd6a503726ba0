/**
 * The circuit breaker's state machine: plain synchronous code over a small state value.
 * Time is the `now` argument (ms); nothing here performs IO or runs an Effect. The
 * Effect service and the Promise facade both drive this class, so they make the same
 * decisions.
 *
 * A call asks {@link Machine.acquire} for a permit, runs, and reports its outcome with
 * that permit. The permit is the breaker's generation, which changes on every
 * transition: an outcome whose permit is not the current generation belongs to an
 * earlier period (a slow call that started before the breaker opened, opossum #381)
 * and moves no state, and of many concurrent failures only the first that trips the
 * breaker counts (opossum #385).
 */
import { instantiate, type PolicySnapshot, type PolicyState, type TripPolicy, type TripReason } from "./policy.js"

/** The states of a breaker. */
export type State = "Closed" | "Open" | "HalfOpen" | "Isolated" | "Disabled" | "MetricsOnly"

/** The states a breaker can be made in. */
export type InitialState = "Closed" | "MetricsOnly" | "Disabled"

/** Why a breaker changed state. */
export type TransitionReason =
  | TripReason
  | "RemoteOpen"
  | "RecoveryTimeoutElapsed"
  | "ProbeFailed"
  | "ProbeTimedOut"
  | "ProbesSucceeded"
  | "Isolated"
  | "Disabled"
  | "MetricsOnly"
  | "Reset"
  | "Restored"

/** One change of state. */
export interface Transition {
  readonly from: State
  readonly to: State
  readonly reason: TransitionReason
  readonly at: number
  /** When an open breaker lets the next probe through (ms); 0 in other states. */
  readonly openUntil: number
}

/** How long the breaker stays open after each consecutive trip. */
export interface OpenDuration {
  /** The open duration of the next trip, in ms. */
  next(now: number): number
  /** The breaker closed: the next trip is the first again. */
  reset(): void
  /** Fast-forwards to `trips` consecutive trips, after a restore. */
  restore(trips: number, now: number): void
}

/** The same open duration after every trip. */
export const fixedOpenDuration = (millis: number): OpenDuration => ({
  next: () => millis,
  reset: () => undefined,
  restore: () => undefined
})

/** Everything the machine needs to know, already validated. */
export interface MachineConfig {
  readonly policies: ReadonlyArray<TripPolicy>
  /** Calls that take at least this many ms are slow; `Infinity` when no call is slow. */
  readonly slowCallDuration: number
  /** Probe calls let through in each half-open period. */
  readonly halfOpenMaxCalls: number
  /** Successful probes that close the breaker (at most `halfOpenMaxCalls`). */
  readonly successThreshold: number
  /** A half-open period whose probes have not closed or reopened the breaker after this many ms reopens it. */
  readonly maxHalfOpenDuration: number
  readonly openDuration: OpenDuration
  readonly initialState: InitialState
}

/** Callbacks for what the shells report: transitions and trips seen in metrics-only mode. */
export interface Listener {
  onTransition(transition: Transition): void
  onShadowTrip(reason: TripReason, at: number): void
}

/** What the machine remembers across a restart. */
export interface MachineSnapshot {
  readonly state: State
  readonly openUntil: number
  readonly trips: number
  readonly lastTransitionAt: number
  readonly policies: ReadonlyArray<PolicySnapshot>
}

/** The counters every breaker keeps. */
export interface MachineStats {
  readonly state: State
  /** Calls that ran and finished (successes, failures and ignored errors; interrupted calls are not counted). */
  readonly calls: number
  readonly successes: number
  readonly failures: number
  /** Calls that failed with an ignored error, which counts as neither success nor failure. */
  readonly ignored: number
  readonly slowCalls: number
  readonly rejections: number
  /** `failures / (successes + failures)` since the breaker was made; 0 before any call. */
  readonly failureRatio: number
  /** `Clock` time of the last transition (or of creation), in ms. */
  readonly lastTransitionAt: number
  /** Consecutive trips since the breaker last closed; they lengthen a scheduled open duration. */
  readonly consecutiveTrips: number
  /** Trips a metrics-only breaker would have made. */
  readonly shadowTrips: number
  /** Milliseconds until an open breaker lets a probe through; 0 in other states. */
  readonly retryAfter: number
}

/** The permit of a rejected call. */
export const REJECTED = -1

/** The transitions the machine may make; the property tests check against this table. */
export const legalTransitions: ReadonlyArray<readonly [State, State]> = [
  ["Closed", "Open"],
  ["Open", "HalfOpen"],
  ["HalfOpen", "Closed"],
  ["HalfOpen", "Open"],
  ...(["Closed", "Open", "HalfOpen", "Disabled", "MetricsOnly"] as const).map((s) => [s, "Isolated"] as const),
  ...(["Closed", "Open", "HalfOpen", "Isolated", "MetricsOnly"] as const).map((s) => [s, "Disabled"] as const),
  ...(["Closed", "Open", "HalfOpen", "Isolated", "Disabled"] as const).map((s) => [s, "MetricsOnly"] as const),
  ...(["Open", "HalfOpen", "Isolated", "Disabled", "MetricsOnly"] as const).map((s) => [s, "Closed"] as const)
]

export class Machine {
  state: State
  /** Changes on every transition; a permit is the generation it was granted in. */
  generation = 0
  lastTransitionAt: number
  openUntil = 0
  trips = 0
  successes = 0
  failures = 0
  ignored = 0
  slowCalls = 0
  rejections = 0
  shadowTrips = 0
  listener: Listener | undefined = undefined

  private probes = 0
  private probeSuccesses = 0
  private halfOpenSince = 0
  private readonly policies: ReadonlyArray<PolicyState>
  private readonly slowProbeFails: boolean

  constructor(readonly config: MachineConfig, now: number) {
    this.state = config.initialState
    this.lastTransitionAt = now
    this.policies = config.policies.map(instantiate)
    this.slowProbeFails = config.policies.some((policy) => policy._tag === "SlowCallRate")
  }

  /** A permit (the current generation) for a call that may run, or {@link REJECTED}. */
  acquire(now: number): number {
    switch (this.state) {
      case "Closed":
      case "MetricsOnly":
      case "Disabled":
        return this.generation
      case "Open":
        if (now < this.openUntil) break
        this.transition("HalfOpen", "RecoveryTimeoutElapsed", now)
        this.probes = 1
        return this.generation
      case "HalfOpen":
        if (now - this.halfOpenSince >= this.config.maxHalfOpenDuration) {
          this.open("ProbeTimedOut", now)
          break
        }
        if (this.probes < this.config.halfOpenMaxCalls) {
          this.probes++
          return this.generation
        }
        break
      case "Isolated":
        break
    }
    this.rejections++
    return REJECTED
  }

  /** True when a permit of the current generation is a half-open probe. */
  get probing(): boolean {
    return this.state === "HalfOpen"
  }

  onSuccess(permit: number, now: number, duration: number): void {
    this.successes++
    const slow = duration >= this.config.slowCallDuration
    if (slow) this.slowCalls++
    if (permit !== this.generation) return
    switch (this.state) {
      case "Closed":
        return this.observe(false, slow, now)
      case "MetricsOnly":
        return this.observeShadow(false, slow, now)
      case "HalfOpen":
        if (slow && this.slowProbeFails) return this.open("ProbeFailed", now)
        if (++this.probeSuccesses >= this.config.successThreshold) this.transition("Closed", "ProbesSucceeded", now)
        return
    }
  }

  onFailure(permit: number, now: number, duration: number): void {
    this.failures++
    const slow = duration >= this.config.slowCallDuration
    if (slow) this.slowCalls++
    if (permit !== this.generation) return
    switch (this.state) {
      case "Closed":
        return this.observe(true, slow, now)
      case "MetricsOnly":
        return this.observeShadow(true, slow, now)
      case "HalfOpen":
        return this.open("ProbeFailed", now)
    }
  }

  /** An ignored error: counts as neither success nor failure, and frees a probe's slot. */
  onIgnored(permit: number): void {
    this.ignored++
    this.onInterrupted(permit)
  }

  /** An interrupted call: counts as nothing at all, and frees a probe's slot. */
  onInterrupted(permit: number): void {
    if (permit === this.generation && this.state === "HalfOpen") this.probes--
  }

  retryAfter(now: number): number {
    return this.state === "Open" ? Math.max(0, this.openUntil - now) : 0
  }

  isolate(now: number): void {
    if (this.state !== "Isolated") this.transition("Isolated", "Isolated", now)
  }

  disable(now: number): void {
    if (this.state !== "Disabled") this.transition("Disabled", "Disabled", now)
  }

  metricsOnly(now: number): void {
    if (this.state !== "MetricsOnly") this.transition("MetricsOnly", "MetricsOnly", now)
  }

  /** Closes the breaker and forgets every outcome and trip. */
  reset(now: number): void {
    if (this.state !== "Closed") this.transition("Closed", "Reset", now)
    else this.resetPolicies()
  }

  /** Another node opened its breaker: a closed breaker opens too. True when it did. */
  remoteOpen(now: number): boolean {
    if (this.state !== "Closed") return false
    this.open("RemoteOpen", now)
    return true
  }

  /** A half-open breaker is saved as open and due, so a restored one probes at once. */
  snapshot(now: number): MachineSnapshot {
    const halfOpen = this.state === "HalfOpen"
    return {
      state: halfOpen ? "Open" : this.state,
      openUntil: halfOpen ? now : this.state === "Open" ? this.openUntil : 0,
      trips: this.trips,
      lastTransitionAt: this.lastTransitionAt,
      policies: this.policies.map((policy) => policy.snapshot())
    }
  }

  /** Takes a saved state. Counters of a window that no longer matches the options are dropped. */
  restore(snapshot: MachineSnapshot, now: number): void {
    const to = snapshot.state === "HalfOpen" ? "Open" : snapshot.state
    this.trips = snapshot.trips
    this.config.openDuration.restore(snapshot.trips, now)
    this.openUntil = snapshot.state === "HalfOpen" ? now : to === "Open" ? snapshot.openUntil : 0
    this.resetPolicies()
    const n = Math.min(snapshot.policies.length, this.policies.length)
    for (let i = 0; i < n; i++) this.policies[i]!.restore(snapshot.policies[i]!)
    const from = this.state
    this.state = to
    this.generation++
    this.lastTransitionAt = snapshot.lastTransitionAt
    if (from !== to) this.listener?.onTransition({ from, to, reason: "Restored", at: now, openUntil: this.openUntil })
  }

  stats(now: number): MachineStats {
    const decided = this.successes + this.failures
    return {
      state: this.state,
      calls: decided + this.ignored,
      successes: this.successes,
      failures: this.failures,
      ignored: this.ignored,
      slowCalls: this.slowCalls,
      rejections: this.rejections,
      failureRatio: decided === 0 ? 0 : this.failures / decided,
      lastTransitionAt: this.lastTransitionAt,
      consecutiveTrips: this.trips,
      shadowTrips: this.shadowTrips,
      retryAfter: this.retryAfter(now)
    }
  }

  private observe(failure: boolean, slow: boolean, now: number): void {
    const reason = this.record(failure, slow, now)
    if (reason !== undefined) this.open(reason, now)
  }

  private observeShadow(failure: boolean, slow: boolean, now: number): void {
    const reason = this.record(failure, slow, now)
    if (reason === undefined) return
    this.shadowTrips++
    this.resetPolicies()
    this.listener?.onShadowTrip(reason, now)
  }

  // Every policy sees every outcome, so each window stays complete; the first that trips names the reason.
  private record(failure: boolean, slow: boolean, now: number): TripReason | undefined {
    let reason: TripReason | undefined
    for (const policy of this.policies) {
      if (policy.record(failure, slow, now) && reason === undefined) reason = policy.policy._tag
    }
    return reason
  }

  private open(reason: TransitionReason, now: number): void {
    this.openUntil = now + this.config.openDuration.next(now)
    this.trips++
    this.transition("Open", reason, now)
  }

  private transition(to: State, reason: TransitionReason, now: number): void {
    const from = this.state
    this.state = to
    this.generation++
    this.lastTransitionAt = now
    switch (to) {
      case "HalfOpen":
        this.probes = 0
        this.probeSuccesses = 0
        this.halfOpenSince = now
        break
      case "Closed":
      case "MetricsOnly":
        this.trips = 0
        this.config.openDuration.reset()
        this.resetPolicies()
        break
      case "Open":
        this.resetPolicies()
        break
    }
    this.listener?.onTransition({ from, to, reason, at: now, openUntil: to === "Open" ? this.openUntil : 0 })
  }

  private resetPolicies(): void {
    for (const policy of this.policies) policy.reset()
  }
}
