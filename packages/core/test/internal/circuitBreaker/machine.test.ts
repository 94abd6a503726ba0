import { describe, expect, it } from "@effect/vitest"
import {
  fixedOpenDuration,
  Machine,
  type MachineConfig,
  REJECTED,
  type Transition
} from "../../../src/internal/circuitBreaker/machine.js"
import { lastCalls, lastMillis } from "../../../src/internal/circuitBreaker/policy.js"

const config = (overrides: Partial<MachineConfig> = {}): MachineConfig => ({
  policies: [{ _tag: "ConsecutiveFailures", threshold: 3 }],
  slowCallDuration: Number.POSITIVE_INFINITY,
  halfOpenMaxCalls: 1,
  successThreshold: 1,
  maxHalfOpenDuration: 60_000,
  openDuration: fixedOpenDuration(1_000),
  initialState: "Closed",
  ...overrides
})

const recording = (overrides: Partial<MachineConfig> = {}) => {
  const machine = new Machine(config(overrides), 0)
  const transitions: Array<Transition> = []
  const shadow: Array<string> = []
  machine.listener = {
    onTransition: (t) => transitions.push(t),
    onShadowTrip: (reason) => shadow.push(reason)
  }
  return { machine, transitions, shadow }
}

const fail = (machine: Machine, now: number, duration = 0) => machine.onFailure(machine.acquire(now), now, duration)
const succeed = (machine: Machine, now: number, duration = 0) => machine.onSuccess(machine.acquire(now), now, duration)

describe("circuit breaker state machine", () => {
  it("opens after the threshold of consecutive failures and rejects until the recovery timeout", () => {
    const { machine, transitions } = recording()
    fail(machine, 0)
    fail(machine, 0)
    expect(machine.state).toBe("Closed")
    fail(machine, 10)
    expect(machine.state).toBe("Open")
    expect(transitions).toEqual([
      { from: "Closed", to: "Open", reason: "ConsecutiveFailures", at: 10, openUntil: 1_010 }
    ])
    expect(machine.acquire(500)).toBe(REJECTED)
    expect(machine.retryAfter(500)).toBe(510)
    expect(machine.acquire(1_009)).toBe(REJECTED)
    expect(machine.acquire(1_010)).not.toBe(REJECTED)
    expect(machine.state).toBe("HalfOpen")
    expect(machine.rejections).toBe(2)
  })

  it("starts the consecutive count again after a success", () => {
    const { machine } = recording()
    fail(machine, 0)
    fail(machine, 0)
    succeed(machine, 0)
    fail(machine, 0)
    fail(machine, 0)
    expect(machine.state).toBe("Closed")
  })

  it("lets one probe through while half-open and rejects everyone else at once", () => {
    const { machine } = recording()
    for (let i = 0; i < 3; i++) fail(machine, 0)
    const probe = machine.acquire(1_000)
    expect(probe).not.toBe(REJECTED)
    expect(machine.acquire(1_000)).toBe(REJECTED)
    expect(machine.acquire(1_500)).toBe(REJECTED)
    machine.onSuccess(probe, 1_600, 600)
    expect(machine.state).toBe("Closed")
    expect(machine.trips).toBe(0)
  })

  it("reopens when a probe fails, with the next open duration", () => {
    const durations = [1_000, 2_000, 4_000]
    let trip = 0
    const { machine, transitions } = recording({
      openDuration: { next: () => durations[Math.min(trip++, 2)]!, reset: () => void (trip = 0), restore: () => {} }
    })
    for (let i = 0; i < 3; i++) fail(machine, 0)
    expect(machine.openUntil).toBe(1_000)
    fail(machine, 1_000)
    expect(machine.state).toBe("Open")
    expect(machine.openUntil).toBe(3_000)
    fail(machine, 3_000)
    expect(machine.openUntil).toBe(7_000)
    succeed(machine, 7_000)
    expect(machine.state).toBe("Closed")
    for (let i = 0; i < 3; i++) fail(machine, 8_000)
    expect(machine.openUntil).toBe(9_000)
    expect(transitions.map((t) => `${t.from}>${t.to}:${t.reason}`)).toEqual([
      "Closed>Open:ConsecutiveFailures",
      "Open>HalfOpen:RecoveryTimeoutElapsed",
      "HalfOpen>Open:ProbeFailed",
      "Open>HalfOpen:RecoveryTimeoutElapsed",
      "HalfOpen>Open:ProbeFailed",
      "Open>HalfOpen:RecoveryTimeoutElapsed",
      "HalfOpen>Closed:ProbesSucceeded",
      "Closed>Open:ConsecutiveFailures"
    ])
  })

  it("closes after the success threshold of several permitted probes", () => {
    const { machine } = recording({ halfOpenMaxCalls: 3, successThreshold: 2 })
    for (let i = 0; i < 3; i++) fail(machine, 0)
    const a = machine.acquire(1_000)
    const b = machine.acquire(1_000)
    const c = machine.acquire(1_000)
    expect([a, b, c]).not.toContain(REJECTED)
    expect(machine.acquire(1_000)).toBe(REJECTED)
    machine.onSuccess(a, 1_001, 1)
    expect(machine.state).toBe("HalfOpen")
    machine.onSuccess(b, 1_002, 2)
    expect(machine.state).toBe("Closed")
    machine.onFailure(c, 1_003, 3)
    expect(machine.state).toBe("Closed")
  })

  it("frees an ignored or interrupted probe's slot, so it never stays half-open", () => {
    const { machine } = recording()
    for (let i = 0; i < 3; i++) fail(machine, 0)
    const probe = machine.acquire(1_000)
    expect(machine.acquire(1_000)).toBe(REJECTED)
    machine.onIgnored(probe)
    const next = machine.acquire(1_001)
    expect(next).not.toBe(REJECTED)
    machine.onSuccess(next, 1_002, 1)
    expect(machine.state).toBe("Closed")
  })

  it("reopens a half-open breaker whose probe hangs past maxHalfOpenDuration", () => {
    const { machine, transitions } = recording({ maxHalfOpenDuration: 5_000 })
    for (let i = 0; i < 3; i++) fail(machine, 0)
    const hung = machine.acquire(1_000)
    expect(machine.acquire(5_999)).toBe(REJECTED)
    expect(machine.state).toBe("HalfOpen")
    expect(machine.acquire(6_000)).toBe(REJECTED)
    expect(machine.state).toBe("Open")
    expect(transitions.at(-1)?.reason).toBe("ProbeTimedOut")
    machine.onSuccess(hung, 6_500, 5_500)
    expect(machine.state).toBe("Open")
    expect(machine.acquire(7_000)).not.toBe(REJECTED)
  })

  it("ignores the outcome of a call that started before a transition (opossum #381)", () => {
    const { machine } = recording()
    const slow = machine.acquire(0)
    for (let i = 0; i < 3; i++) fail(machine, 10)
    expect(machine.state).toBe("Open")
    machine.onSuccess(slow, 20, 20)
    expect(machine.state).toBe("Open")
    const probe = machine.acquire(1_010)
    expect(machine.state).toBe("HalfOpen")
    machine.onSuccess(slow, 1_011, 1_011)
    expect(machine.state).toBe("HalfOpen")
    machine.onFailure(probe, 1_012, 2)
    expect(machine.state).toBe("Open")
    expect(machine.successes).toBe(2)
  })

  it("opens exactly once when many calls of one generation fail together (opossum #385)", () => {
    const { machine, transitions } = recording()
    const permits = Array.from({ length: 20 }, () => machine.acquire(0))
    for (const permit of permits) machine.onFailure(permit, 5, 5)
    expect(transitions).toHaveLength(1)
    expect(machine.state).toBe("Open")
    expect(machine.failures).toBe(20)
  })

  it("opens on the failure ratio over the last N calls", () => {
    const { machine, transitions } = recording({
      policies: [{ _tag: "FailureRate", threshold: 0.5, minimumThroughput: 4, window: lastCalls(4) }]
    })
    for (const outcome of ["f", "s", "s", "s", "f"] as const) {
      if (outcome === "f") fail(machine, 0)
      else succeed(machine, 0)
    }
    expect(machine.state).toBe("Closed")
    fail(machine, 0)
    expect(machine.state).toBe("Open")
    expect(transitions[0]?.reason).toBe("FailureRate")
  })

  it("never trips a ratio policy below its minimum throughput", () => {
    const { machine } = recording({
      policies: [{ _tag: "FailureRate", threshold: 0.5, minimumThroughput: 10, window: lastMillis(60_000) }]
    })
    for (let i = 0; i < 9; i++) fail(machine, i)
    expect(machine.state).toBe("Closed")
    fail(machine, 9)
    expect(machine.state).toBe("Open")
  })

  it("opens on the slow-call ratio, and counts slow probes as failed probes", () => {
    const { machine, transitions } = recording({
      policies: [{ _tag: "SlowCallRate", threshold: 0.5, minimumThroughput: 2, window: lastCalls(2) }],
      slowCallDuration: 100
    })
    succeed(machine, 0, 99)
    succeed(machine, 0, 10)
    expect(machine.state).toBe("Closed")
    succeed(machine, 0, 100)
    expect(machine.state).toBe("Open")
    expect(transitions[0]?.reason).toBe("SlowCallRate")
    expect(machine.slowCalls).toBe(1)
    succeed(machine, 1_000, 150)
    expect(machine.state).toBe("Open")
    expect(transitions.at(-1)?.reason).toBe("ProbeFailed")
  })

  it("holds an isolated breaker open until reset, and lets everything through when disabled", () => {
    const { machine } = recording()
    machine.isolate(0)
    expect(machine.acquire(1_000_000)).toBe(REJECTED)
    expect(machine.retryAfter(0)).toBe(0)
    machine.disable(1)
    for (let i = 0; i < 10; i++) fail(machine, 2)
    expect(machine.state).toBe("Disabled")
    machine.reset(3)
    expect(machine.state).toBe("Closed")
    expect(machine.acquire(4)).not.toBe(REJECTED)
  })

  it("never rejects in metrics-only mode, but counts the trips it would have made", () => {
    const { machine, transitions, shadow } = recording({ initialState: "MetricsOnly" })
    for (let i = 0; i < 7; i++) fail(machine, i)
    expect(machine.state).toBe("MetricsOnly")
    expect(transitions).toEqual([])
    expect(shadow).toEqual(["ConsecutiveFailures", "ConsecutiveFailures"])
    expect(machine.shadowTrips).toBe(2)
  })

  it("opens a closed breaker on a remote signal, and never lets a signal close or reopen one", () => {
    const { machine } = recording()
    expect(machine.remoteOpen(0)).toBe(true)
    expect(machine.state).toBe("Open")
    expect(machine.remoteOpen(1)).toBe(false)
    machine.isolate(2)
    expect(machine.remoteOpen(3)).toBe(false)
    expect(machine.state).toBe("Isolated")
  })

  it("saves a half-open breaker as open and due, so the restored one probes at once", () => {
    const { machine } = recording()
    for (let i = 0; i < 3; i++) fail(machine, 0)
    machine.acquire(1_000)
    expect(machine.state).toBe("HalfOpen")
    const saved = machine.snapshot(1_200)
    expect(saved).toMatchObject({ state: "Open", openUntil: 1_200, trips: 1 })
    const restored = new Machine(config(), 5_000)
    restored.restore(saved, 5_000)
    expect(restored.state).toBe("Open")
    expect(restored.acquire(5_000)).not.toBe(REJECTED)
    expect(restored.state).toBe("HalfOpen")
  })

  it("keeps the counters of its windows across a snapshot", () => {
    const policies = [
      { _tag: "ConsecutiveFailures", threshold: 3 } as const,
      { _tag: "FailureRate", threshold: 0.5, minimumThroughput: 4, window: lastCalls(4) } as const
    ]
    const { machine } = recording({ policies })
    fail(machine, 0)
    fail(machine, 0)
    succeed(machine, 0)
    const restored = new Machine(config({ policies }), 0)
    restored.restore(machine.snapshot(0), 0)
    fail(restored, 0)
    expect(restored.state).toBe("Open")
  })
})
