/**
 * An audit log of security-relevant pattern events, written through Effect's `Logger`
 * with structured fields (log annotations), so it goes wherever the application's logs
 * go (JSON, logfmt, OpenTelemetry):
 *
 * | event | level | message | annotations |
 * |---|---|---|---|
 * | `RateLimitRejected` | Info | `rate limit "api" rejected key "user-42"` | `audit: "rate_limit_rejected"`, `pattern`, `name`, `key`, `limit`, `retryAfter`, `cost`, `scope`, `eventTimestamp` |
 * | `StateChanged` caused by an operator | Warning | `circuit breaker "payments" forced Isolated by an operator (was Closed)` | `audit: "breaker_forced"`, `pattern`, `name`, `from`, `to`, `reason`, `operator`, `key`, `eventTimestamp` |
 *
 * A `StateChanged` event counts as an operator's when its `reason` is `"operator"`,
 * `"manual"`, `"Isolated"`, `"Reset"`, `"Disabled"` or `"MetricsOnly"`, when it has
 * `manual: true`, or when it names an `operator`. Breakers opening and closing on
 * their own are not audited (they are in the metrics and on the dashboard).
 *
 * While the Layer is up it subscribes to `PatternEvents`, so patterns build their
 * events; every rejection is logged, so put a limiter's noisiest keys behind a
 * cheaper first line of defence if a flood of log lines is a concern.
 *
 * @since 0.1.0
 */
import type { PatternEvents } from "@integration-patterns/core"
import type * as Layer from "effect/Layer"
import type * as LogLevel from "effect/LogLevel"
import * as internal from "./internal/auditLog.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface AuditEntry {
  readonly level: LogLevel.LogLevel
  readonly message: string
  readonly annotations: Readonly<Record<string, string | number>>
}

/**
 * The audit entry an event produces, or `undefined` when it is not audited.
 *
 * @since 0.1.0
 * @category Audit
 */
export const entryOf: (event: PatternEvents.PatternEventBase) => AuditEntry | undefined = internal.entryOf

/**
 * Logs the audited events of the current `PatternEvents` bus for the lifetime of the Layer.
 *
 * @example
 * ```ts
 * import { AuditLog } from "@integration-patterns/metrics"
 * import { Layer, Logger } from "effect"
 *
 * const AuditLive = AuditLog.layer.pipe(Layer.provide(Logger.json))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<never> = internal.layer
