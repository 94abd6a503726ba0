import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterEach, beforeEach, vi } from "vitest"
import { main as effectMain } from "../src/metrics.js"
import { main as promiseMain } from "../src/metrics-promise.js"

describe("metrics examples", () => {
  beforeEach(() => {
    vi.spyOn(console, "log").mockImplementation(() => {})
  })
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.live("the Effect example shows the breaker's counters in Prometheus text and an unhealthy report", () =>
    Effect.gen(function*() {
      const { lines, health } = yield* effectMain
      expect(lines).toContain(`integration_patterns_calls_total{pattern="CircuitBreaker",name="inventory",outcome="failure"} 3`)
      expect(lines).toContain(`integration_patterns_rejections_total{pattern="CircuitBreaker",name="inventory",reason="open"} 2`)
      expect(lines).toContain(`integration_patterns_circuit_breaker_state{pattern="CircuitBreaker",name="inventory"} 1`)
      expect(health.status).toBe("unhealthy")
      expect(health.reasons).toContain(`CircuitBreaker "inventory": circuit breaker is open`)
    }))

  it("the Promise example serves /metrics and answers /health with 503 while a breaker is open", async () => {
    const { decisions, healthStatus, report, breakerState } = await promiseMain()
    expect(decisions).toEqual([
      `integration_patterns_rate_limiter_decisions_total{pattern="RateLimiter",name="api",outcome="allowed"} 2`,
      `integration_patterns_rate_limiter_decisions_total{pattern="RateLimiter",name="api",outcome="rejected"} 1`
    ])
    expect(healthStatus).toBe(503)
    expect(breakerState).toBe("Open")
    expect(report.reasons).toContain(`CircuitBreaker "payments": circuit breaker is open`)
  })
})
