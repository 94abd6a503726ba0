/**
 * Retry for Promise code. Makes the same decisions as the Effect `Retry` (the backoff,
 * jitter, budget and give-up logic are shared), uses `Date.now()` and `setTimeout`,
 * and rejects with the same `RetryExhaustedError`. Numbers are milliseconds.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import { InvalidConfigError, RetryExhaustedError } from "../Errors.js"
import { processSettings } from "../IntegrationPatterns.js"
import * as Metrics from "../Metrics.js"
import { PatternEvents } from "../PatternEvents.js"
import type * as EffectRetry from "../Retry.js"
import { globalRegistry } from "../internal/registry.js"
import { RetryBudget } from "../internal/retry/budget.js"
import { nextDelay, retryAfterOf } from "../internal/retry/delay.js"
import { decide, OptionsSchema, type Progress, resolve, type RetryConfig } from "../internal/retry/policy.js"
import { Counters, exhaustion, health, recordRetry, snapshot } from "../internal/retry/stats.js"
import { decodeOptionsSync } from "../internal/validation.js"

/** The process-wide event bus: the default of the `PatternEvents` reference. */
const bus = () => Context.get(Context.empty(), PatternEvents)

/**
 * Options of a {@link Retry}. Durations are milliseconds.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RetryOptions {
  /** Tags metrics, events and health. Defaults to `"retry"`. */
  readonly name?: string
  /** Attempts in all, the first included. Defaults to `retryAttempts` of the process settings (3). */
  readonly maxAttempts?: number
  /** Defaults to 100. */
  readonly baseDelay?: number
  /** Defaults to 30,000. */
  readonly maxDelay?: number
  /** Defaults to `"exponential"`. */
  readonly backoffStrategy?: EffectRetry.BackoffStrategy
  /** Defaults to `"none"`. */
  readonly jitter?: EffectRetry.Jitter
  /** A total time budget from the start of the first attempt. */
  readonly maxElapsed?: number
  /** Retries only the errors for which this returns true. */
  readonly shouldRetry?: (error: unknown) => boolean
  /** Retries only errors whose `_tag` (or, without one, `name`) is listed. */
  readonly retryOn?: ReadonlyArray<string>
  /** Never retries errors whose `_tag` (or, without one, `name`) is listed. */
  readonly neverRetryOn?: ReadonlyArray<string>
  /** A retry budget shared by every call of this instance; `window` in milliseconds. */
  readonly budget?: {
    readonly retryRatio?: number
    readonly minRetriesPerSecond?: number
    readonly window?: number
  }
}

/**
 * What each attempt is told.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RetryContext {
  /** 1 for the first attempt. */
  readonly attempt: number
}

const firstAttempt: RetryContext = Object.freeze({ attempt: 1 })

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs an async function again after it rejects, with a backoff between attempts.
 * Reuse one instance per dependency: its budget and counters are shared by every call.
 *
 * @example
 * ```ts
 * import { Retry } from "@integration-patterns/core/promise"
 *
 * const retry = new Retry({ maxAttempts: 3, baseDelay: 1000, maxDelay: 10000, backoffStrategy: "exponential" })
 * const stock = await retry.execute(async () => 7)
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export class Retry {
  /** @internal */
  readonly config: RetryConfig
  private readonly budget: RetryBudget | undefined
  private readonly counters = new Counters()
  private readonly metrics: Metrics.PatternMetrics

  /** @throws InvalidConfigError, listing every problem in the options. */
  constructor(options: RetryOptions = {}) {
    const decoded = decodeOptionsSync("Retry", OptionsSchema, options)
    if (decoded.backoffStrategy !== undefined && typeof decoded.backoffStrategy !== "string") {
      throw new InvalidConfigError({
        pattern: "Retry",
        issues: [{ path: "backoffStrategy", message: "a Schedule needs the Effect API; use \"fixed\", \"linear\" or \"exponential\"" }]
      })
    }
    const settings = processSettings.current
    this.config = resolve(decoded, settings)
    this.budget = this.config.budget === undefined ? undefined : new RetryBudget(this.config.budget)
    this.metrics = new Metrics.PatternMetrics("Retry", this.config.name, settings.enableMetrics)
    globalRegistry.registerWeak(this, "Retry", this.config.name, {
      stats: (retry) => ({ ...retry.getStats() }),
      health: (retry) => health(retry.counters, retry.budget, Date.now())
    })
  }

  get name(): string {
    return this.config.name
  }

  /**
   * Calls `fn`, and again after each retryable rejection, until it resolves or the
   * policy gives up with `RetryExhaustedError`. Rejections the condition does not
   * retry pass through unchanged.
   */
  async execute<T>(fn: (context: RetryContext) => T | PromiseLike<T>): Promise<T> {
    const startedAt = this.budget !== undefined || this.config.maxElapsed !== undefined ? Date.now() : 0
    this.budget?.deposit(startedAt)
    let value: T
    try {
      value = await fn(firstAttempt)
    } catch (error) {
      return this.retry(fn, error, startedAt)
    }
    this.counters.successes++
    this.counters.recent.record(false)
    this.metrics.count(Metrics.calls, "success")
    return value
  }

  /** A snapshot of this instance's counters. */
  getStats(): EffectRetry.Stats {
    return snapshot(this.config.name, this.counters, this.budget, Date.now())
  }

  private async retry<T>(fn: (context: RetryContext) => T | PromiseLike<T>, first: unknown, startedAt: number): Promise<T> {
    const config = this.config
    const progress: Progress = {
      attempts: 1,
      totalDelay: 0,
      previousDelay: config.delay.baseDelay,
      startedAt: startedAt === 0 ? Date.now() : startedAt
    }
    let error = first
    for (;;) {
      if (!config.retryable(error)) {
        this.counters.failures++
        this.counters.recent.record(false)
        this.metrics.count(Metrics.calls, "failure")
        throw error
      }
      const now = Date.now()
      const delay = nextDelay(
        config.delay,
        progress.attempts,
        progress.previousDelay,
        config.delay.jitter === "none" ? 0 : Math.random(),
        retryAfterOf(error)
      )
      const decision = decide(config, progress, delay, now, this.budget)
      if (typeof decision === "string") throw this.giveUp(decision, error, progress, now)
      this.scheduled(error, progress, decision, now)
      if (decision > 0) await sleep(decision)
      progress.totalDelay += decision
      progress.previousDelay = decision
      progress.attempts++
      try {
        const value = await fn({ attempt: progress.attempts })
        this.counters.successes++
        this.counters.recent.record(false)
        this.metrics.count(Metrics.calls, "success")
        return value
      } catch (next) {
        error = next
      }
    }
  }

  private scheduled(error: unknown, progress: Progress, delay: number, now: number): void {
    recordRetry(this.config.name, this.counters, this.metrics, bus(), error, progress, delay, now)
  }

  private giveUp(
    reason: RetryExhaustedError["reason"],
    error: unknown,
    progress: Progress,
    now: number
  ): RetryExhaustedError {
    return exhaustion(this.config.name, this.counters, this.metrics, bus(), reason, error, progress, now)
  }
}
