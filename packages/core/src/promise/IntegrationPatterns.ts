/**
 * Toolkit-wide configuration, metrics and health for code that does not use Effect.
 *
 * @since 0.1.0
 */
import type {
  HealthReport,
  MetricsSnapshot,
  Options,
  Settings
} from "../IntegrationPatterns.js"
import { processSettings } from "../IntegrationPatterns.js"
import * as report from "../internal/integrationPatterns.js"
import { globalRegistry } from "../internal/registry.js"
import { decodeOptionsSync } from "../internal/validation.js"

/**
 * Global configuration and the operator's view of every live pattern instance.
 *
 * @example
 * ```ts
 * import { IntegrationPatterns } from "@integration-patterns/core/promise"
 *
 * IntegrationPatterns.configure({ retryAttempts: 5, defaultTimeout: 2_000 })
 * const health = IntegrationPatterns.getHealth()
 * if (health.status === "unhealthy") console.warn(health.reasons.join("\n"))
 * ```
 *
 * @since 0.1.0
 * @category Facade
 */
export class IntegrationPatterns {
  private constructor() {}

  /**
   * Changes the process-wide defaults that patterns created afterwards take. Options not
   * given keep their current value. Throws `InvalidConfigError` (listing every problem)
   * and changes nothing when an option is bad. `defaultTimeout` is in milliseconds (a
   * Duration string such as `"5 seconds"` is accepted too).
   */
  static configure(options: Options): Settings {
    const decoded = decodeOptionsSync("IntegrationPatterns", report.ConfigureOptions, options)
    processSettings.current = report.applyOptions(processSettings.current, decoded)
    return processSettings.current
  }

  /** The settings in force. */
  static get settings(): Settings {
    return processSettings.current
  }

  /** The `stats` of every live instance (Effect-API instances of the default registry included). */
  static getMetrics(): MetricsSnapshot {
    return report.metricsSnapshot(globalRegistry.list(), Date.now())
  }

  /** The health of every live instance and overall; see `IntegrationPatterns.getHealth` in the Effect API. */
  static getHealth(): HealthReport {
    return report.healthReport(globalRegistry.list(), processSettings.current, Date.now())
  }
}
