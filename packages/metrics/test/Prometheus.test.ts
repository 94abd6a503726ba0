import { Metrics } from "@integration-patterns/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Prometheus from "../src/Prometheus.js"
import { family, histogram, parse, series, value } from "./prometheusParser.js"

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`

describe("Prometheus.text", () => {
  it.effect("exposes the toolkit's counters, gauges and histograms with the values recorded", () =>
    Effect.gen(function*() {
      const name = unique("payments")
      const m = new Metrics.PatternMetrics("CircuitBreaker", name)
      for (let i = 0; i < 3; i++) m.count(Metrics.calls, "success")
      m.count(Metrics.calls, "failure", 2)
      for (let i = 0; i < 4; i++) m.reject("open")
      m.set(Metrics.circuitBreakerState, 1)
      m.count(Metrics.circuitBreakerTransitions, "Open")
      for (const seconds of [0.003, 0.02, 0.2, 7, 100]) m.observe(Metrics.callDuration, seconds)

      const text = yield* Prometheus.text
      const families = parse(text)
      const mine = { pattern: "CircuitBreaker", name }

      const calls = family(families, "integration_patterns_calls_total")
      expect(calls.type).toBe("COUNTER")
      expect(calls.help).toBe("Calls through a pattern, by outcome")
      expect(value(families, "integration_patterns_calls_total", { ...mine, outcome: "success" })).toBe(3)
      expect(value(families, "integration_patterns_calls_total", { ...mine, outcome: "failure" })).toBe(2)
      expect(value(families, "integration_patterns_rejections_total", { ...mine, reason: "open" })).toBe(4)
      expect(value(families, "integration_patterns_circuit_breaker_transitions_total", { ...mine, outcome: "Open" }))
        .toBe(1)

      expect(family(families, "integration_patterns_circuit_breaker_state").type).toBe("GAUGE")
      expect(value(families, "integration_patterns_circuit_breaker_state", mine)).toBe(1)

      const duration = family(families, "integration_patterns_call_duration_seconds")
      expect(duration.type).toBe("HISTOGRAM")
      expect(duration.help).toBe("Duration of calls through a pattern, in seconds")
      const recorded = histogram(text, "integration_patterns_call_duration_seconds", mine)
      expect(recorded.buckets).toEqual({
        "0.001": 0,
        "0.005": 1,
        "0.01": 1,
        "0.025": 2,
        "0.05": 2,
        "0.1": 2,
        "0.25": 3,
        "0.5": 3,
        "1": 3,
        "2.5": 3,
        "5": 3,
        "10": 4,
        "30": 4,
        "60": 4,
        "+Inf": 5
      })
      expect(recorded.count).toBe(5)
      expect(recorded.sum).toBeCloseTo(107.223, 9)
    }))

  it.effect("reflects later updates in the next scrape", () =>
    Effect.gen(function*() {
      const name = unique("db")
      const m = new Metrics.PatternMetrics("Bulkhead", name)
      m.set(Metrics.bulkheadActive, 10)
      m.set(Metrics.bulkheadQueued, 4)
      const first = parse(yield* Prometheus.text)
      expect(value(first, "integration_patterns_bulkhead_queued", { name })).toBe(4)
      m.set(Metrics.bulkheadQueued, 0)
      m.reject("queue_full")
      const second = parse(yield* Prometheus.text)
      expect(value(second, "integration_patterns_bulkhead_queued", { name })).toBe(0)
      expect(value(second, "integration_patterns_bulkhead_active", { name })).toBe(10)
      expect(value(second, "integration_patterns_rejections_total", { name, reason: "queue_full" })).toBe(1)
    }))

  it.effect("records nothing for an instance built with metrics disabled", () =>
    Effect.gen(function*() {
      const name = unique("quiet")
      new Metrics.PatternMetrics("Retry", name, false).count(Metrics.calls, "success")
      const families = parse(yield* Prometheus.text)
      expect(families.flatMap((f) => f.metrics).some((sample) => sample.labels?.name === name)).toBe(false)
    }))
})

describe("Prometheus.format", () => {
  it.effect("writes HELP and TYPE once per family, counters with _total, and escapes help and label values", () =>
    Effect.gen(function*() {
      const id = unique("x").replace("-", "_")
      const counter = Metric.counter(`esc_${id}`, { description: "Line one\nback\\slash" })
      const tricky = "quote \" backslash \\ newline \n end"
      yield* Metric.increment(Metric.tagged(counter, "path", tricky))
      yield* Metric.incrementBy(Metric.tagged(counter, "path", "plain"), 2)
      const pairs = (yield* Metric.snapshot).filter((pair) => pair.metricKey.name === `esc_${id}`)
      const text = Prometheus.format(pairs)
      expect(text).toBe(
        [
          `# HELP esc_${id}_total Line one\\nback\\\\slash`,
          `# TYPE esc_${id}_total counter`,
          `esc_${id}_total{path="quote \\" backslash \\\\ newline \\n end"} 1`,
          `esc_${id}_total{path="plain"} 2`,
          ""
        ].join("\n")
      )
      const families = parse(text)
      expect(families[0]!.help).toBe("Line one\nback\\slash")
      expect(series(families, `esc_${id}_total`, { path: tricky })[0]!.value).toBe("1")
    }))

  it.effect("keeps an existing _total suffix, cleans names and label names, and renders bigint counters", () =>
    Effect.gen(function*() {
      const id = unique("y").replace("-", "_")
      yield* Metric.incrementBy(Metric.counter(`jobs_${id}_total`, { bigint: true }), BigInt("9007199254740993"))
      yield* Metric.set(Metric.tagged(Metric.gauge(`queue.depth-${id}`), "shard-id", "7"), 3.5)
      const pairs = (yield* Metric.snapshot).filter((pair) => pair.metricKey.name.endsWith(id) || pair.metricKey.name.endsWith(`${id}_total`))
      const text = Prometheus.format(pairs)
      expect(text).toContain(`jobs_${id}_total 9007199254740993\n`)
      expect(text).not.toContain("_total_total")
      expect(text).toContain(`queue_depth_${id}{shard_id="7"} 3.5\n`)
      const families = parse(text)
      expect(family(families, `jobs_${id}_total`).type).toBe("COUNTER")
      expect(family(families, `queue_depth_${id}`).type).toBe("GAUGE")
    }))

  it.effect("renders summaries and frequencies in a form the parser accepts", () =>
    Effect.gen(function*() {
      const id = unique("z").replace("-", "_")
      const summary = Metric.summary({
        name: `latency_${id}`,
        maxAge: "1 minute",
        maxSize: 100,
        error: 0.01,
        quantiles: [0.5, 0.99],
        description: "latency"
      })
      for (const v of [1, 2, 3, 4]) yield* Metric.update(summary, v)
      const frequency = Metric.frequency(`outcomes_${id}`)
      for (const v of ["ok", "ok", "err"]) yield* Metric.update(frequency, v)
      const histogram = Metric.histogram(`sizes_${id}`, MetricBoundaries.fromIterable([10, 100]))
      yield* Metric.update(histogram, 50)

      const pairs = (yield* Metric.snapshot).filter((pair) => pair.metricKey.name.endsWith(id))
      const text = Prometheus.format(pairs)
      const families = parse(text)
      const latency = family(families, `latency_${id}`)
      expect(latency.type).toBe("SUMMARY")
      expect(Number(latency.metrics[0]!.count)).toBe(4)
      expect(Number(latency.metrics[0]!.sum)).toBe(10)
      expect(Object.keys(latency.metrics[0]!.quantiles ?? {})).toEqual(["0.5", "0.99"])
      expect(family(families, `outcomes_${id}_total`).type).toBe("COUNTER")
      expect(value(families, `outcomes_${id}_total`, { key: "ok" })).toBe(2)
      expect(value(families, `outcomes_${id}_total`, { key: "err" })).toBe(1)
      expect(family(families, `sizes_${id}`).type).toBe("HISTOGRAM")
      expect(series(families, `sizes_${id}`, {})[0]).toEqual({
        buckets: { "10": "0", "100": "1", "+Inf": "1" },
        count: "1",
        sum: "50"
      })
    }))

  it.effect("keeps the first metric when two of different kinds share an exposition name", () =>
    Effect.gen(function*() {
      const id = unique("w").replace("-", "_")
      yield* Metric.set(Metric.gauge(`clash_${id}`), 1)
      yield* Metric.update(Metric.histogram(`clash_${id}`, MetricBoundaries.fromIterable([1])), 0.5)
      const pairs = (yield* Metric.snapshot).filter((pair) => pair.metricKey.name === `clash_${id}`)
      expect(pairs).toHaveLength(2)
      const families = parse(Prometheus.format(pairs))
      expect(families.map((f) => [f.name, f.type])).toEqual([[`clash_${id}`, "GAUGE"]])
    }))

  it("renders nothing for no metrics", () => {
    expect(Prometheus.format([])).toBe("")
  })
})
