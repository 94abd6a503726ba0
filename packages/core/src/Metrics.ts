/**
 * Every metric the toolkit records, defined in one place. Names start with
 * `integration_patterns_`; tags are `pattern`, `name`, and where relevant `outcome`
 * and `reason`. Counters are exported to Prometheus with a `_total` suffix.
 *
 * Patterns update metrics through {@link PatternMetrics}, which resolves each tag set
 * once, so a hot path pays for a cached lookup and an addition.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import type { PatternKind } from "./PatternEvents.js"

const seconds = MetricBoundaries.fromIterable([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])

/**
 * Calls by outcome (`success`, `failure`, `rejected`, `timeout`, `ignored`, ...).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const calls = Metric.counter("integration_patterns_calls", {
  description: "Calls through a pattern, by outcome"
})

/**
 * Rejections by reason (`open`, `queue_full`, `queue_timeout`, `rate_limited`, ...).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const rejections = Metric.counter("integration_patterns_rejections", {
  description: "Calls a pattern turned away, by reason"
})

/**
 * Duration of calls through a pattern, in seconds.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const callDuration = Metric.histogram(
  "integration_patterns_call_duration_seconds",
  seconds,
  "Duration of calls through a pattern, in seconds"
)

/**
 * Retries scheduled.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const retries = Metric.counter("integration_patterns_retries", {
  description: "Retries scheduled by a retry policy"
})

/**
 * The delay before each retry, in seconds.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const retryDelay = Metric.histogram(
  "integration_patterns_retry_delay_seconds",
  seconds,
  "Delay before each retry, in seconds"
)

/**
 * Breaker state: 0 closed, 1 open, 2 half-open, 3 isolated, 4 disabled, 5 metrics-only.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const circuitBreakerState = Metric.gauge("integration_patterns_circuit_breaker_state", {
  description: "Circuit breaker state: 0 closed, 1 open, 2 half-open, 3 isolated, 4 disabled, 5 metrics-only"
})

/**
 * Breaker transitions, by the state entered (`outcome`).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const circuitBreakerTransitions = Metric.counter("integration_patterns_circuit_breaker_transitions", {
  description: "Circuit breaker state transitions, by the state entered"
})

/**
 * Calls running inside a bulkhead.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const bulkheadActive = Metric.gauge("integration_patterns_bulkhead_active", {
  description: "Calls running inside a bulkhead"
})

/**
 * Calls waiting in a bulkhead's queue.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const bulkheadQueued = Metric.gauge("integration_patterns_bulkhead_queued", {
  description: "Calls waiting in a bulkhead queue"
})

/**
 * Time calls spent in a bulkhead's queue, in seconds.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const bulkheadQueueWait = Metric.histogram(
  "integration_patterns_bulkhead_queue_wait_seconds",
  seconds,
  "Time spent waiting in a bulkhead queue, in seconds"
)

/**
 * Tokens left in a limiter's global bucket.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const rateLimiterTokens = Metric.gauge("integration_patterns_rate_limiter_tokens", {
  description: "Tokens left in a rate limiter's global budget"
})

/**
 * Rate-limit decisions by outcome (`allowed`, `rejected`).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const rateLimiterDecisions = Metric.counter("integration_patterns_rate_limiter_decisions", {
  description: "Rate limiter decisions, by outcome"
})

/**
 * Cache lookups by outcome (`hit`, `miss`, `stale`).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const cacheLookups = Metric.counter("integration_patterns_cache_lookups", {
  description: "Cache lookups, by outcome (hit, miss, stale)"
})

/**
 * Cache loader calls by outcome (`success`, `failure`).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const cacheLoads = Metric.counter("integration_patterns_cache_loads", {
  description: "Cache loader calls, by outcome"
})

/**
 * Cache entries evicted, by reason (`size`, `ttl`, `invalidated`).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const cacheEvictions = Metric.counter("integration_patterns_cache_evictions", {
  description: "Cache entries evicted or invalidated, by reason"
})

/**
 * Sagas finished, by outcome (`completed`, `compensated`, `needs_attention`).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const sagaExecutions = Metric.counter("integration_patterns_saga_executions", {
  description: "Sagas finished, by outcome"
})

/**
 * Saga compensations run, by outcome (`success`, `failure`).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const sagaCompensations = Metric.counter("integration_patterns_saga_compensations", {
  description: "Saga compensations run, by outcome"
})

/**
 * Duration of saga steps, in seconds.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const sagaStepDuration = Metric.histogram(
  "integration_patterns_saga_step_duration_seconds",
  seconds,
  "Duration of saga steps, in seconds"
)

/**
 * The tag sets of one pattern instance, resolved once. Effect caches a metric's hook
 * per tag array, so reusing the same arrays keeps each update to a map lookup.
 *
 * @since 0.1.0
 * @category Models
 */
export class PatternMetrics {
  readonly base: ReadonlyArray<MetricLabel.MetricLabel>
  private readonly byOutcome = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  private readonly byReason = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()

  constructor(readonly pattern: PatternKind, readonly name: string, readonly enabled: boolean = true) {
    this.base = [MetricLabel.make("pattern", pattern), MetricLabel.make("name", name)]
  }

  /** The tag array for an outcome, cached. */
  outcome(outcome: string): ReadonlyArray<MetricLabel.MetricLabel> {
    let tags = this.byOutcome.get(outcome)
    if (tags === undefined) {
      tags = [...this.base, MetricLabel.make("outcome", outcome)]
      this.byOutcome.set(outcome, tags)
    }
    return tags
  }

  /** The tag array for a reason, cached. */
  reason(reason: string): ReadonlyArray<MetricLabel.MetricLabel> {
    let tags = this.byReason.get(reason)
    if (tags === undefined) {
      tags = [...this.base, MetricLabel.make("reason", reason)]
      this.byReason.set(reason, tags)
    }
    return tags
  }

  /** Adds `by` to a counter under an outcome tag. */
  count(metric: Metric.Metric.Counter<number>, outcome: string, by = 1): void {
    if (this.enabled) metric.unsafeUpdate(by, this.outcome(outcome))
  }

  /** Adds one to `rejections` under a reason tag. */
  reject(reason: string): void {
    if (this.enabled) rejections.unsafeUpdate(1, this.reason(reason))
  }

  /** Sets a gauge for this instance. */
  set(metric: Metric.Metric.Gauge<number>, value: number): void {
    if (this.enabled) metric.unsafeUpdate(value, this.base)
  }

  /** Records a value (seconds) in a histogram for this instance. */
  observe(metric: Metric.Metric.Histogram<number>, value: number): void {
    if (this.enabled) metric.unsafeUpdate(value, this.base)
  }
}

/**
 * Requests answered by a request-response dispatcher, by outcome (`success`, `failure`,
 * `invalid_response`, `handler_error`, `timeout`, `duplicate`). Rejections before a
 * handler runs are counted in `rejections` (`no_handler`, `invalid_request`, `queue_full`).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const requestsServed = Metric.counter("integration_patterns_requests_served", {
  description: "Requests answered by a request-response dispatcher, by outcome"
})

/**
 * Requests waiting for a handler slot in a request-response dispatcher.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const requestQueueDepth = Metric.gauge("integration_patterns_request_queue_depth", {
  description: "Requests waiting for a handler slot"
})
