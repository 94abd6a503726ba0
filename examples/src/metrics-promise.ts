// Metrics, health and the dashboard with the Promise API: the HTTP endpoints on a free
// local port, read back with fetch. Run: node --conditions=source --import tsx examples/src/metrics-promise.ts
import { CircuitBreaker, IntegrationPatterns, RateLimiter } from "@integration-patterns/core/promise"
import { HttpEndpoints } from "@integration-patterns/metrics"
import { pathToFileURL } from "node:url"

export const main = async () => {
  // GET /metrics, /health, /dashboard and /events; port 0 picks a free port (9464 by default).
  const server = await HttpEndpoints.serve({ port: 0 })
  try {
    const limiter = new RateLimiter({ name: "api", requestsPerSecond: 1, burstLimit: 2 })
    const breaker = new CircuitBreaker({ name: "payments", failureThreshold: 2 })
    for (let i = 0; i < 3; i++) await limiter.allowRequest("ada")
    for (let i = 0; i < 2; i++) await breaker.execute(() => Promise.reject(new Error("down"))).catch(() => undefined)

    const metrics = await fetch(`${server.url}/metrics`).then((response) => response.text())
    const decisions = metrics.split("\n").filter((line) => line.startsWith("integration_patterns_rate_limiter_decisions"))
    console.log(decisions.join("\n"))

    const health = await fetch(`${server.url}/health`)
    const report = IntegrationPatterns.getHealth() // the same report, in process
    console.log(`GET /health: ${health.status}; ${report.reasons.join("; ")}`)
    console.log(`dashboard: ${server.url}/dashboard`)
    return { decisions, healthStatus: health.status, report, breakerState: breaker.getState(), limiter: limiter.getStats() }
  } finally {
    await server.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main()
}
