import { IntegrationPatterns, Metrics } from "@integration-patterns/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as dashboard from "../../src/internal/dashboard.js"
import { unique } from "../fakes.js"

const healthOf = (
  patterns: ReadonlyArray<IntegrationPatterns.PatternHealthReport>
): IntegrationPatterns.HealthReport => ({ status: "healthy", reasons: [], patterns, timestamp: 5 })

describe("dashboard.snapshot", () => {
  it.effect("counts requests, failures and rejections of each instance from the toolkit's metrics", () =>
    Effect.gen(function*() {
      const name = unique("orders")
      const m = new Metrics.PatternMetrics("Bulkhead", name)
      m.count(Metrics.calls, "success", 7)
      m.count(Metrics.calls, "failure", 2)
      m.count(Metrics.calls, "timeout", 1)
      m.count(Metrics.calls, "rejected", 3)
      m.reject("queue_full")
      m.reject("queue_full")
      m.reject("queue_timeout")
      m.set(Metrics.bulkheadActive, 4)
      m.set(Metrics.bulkheadQueued, 6)
      // another instance's series must not leak in
      new Metrics.PatternMetrics("Bulkhead", `${name}-other`).count(Metrics.calls, "failure", 50)

      const snapshot = dashboard.snapshot(
        { timestamp: 5, patterns: [{ kind: "Bulkhead", name, stats: { custom: true } }] },
        healthOf([{ kind: "Bulkhead", name, status: "degraded", reasons: ["saturated"] }]),
        yield* Metric.snapshot
      )
      expect(snapshot.tiles).toEqual([{
        kind: "Bulkhead",
        name,
        status: "degraded",
        reasons: ["saturated"],
        state: null,
        requests: 13,
        failures: 3,
        rejections: 3,
        active: 4,
        queued: 6,
        stats: { custom: true }
      }])
    }))

  it.effect("reads a breaker's state from its stats, or else from the state gauge", () =>
    Effect.gen(function*() {
      const name = unique("payments")
      new Metrics.PatternMetrics("CircuitBreaker", name).set(Metrics.circuitBreakerState, 2)
      const pairs = yield* Metric.snapshot
      const tile = (stats: Record<string, unknown>) =>
        dashboard.snapshot(
          { timestamp: 0, patterns: [{ kind: "CircuitBreaker", name, stats }] },
          healthOf([]),
          pairs
        ).tiles[0]!
      expect(tile({}).state).toBe("HalfOpen")
      expect(tile({ state: "Isolated" }).state).toBe("Isolated")
    }))

  it("falls back on the instance's stats when it records no metrics, and on the limiter's decisions", () => {
    const snapshot = dashboard.snapshot(
      {
        timestamp: 0,
        patterns: [{ kind: "Retry", name: "no-metrics", stats: { calls: 10, failures: 4, rejected: 1, queued: 2 } }]
      },
      healthOf([]),
      []
    )
    expect(snapshot.tiles[0]).toMatchObject({ requests: 10, failures: 4, rejections: 1, queued: 2, active: null })
  })

  it.effect("counts a limiter's requests and rejections from its decisions", () =>
    Effect.gen(function*() {
      const name = unique("api")
      const m = new Metrics.PatternMetrics("RateLimiter", name)
      m.count(Metrics.rateLimiterDecisions, "allowed", 9)
      m.count(Metrics.rateLimiterDecisions, "rejected", 3)
      m.reject("rate_limited")
      m.reject("rate_limited")
      m.reject("rate_limited")
      const [tile] = dashboard.snapshot(
        { timestamp: 0, patterns: [{ kind: "RateLimiter", name, stats: {} }] },
        healthOf([]),
        yield* Metric.snapshot
      ).tiles
      expect(tile).toMatchObject({ requests: 12, rejections: 3, failures: 0 })
    }))

  it("matches health to instances by kind and name, in order, and carries the overall status", () => {
    const snapshot = dashboard.snapshot(
      {
        timestamp: 9,
        patterns: [
          { kind: "Retry", name: "a", stats: {} },
          { kind: "Timeout", name: "a", stats: {} },
          { kind: "Retry", name: "a", stats: {} }
        ]
      },
      {
        status: "unhealthy",
        reasons: ["x"],
        timestamp: 9,
        patterns: [
          { kind: "Timeout", name: "a", status: "healthy", reasons: [] },
          { kind: "Retry", name: "a", status: "unhealthy", reasons: ["first"] },
          { kind: "Retry", name: "a", status: "degraded", reasons: ["second"] }
        ]
      },
      []
    )
    expect(snapshot.status).toBe("unhealthy")
    expect(snapshot.reasons).toEqual(["x"])
    expect(snapshot.tiles.map((t) => [t.kind, t.status])).toEqual([
      ["Retry", "unhealthy"],
      ["Timeout", "healthy"],
      ["Retry", "degraded"]
    ])
  })
})

describe("dashboard.sseMessage", () => {
  it("writes one event per message, with JSON on one data line", () => {
    expect(dashboard.sseMessage("pattern", { text: "two\nlines" })).toBe(
      "event: pattern\ndata: {\"text\":\"two\\nlines\"}\n\n"
    )
  })

  it("encodes bigints, errors and cycles without throwing", () => {
    const cyclic: Record<string, unknown> = { id: 1 }
    cyclic.self = cyclic
    const decoded = JSON.parse(dashboard.toJson({ big: BigInt(2) ** BigInt(70), error: new Error("boom"), cyclic }))
    expect(decoded.big).toBe("1180591620717411303424")
    expect(decoded.error).toMatchObject({ name: "Error", message: "boom" })
    expect(decoded.cyclic).toEqual({ id: 1, self: "[Circular]" })
  })
})
