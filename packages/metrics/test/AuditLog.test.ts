import { PatternEvents } from "@integration-patterns/core"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as AuditLog from "../src/AuditLog.js"
import { publish } from "./fakes.js"

interface Line {
  readonly message: string
  readonly level: string
  readonly annotations: Record<string, unknown>
}

// Captures log lines, and resolves `done` once `expected` lines are in.
const capture = (expected: number) =>
  Effect.gen(function*() {
    const lines: Array<Line> = []
    const done = yield* Deferred.make<ReadonlyArray<Line>>()
    const logger = Logger.make(({ annotations, logLevel, message }) => {
      lines.push({
        message: (Array.isArray(message) ? message : [message]).join(" "),
        level: logLevel.label,
        annotations: Object.fromEntries(HashMap.toEntries(annotations))
      })
      if (lines.length === expected) Deferred.unsafeDone(done, Effect.succeed(lines))
    })
    return { lines, done, layer: Logger.replace(Logger.defaultLogger, logger) }
  })

const rejected = (key: string) => ({
  _tag: "RateLimitRejected",
  pattern: "RateLimiter" as const,
  name: "api",
  timestamp: 1000,
  key,
  cost: 1,
  limit: 10,
  retryAfter: 250,
  scope: "key",
  mode: "reject"
})

const stateChanged = (from: string, to: string, reason: string) => ({
  _tag: "StateChanged",
  pattern: "CircuitBreaker" as const,
  name: "payments",
  timestamp: 2000,
  from,
  to,
  reason,
  retryAfter: 0
})

describe("AuditLog.layer", () => {
  it.scoped("logs rate-limit rejections per key and operator breaker changes, with structured fields", () =>
    Effect.gen(function*() {
      const bus = PatternEvents.unsafeMake()
      const { done, layer } = yield* capture(4)
      yield* Layer.build(AuditLog.layer.pipe(
        Layer.provide(Layer.mergeAll(layer, Layer.succeed(PatternEvents.PatternEvents, bus)))
      ))
      expect(bus.active).toBe(true)

      publish(bus, rejected("user-1"))
      publish(bus, stateChanged("Closed", "Open", "ConsecutiveFailures"))
      publish(bus, { _tag: "CallSucceeded", pattern: "CircuitBreaker", name: "payments", timestamp: 3, duration: 1 })
      publish(bus, rejected("user-2"))
      publish(bus, stateChanged("Closed", "Isolated", "Isolated"))
      publish(bus, stateChanged("Isolated", "Closed", "operator"))

      const lines = yield* Deferred.await(done)
      expect(lines.map((line) => [line.level, line.message])).toEqual([
        ["INFO", "rate limit \"api\" rejected key \"user-1\""],
        ["INFO", "rate limit \"api\" rejected key \"user-2\""],
        ["WARN", "circuit breaker \"payments\" forced Isolated by an operator (was Closed)"],
        ["WARN", "circuit breaker \"payments\" forced Closed by an operator (was Isolated)"]
      ])
      expect(lines[0]!.annotations).toEqual({
        audit: "rate_limit_rejected",
        pattern: "RateLimiter",
        name: "api",
        key: "user-1",
        limit: 10,
        retryAfter: 250,
        cost: 1,
        scope: "key",
        eventTimestamp: 1000
      })
      expect(lines[3]!.annotations).toEqual({
        audit: "breaker_forced",
        pattern: "CircuitBreaker",
        name: "payments",
        from: "Isolated",
        to: "Closed",
        reason: "operator",
        eventTimestamp: 2000
      })
    }))

  it.effect("stops listening when its scope closes", () =>
    Effect.gen(function*() {
      const bus = PatternEvents.unsafeMake()
      yield* Effect.scoped(Layer.build(AuditLog.layer.pipe(Layer.provide(Layer.succeed(PatternEvents.PatternEvents, bus)))))
      expect(bus.active).toBe(false)
    }))
})

describe("AuditLog.entryOf", () => {
  it("audits a breaker change only when an operator made it", () => {
    expect(AuditLog.entryOf(stateChanged("Closed", "Open", "FailureRate"))).toBeUndefined()
    expect(AuditLog.entryOf(stateChanged("Open", "HalfOpen", "RecoveryTimeoutElapsed"))).toBeUndefined()
    expect(AuditLog.entryOf(stateChanged("Open", "Closed", "Reset"))?.level).toBe(LogLevel.Warning)
    expect(AuditLog.entryOf(stateChanged("Closed", "Open", "manual"))?.annotations.audit).toBe("breaker_forced")
    const manual = { ...stateChanged("Closed", "Open", "x"), manual: true }
    expect(AuditLog.entryOf(manual)).toBeDefined()
    const named = { ...stateChanged("Closed", "Open", "x"), operator: "alice" }
    expect(AuditLog.entryOf(named)?.annotations.operator).toBe("alice")
  })

  it("ignores other events and keeps odd fields out of the annotations", () => {
    expect(AuditLog.entryOf({ _tag: "CallRejected", pattern: "CircuitBreaker", name: "p", timestamp: 0 })).toBeUndefined()
    const entry = AuditLog.entryOf({ ...rejected("k"), limit: { nested: true } } as never)
    expect(entry?.annotations).not.toHaveProperty("limit")
    expect(entry?.message).toBe("rate limit \"api\" rejected key \"k\"")
  })
})
