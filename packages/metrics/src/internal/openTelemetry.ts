import type { CollectionResult, MetricCollectOptions, MetricData, MetricProducer } from "@opentelemetry/sdk-metrics"
import { DataPointType } from "@opentelemetry/sdk-metrics"

const toolkitPrefix = "integration_patterns_"

// Effect counters are declared non-incremental unless told otherwise, so
// @effect/opentelemetry exports them as non-monotonic sums (up-down counters). The
// toolkit's counters only ever grow; marking them monotonic lets OTel backends (and
// the OTel Prometheus exporter) treat them as counters.
const monotonic = (metric: MetricData): MetricData =>
  metric.dataPointType === DataPointType.SUM && !metric.isMonotonic && metric.descriptor.name.startsWith(toolkitPrefix)
    ? { ...metric, isMonotonic: true }
    : metric

/** @internal */
export class ToolkitProducer implements MetricProducer {
  constructor(private readonly effectMetrics: MetricProducer) {}

  async collect(options?: MetricCollectOptions): Promise<CollectionResult> {
    const result = await this.effectMetrics.collect(options)
    return {
      ...result,
      resourceMetrics: {
        ...result.resourceMetrics,
        scopeMetrics: result.resourceMetrics.scopeMetrics.map((scope) => ({
          ...scope,
          metrics: scope.metrics.map(monotonic)
        }))
      }
    }
  }
}
