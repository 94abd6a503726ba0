import { Metrics } from "@integration-patterns/core"
import { describe, expect, it } from "@effect/vitest"
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  type MetricData,
  MetricReader,
  PeriodicExportingMetricReader,
  type ResourceMetrics
} from "@opentelemetry/sdk-metrics"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as OpenTelemetryMetrics from "../src/OpenTelemetryMetrics.js"

class CollectingReader extends MetricReader {
  shutDown = false
  protected onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected onShutdown(): Promise<void> {
    this.shutDown = true
    return Promise.resolve()
  }
}

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`

const metric = (resourceMetrics: ResourceMetrics, name: string): MetricData => {
  const found = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name)
  if (found === undefined) throw new Error(`metric ${name} not exported`)
  return found
}

const pointsFor = (data: MetricData, name: string) =>
  (data.dataPoints as ReadonlyArray<{ attributes: Record<string, unknown>; value: unknown }>).filter((point) =>
    point.attributes.name === name
  )

describe("OpenTelemetryMetrics.layer", () => {
  it.effect("exports the toolkit's counters, gauges and histograms with their tags as attributes", () =>
    Effect.gen(function*() {
      const reader = new CollectingReader()
      const name = unique("inventory")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(OpenTelemetryMetrics.layer({
          serviceName: "checkout",
          serviceVersion: "1.2.3",
          attributes: { "deployment.environment": "test" },
          readers: () => reader
        }))
        const m = new Metrics.PatternMetrics("Bulkhead", name)
        m.count(Metrics.calls, "success", 5)
        m.count(Metrics.calls, "failure")
        m.reject("queue_full")
        m.set(Metrics.bulkheadQueued, 3)
        m.observe(Metrics.bulkheadQueueWait, 0.02)
        m.observe(Metrics.bulkheadQueueWait, 3)

        const { resourceMetrics, errors } = yield* Effect.promise(() => reader.collect())
        expect(errors).toEqual([])
        expect(resourceMetrics.resource.attributes).toMatchObject({
          "service.name": "checkout",
          "service.version": "1.2.3",
          "deployment.environment": "test"
        })

        const calls = metric(resourceMetrics, "integration_patterns_calls")
        expect(calls.dataPointType).toBe(DataPointType.SUM)
        expect(calls.dataPointType === DataPointType.SUM && calls.isMonotonic).toBe(true)
        expect(calls.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE)
        expect(calls.descriptor.description).toBe("Calls through a pattern, by outcome")
        expect(pointsFor(calls, name).map((p) => [p.attributes.outcome, p.value]).sort()).toEqual([
          ["failure", 1],
          ["success", 5]
        ])
        expect(pointsFor(calls, name)[0]!.attributes.pattern).toBe("Bulkhead")

        const rejections = metric(resourceMetrics, "integration_patterns_rejections")
        expect(pointsFor(rejections, name).map((p) => [p.attributes.reason, p.value])).toEqual([["queue_full", 1]])

        const queued = metric(resourceMetrics, "integration_patterns_bulkhead_queued")
        expect(queued.dataPointType).toBe(DataPointType.GAUGE)
        expect(pointsFor(queued, name).map((p) => p.value)).toEqual([3])

        const wait = metric(resourceMetrics, "integration_patterns_bulkhead_queue_wait_seconds")
        expect(wait.dataPointType).toBe(DataPointType.HISTOGRAM)
        const [histogram] = pointsFor(wait, name)
        const value = histogram!.value as {
          buckets: { boundaries: Array<number>; counts: Array<number> }
          count: number
          sum: number
        }
        expect(value.count).toBe(2)
        expect(value.sum).toBeCloseTo(3.02, 9)
        expect(value.buckets.boundaries).toEqual([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])
        // per-bucket (not cumulative) counts: 0.02 falls in (0.01, 0.025], 3 in (2.5, 5]
        expect(value.buckets.counts).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
      }))
      expect(reader.shutDown).toBe(true)
    }))

  it.effect("feeds a PeriodicExportingMetricReader and its exporter", () =>
    Effect.gen(function*() {
      const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
      const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
      const name = unique("api")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(OpenTelemetryMetrics.layer({ serviceName: "gateway", readers: () => reader }))
        const m = new Metrics.PatternMetrics("RateLimiter", name)
        m.count(Metrics.rateLimiterDecisions, "allowed", 8)
        m.count(Metrics.rateLimiterDecisions, "rejected", 2)
        m.set(Metrics.rateLimiterTokens, 0)
        yield* Effect.promise(() => reader.forceFlush())
        const [exported] = exporter.getMetrics()
        expect(exported!.resource.attributes["service.name"]).toBe("gateway")
        const decisions = metric(exported!, "integration_patterns_rate_limiter_decisions")
        expect(pointsFor(decisions, name).map((p) => [p.attributes.outcome, p.value]).sort()).toEqual([
          ["allowed", 8],
          ["rejected", 2]
        ])
        expect(pointsFor(metric(exported!, "integration_patterns_rate_limiter_tokens"), name)[0]!.value).toBe(0)
      }))
    }))
})
