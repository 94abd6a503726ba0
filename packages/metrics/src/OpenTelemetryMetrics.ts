/**
 * Exports every Effect metric, the toolkit's `integration_patterns_*` metrics among
 * them, through OpenTelemetry metric readers, using @effect/opentelemetry.
 *
 * Each collection reads Effect's metric registry: counters become cumulative sums
 * (the toolkit's counters monotonic), gauges gauges, and histograms histograms with the
 * same bucket boundaries. Tags become attributes.
 *
 * @since 0.1.0
 */
import * as Metrics from "@effect/opentelemetry/Metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import type { Attributes } from "@opentelemetry/api"
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Effect from "effect/Effect"
import type { LazyArg } from "effect/Function"
import * as Layer from "effect/Layer"
import { ToolkitProducer } from "./internal/openTelemetry.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The `service.name` resource attribute. */
  readonly serviceName: string
  /** The `service.version` resource attribute, when given. */
  readonly serviceVersion?: string
  /** More resource attributes. */
  readonly attributes?: Attributes
  /**
   * The readers to register, for example a `PeriodicExportingMetricReader` around an
   * OTLP exporter. They are shut down (within 3 seconds) when the Layer is released.
   */
  readonly readers: LazyArg<MetricReader | NonEmptyReadonlyArray<MetricReader>>
}

/**
 * Registers Effect's metrics with the given readers for the lifetime of the Layer.
 *
 * @example
 * ```ts
 * import * as OpenTelemetryMetrics from "@integration-patterns/metrics/OpenTelemetryMetrics"
 * import { ConsoleMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
 *
 * const TelemetryLive = OpenTelemetryMetrics.layer({
 *   serviceName: "checkout",
 *   readers: () =>
 *     new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 10_000 })
 * })
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<never> =>
  Layer.scopedDiscard(
    Effect.flatMap(
      Metrics.makeProducer,
      (producer) => Metrics.registerProducer(new ToolkitProducer(producer), options.readers)
    )
  ).pipe(
    Layer.provide(Resource.layer({
      serviceName: options.serviceName,
      ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion }),
      ...(options.attributes === undefined ? {} : { attributes: options.attributes })
    }))
  )
