/**
 * @since 0.1.0
 */
export * as Prometheus from "./Prometheus.js"
