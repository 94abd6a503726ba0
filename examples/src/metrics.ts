// Metrics and health with the Effect API: every pattern records Effect metrics and reports
// its own health. Prometheus text and the health report show a breaker that opened.
// Run: node --conditions=source --import tsx examples/src/metrics.ts
import { CircuitBreaker, IntegrationPatterns, Retry } from "@integration-patterns/core"
import { Prometheus } from "@integration-patterns/metrics"
import { Console, Data, Effect } from "effect"
import { pathToFileURL } from "node:url"

class Unavailable extends Data.TaggedError("Unavailable")<{}> {}

export const main = Effect.gen(function*() {
  // Retry only the service's own failure, not the breaker's rejections.
  const retry = yield* Retry.make({ name: "inventory", maxAttempts: 2, baseDelay: "10 millis", retryOn: ["Unavailable"] })
  const breaker = yield* CircuitBreaker.make({ name: "inventory", failureThreshold: 3 })
  let calls = 0
  const reserve = Effect.suspend(() => (++calls === 1 ? Effect.succeed("reserved") : Effect.fail(new Unavailable())))

  // The first call succeeds; then the service fails, and the breaker opens after 3 failures.
  for (let i = 0; i < 4; i++) yield* reserve.pipe(breaker.execute, retry.execute, Effect.ignore)

  // What Prometheus would scrape (GET /metrics serves the same text).
  const text = yield* Prometheus.text
  const lines = text.split("\n").filter((line) => line.startsWith("integration_patterns_") && line.includes(`name="inventory"`))
  yield* Console.log(lines.filter((line) => !line.includes("_bucket")).join("\n"))

  // What a readiness probe would read (GET /health answers 503 while unhealthy).
  const health = yield* IntegrationPatterns.getHealth
  yield* Console.log(`health: ${health.status}; ${health.reasons.join("; ")}`)
  return { lines, health }
}).pipe(Effect.scoped)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Effect.runPromise(main)
}
