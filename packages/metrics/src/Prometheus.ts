/**
 * Prometheus text exposition (format 0.0.4) of Effect metrics: every metric in the
 * registry, the toolkit's `integration_patterns_*` metrics among them.
 *
 * - counters are exposed with a `_total` suffix (added when the name lacks it);
 * - gauges as gauges;
 * - histograms as `_bucket{le="..."}` (cumulative, ending with `le="+Inf"`), `_sum` and `_count`;
 * - summaries as `{quantile="..."}`, `_sum` and `_count`;
 * - frequencies as counters with one series per value, under a `key` label.
 *
 * Names and label names are reduced to the characters Prometheus allows; label values
 * and help text are escaped.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as MetricPair from "effect/MetricPair"
import * as internal from "./internal/prometheus.js"

/**
 * The `Content-Type` of the exposition: `text/plain; version=0.0.4; charset=utf-8`.
 *
 * @since 0.1.0
 * @category Constants
 */
export const contentType: string = internal.contentType

/**
 * Renders metric pairs (as returned by `Metric.snapshot`) as Prometheus text.
 *
 * @since 0.1.0
 * @category Formatting
 */
export const format: (pairs: Iterable<MetricPair.MetricPair.Untyped>) => string = internal.format

/**
 * The current value of every Effect metric, as Prometheus text.
 *
 * @example
 * ```ts
 * import { Prometheus } from "@integration-patterns/metrics"
 * import { Effect } from "effect"
 *
 * const scrape = Effect.gen(function*() {
 *   const body = yield* Prometheus.text
 *   return new Response(body, { headers: { "content-type": Prometheus.contentType } })
 * })
 * ```
 *
 * @since 0.1.0
 * @category Accessors
 */
export const text: Effect.Effect<string> = Effect.map(Metric.snapshot, internal.format)
