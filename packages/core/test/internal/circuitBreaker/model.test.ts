import { describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Schedule from "effect/Schedule"
import {
  fixedOpenDuration,
  legalTransitions,
  Machine,
  type MachineConfig,
  REJECTED,
  type State
} from "../../../src/internal/circuitBreaker/machine.js"
import { scheduleOpenDuration } from "../../../src/internal/circuitBreaker/options.js"
import type { TripPolicy } from "../../../src/internal/circuitBreaker/policy.js"

// A small reference model of the breaker, written for clarity rather than speed: it
// keeps every recorded outcome in a list and recomputes each policy from that list.
interface Recorded {
  readonly at: number
  readonly failure: boolean
  readonly slow: boolean
}

interface ModelConfig {
  readonly policies: ReadonlyArray<TripPolicy>
  readonly slowCallDuration: number
  readonly halfOpenMaxCalls: number
  readonly successThreshold: number
  readonly maxHalfOpenDuration: number
  /** Open duration after the n-th consecutive trip (n from 1). */
  readonly openFor: (trip: number) => number
}

class Model {
  state: State = "Closed"
  generation = 0
  openUntil = 0
  trips = 0
  probes = 0
  probeSuccesses = 0
  halfOpenSince = 0
  history: Array<Recorded> = []
  transitions: Array<readonly [State, State]> = []

  constructor(readonly config: ModelConfig) {}

  private go(to: State, now: number): void {
    this.transitions.push([this.state, to])
    this.state = to
    this.generation++
    if (to === "HalfOpen") {
      this.probes = 0
      this.probeSuccesses = 0
      this.halfOpenSince = now
    }
    if (to === "Closed" || to === "MetricsOnly") this.trips = 0
    if (to === "Closed" || to === "MetricsOnly" || to === "Open") this.history = []
  }

  private open(now: number): void {
    this.trips++
    this.openUntil = now + this.config.openFor(this.trips)
    this.go("Open", now)
  }

  private trips_(policy: TripPolicy, now: number): boolean {
    if (policy._tag === "ConsecutiveFailures") {
      let run = 0
      for (let i = this.history.length - 1; i >= 0 && this.history[i]!.failure; i--) run++
      return run >= policy.threshold
    }
    const window = policy.window
    const seen = window._tag === "Calls"
      ? this.history.slice(-window.size)
      : this.history.filter((r) => {
        const width = window.duration / window.buckets
        return Math.floor(r.at / width) > Math.floor(now / width) - window.buckets
      })
    const hits = seen.filter((r) => policy._tag === "FailureRate" ? r.failure : r.slow).length
    return seen.length >= policy.minimumThroughput && hits / seen.length >= policy.threshold
  }

  acquire(now: number): number {
    if (this.state === "Open" && now >= this.openUntil) {
      this.go("HalfOpen", now)
    } else if (this.state === "HalfOpen" && now - this.halfOpenSince >= this.config.maxHalfOpenDuration) {
      this.open(now)
      return REJECTED
    }
    switch (this.state) {
      case "Open":
      case "Isolated":
        return REJECTED
      case "HalfOpen":
        if (this.probes >= this.config.halfOpenMaxCalls) return REJECTED
        this.probes++
        return this.generation
      default:
        return this.generation
    }
  }

  finish(permit: number, outcome: "success" | "failure" | "ignored", now: number, duration: number): void {
    if (permit !== this.generation) return
    const slow = duration >= this.config.slowCallDuration
    if (outcome === "ignored") {
      if (this.state === "HalfOpen") this.probes--
      return
    }
    const failure = outcome === "failure"
    if (this.state === "HalfOpen") {
      const slowFails = slow && this.config.policies.some((p) => p._tag === "SlowCallRate")
      if (failure || slowFails) this.open(now)
      else if (++this.probeSuccesses >= this.config.successThreshold) this.go("Closed", now)
      return
    }
    if (this.state !== "Closed" && this.state !== "MetricsOnly") return
    this.history.push({ at: now, failure, slow })
    if (this.config.policies.some((p) => this.trips_(p, now))) {
      if (this.state === "Closed") this.open(now)
      else this.history = []
    }
  }

  manual(op: "isolate" | "reset" | "disable" | "metricsOnly" | "remoteOpen", now: number): void {
    switch (op) {
      case "isolate":
        if (this.state !== "Isolated") this.go("Isolated", now)
        return
      case "disable":
        if (this.state !== "Disabled") this.go("Disabled", now)
        return
      case "metricsOnly":
        if (this.state !== "MetricsOnly") this.go("MetricsOnly", now)
        return
      case "reset":
        if (this.state !== "Closed") this.go("Closed", now)
        else this.history = []
        return
      case "remoteOpen":
        if (this.state === "Closed") this.open(now)
        return
    }
  }
}

const windowArb = FastCheck.oneof(
  FastCheck.record({ _tag: FastCheck.constant("Calls" as const), size: FastCheck.integer({ min: 1, max: 6 }) }),
  FastCheck.record({
    _tag: FastCheck.constant("Time" as const),
    duration: FastCheck.integer({ min: 50, max: 2_000 }),
    buckets: FastCheck.integer({ min: 1, max: 5 })
  })
)

const rateArb = (tag: "FailureRate" | "SlowCallRate") =>
  FastCheck.record({
    threshold: FastCheck.constantFrom(0.25, 0.5, 0.75, 1),
    minimumThroughput: FastCheck.integer({ min: 1, max: 6 }),
    window: windowArb
  }).map((p): TripPolicy => ({
    _tag: tag,
    ...p,
    minimumThroughput: p.window._tag === "Calls" ? Math.min(p.minimumThroughput, p.window.size) : p.minimumThroughput
  }))

const policiesArb = FastCheck.array(
  FastCheck.oneof(
    FastCheck.integer({ min: 1, max: 5 }).map((threshold): TripPolicy => ({ _tag: "ConsecutiveFailures", threshold })),
    rateArb("FailureRate"),
    rateArb("SlowCallRate")
  ),
  { minLength: 1, maxLength: 3 }
)

const configArb = FastCheck.record({
  policies: policiesArb,
  slowCallDuration: FastCheck.integer({ min: 20, max: 400 }),
  halfOpenMaxCalls: FastCheck.integer({ min: 1, max: 3 }),
  successRatio: FastCheck.double({ min: 0, max: 1, noNaN: true }),
  maxHalfOpenDuration: FastCheck.integer({ min: 200, max: 3_000 }),
  baseOpen: FastCheck.integer({ min: 10, max: 1_000 }),
  growing: FastCheck.boolean()
})

type Op =
  | { readonly _tag: "start" }
  | { readonly _tag: "finish"; readonly pick: number; readonly outcome: "success" | "failure" | "ignored" }
  | { readonly _tag: "advance"; readonly ms: number }
  | { readonly _tag: "manual"; readonly op: "isolate" | "reset" | "disable" | "metricsOnly" | "remoteOpen" }

const opArb: FastCheck.Arbitrary<Op> = FastCheck.oneof(
  { weight: 12, arbitrary: FastCheck.constant({ _tag: "start" as const }) },
  {
    weight: 12,
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("finish" as const),
      pick: FastCheck.nat(),
      outcome: FastCheck.constantFrom("success" as const, "success" as const, "failure" as const, "ignored" as const)
    })
  },
  {
    weight: 8,
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("advance" as const),
      ms: FastCheck.oneof(FastCheck.integer({ min: 0, max: 100 }), FastCheck.integer({ min: 100, max: 5_000 }))
    })
  },
  {
    weight: 1,
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("manual" as const),
      op: FastCheck.constantFrom(
        "isolate" as const,
        "reset" as const,
        "reset" as const,
        "disable" as const,
        "metricsOnly" as const,
        "remoteOpen" as const
      )
    })
  }
)

// Plain checks: `expect` on every step of 1,000 runs would dominate the test's time.
const same = <T>(actual: T, expected: T, what: string): void => {
  if (actual !== expected) throw new Error(`${what}: got ${String(actual)}, model says ${String(expected)}`)
}

const opsArb = FastCheck.array(opArb, { minLength: 20, maxLength: 200, size: "max" })

const legal = new Set(legalTransitions.map(([from, to]) => `${from}>${to}`))

describe("circuit breaker state machine against a reference model", () => {
  it("makes the same decisions and only legal transitions over 1,000 random runs", () => {
    FastCheck.assert(
      FastCheck.property(configArb, opsArb, (c, ops) => {
        const successThreshold = Math.max(1, Math.ceil(c.successRatio * c.halfOpenMaxCalls))
        const cap = c.baseOpen * 8
        const openFor = (trip: number) => c.growing ? Math.min(c.baseOpen * 2 ** (trip - 1), cap) : c.baseOpen
        const machineConfig: MachineConfig = {
          policies: c.policies,
          slowCallDuration: c.slowCallDuration,
          halfOpenMaxCalls: c.halfOpenMaxCalls,
          successThreshold,
          maxHalfOpenDuration: c.maxHalfOpenDuration,
          openDuration: c.growing
            ? scheduleOpenDuration(Schedule.exponential(c.baseOpen).pipe(Schedule.union(Schedule.spaced(cap))))
            : fixedOpenDuration(c.baseOpen),
          initialState: "Closed"
        }
        const model = new Model({ ...machineConfig, openFor })
        let now = 1_000
        const machine = new Machine(machineConfig, now)
        const seen: Array<readonly [State, State]> = []
        machine.listener = { onTransition: (t) => seen.push([t.from, t.to]), onShadowTrip: () => undefined }
        const inFlight: Array<{ readonly machine: number; readonly model: number; readonly start: number }> = []

        for (const op of ops) {
          switch (op._tag) {
            case "start": {
              const a = machine.acquire(now)
              const b = model.acquire(now)
              same(a === REJECTED, b === REJECTED, "rejected")
              if (a !== REJECTED) inFlight.push({ machine: a, model: b, start: now })
              break
            }
            case "finish": {
              if (inFlight.length === 0) break
              const [call] = inFlight.splice(op.pick % inFlight.length, 1)
              const duration = now - call!.start
              if (op.outcome === "success") machine.onSuccess(call!.machine, now, duration)
              else if (op.outcome === "failure") machine.onFailure(call!.machine, now, duration)
              else machine.onIgnored(call!.machine)
              model.finish(call!.model, op.outcome, now, duration)
              break
            }
            case "advance":
              now += op.ms
              break
            case "manual":
              if (op.op === "remoteOpen") machine.remoteOpen(now)
              else machine[op.op](now)
              model.manual(op.op, now)
              break
          }
          same(machine.state, model.state, "state")
          same(machine.retryAfter(now), model.state === "Open" ? Math.max(0, model.openUntil - now) : 0, "retryAfter")
        }
        same(seen.join(" "), model.transitions.join(" "), "transitions")
        for (const [from, to] of seen) same(legal.has(`${from}>${to}`), true, `legal ${from} > ${to}`)
      }),
      { numRuns: 1_000 }
    )
  })
})
