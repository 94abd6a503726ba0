/**
 * The operator's side of the toolkit: Prometheus text, health and the live dashboard
 * over HTTP, and the audit log. OpenTelemetry export lives in
 * `@integration-patterns/metrics/OpenTelemetryMetrics`, so that its optional peer
 * dependencies are loaded only by those who use it.
 *
 * @since 0.1.0
 */
export * as Prometheus from "./Prometheus.js"
export * as HttpEndpoints from "./HttpEndpoints.js"
export * as AuditLog from "./AuditLog.js"
