/**
 * Retry: runs an effect again after a typed failure, with a backoff between attempts.
 *
 * - `maxAttempts` counts every attempt, the first included.
 * - Delays come from a strategy (`"fixed"`, `"linear"`, `"exponential"`) or any
 *   `Schedule`, are capped at `maxDelay`, spread by jitter, and never shorter than an
 *   error's `retryAfter`. Sleeps go through `Clock`, so `TestClock` drives them.
 * - Giving up fails with `RetryExhaustedError` (attempts, total delay, reason, and the
 *   last typed error as `cause`). Errors the retry condition rejects, defects and
 *   interruptions pass through unchanged.
 * - An optional retry budget, shared by every caller of one policy, caps retries at a
 *   ratio of first attempts so that a failing dependency is not hit by a retry storm.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { InvalidConfigError, RetryExhaustedError } from "./Errors.js"
import type { SettingDefault } from "./IntegrationPatterns.js"
import * as policy from "./internal/retry/policy.js"
import * as internal from "./internal/retry/retry.js"
import type { PatternEventBase } from "./PatternEvents.js"

/**
 * @since 0.1.0
 * @category Symbols
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category Symbols
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category Models
 */
export type BackoffStrategy = "fixed" | "linear" | "exponential"

/**
 * How delays are spread so that callers that failed together do not retry together:
 * - `"none"`: the delay as computed;
 * - `"full"`: uniform between 0 and the delay;
 * - `"equal"`: uniform between half the delay and the delay;
 * - `"decorrelated"`: uniform between `baseDelay` and three times the previous delay.
 *
 * @since 0.1.0
 * @category Models
 */
export type Jitter = "none" | "full" | "equal" | "decorrelated"

/**
 * A retry budget shared by every caller of one policy: over `window`, retries may add
 * at most `retryRatio` on top of first attempts, plus `minRetriesPerSecond` (averaged
 * over the window). A call whose retry the budget refuses gives up with
 * `RetryExhaustedError` and reason `"BudgetExhausted"`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface BudgetOptions {
  /** Retries per first attempt, from 0 to 1. Defaults to 0.2 (retries add at most 20%). */
  readonly retryRatio?: number
  /** Retries always allowed per second. Defaults to 10. */
  readonly minRetriesPerSecond?: number
  /** The sliding window attempts are counted over. Defaults to 10 seconds. */
  readonly window?: Duration.DurationInput
}

/**
 * Options of a retry policy. Numbers given as durations are milliseconds.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options<E = unknown> {
  /** Tags metrics, events and health. Defaults to `"retry"`. */
  readonly name?: string
  /**
   * Attempts in all, the first included: 3 means at most 3 calls. Defaults to
   * `retryAttempts` of the settings in force (3 unless configured).
   */
  readonly maxAttempts?: number
  /** The first delay. Defaults to 100 ms. */
  readonly baseDelay?: Duration.DurationInput
  /** The cap on every delay, `retryAfter` included. Defaults to 30 seconds. */
  readonly maxDelay?: Duration.DurationInput
  /**
   * `"fixed"` (`baseDelay`), `"linear"` (`baseDelay * n`), `"exponential"`
   * (`baseDelay * 2 ** (n - 1)`) for retry `n`, or any `Schedule`, which is fed the
   * errors and whose end stops the retries. Defaults to `"exponential"`.
   */
  readonly backoffStrategy?: BackoffStrategy | Schedule.Schedule<unknown, E>
  /** Defaults to `"none"`. Use `"full"` when many callers share a dependency. */
  readonly jitter?: Jitter
  /** A total time budget from the start of the first attempt; no retry starts after it. No limit by default. */
  readonly maxElapsed?: Duration.DurationInput
  /** Retries only the errors for which this returns true. */
  readonly shouldRetry?: (error: E) => boolean
  /** Retries only errors whose `_tag` (or, without one, `name`) is listed. */
  readonly retryOn?: ReadonlyArray<string>
  /** Never retries errors whose `_tag` (or, without one, `name`) is listed. */
  readonly neverRetryOn?: ReadonlyArray<string>
  /** An optional retry budget. None by default. */
  readonly budget?: BudgetOptions
}

/**
 * A snapshot of a policy's counters. `calls` counts finished calls.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Stats {
  readonly name: string
  readonly calls: number
  readonly successes: number
  /** Calls that failed with an error the condition did not retry, a defect or an interruption. */
  readonly failures: number
  /** Calls that gave up with `RetryExhaustedError`. */
  readonly exhausted: number
  readonly retries: number
  /** Milliseconds spent waiting between attempts, over all calls. */
  readonly totalDelay: number
  /** Calls that gave up because the budget refused a retry. */
  readonly budgetRejections: number
  /** Retries the budget would allow now; `undefined` without a budget. */
  readonly budgetAvailable: number | undefined
}

/**
 * A retry policy. Reuse one policy per dependency: its budget and counters are shared
 * by every call it runs.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Retry<in E = unknown> {
  readonly [TypeId]: TypeId
  readonly name: string
  /** Runs `self`, retrying its typed failures under this policy. */
  readonly execute: <A, E2 extends E, R>(self: Effect.Effect<A, E2, R>) => Effect.Effect<A, E2 | RetryExhaustedError, R>
  readonly stats: Effect.Effect<Stats>
}

/**
 * Published before each retry's delay.
 *
 * @since 0.1.0
 * @category Events
 */
export interface RetryScheduled extends PatternEventBase {
  readonly _tag: "RetryScheduled"
  readonly pattern: "Retry"
  /** The attempt that just failed (1 for the first). */
  readonly attempt: number
  /** Milliseconds until the next attempt. */
  readonly delay: number
  readonly error: unknown
}

/**
 * Published when a call gives up.
 *
 * @since 0.1.0
 * @category Events
 */
export interface RetryExhausted extends PatternEventBase {
  readonly _tag: "RetryExhausted"
  readonly pattern: "Retry"
  readonly attempts: number
  readonly totalDelay: number
  readonly reason: RetryExhaustedError["reason"]
  readonly error: unknown
}

/**
 * @since 0.1.0
 * @category Events
 */
export type RetryEvent = RetryScheduled | RetryExhausted

declare module "./PatternEvents.js" {
  interface PatternEventRegistry {
    readonly Retry: RetryEvent
  }
}

/**
 * The defaults of optional options, as the policy applies them (durations in
 * milliseconds). `maxAttempts` is the `retryAttempts` setting in force.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly name: string
  readonly maxAttempts: SettingDefault<"retryAttempts">
  readonly baseDelay: number
  readonly maxDelay: number
  readonly backoffStrategy: BackoffStrategy
  readonly jitter: Jitter
  readonly budget: {
    readonly retryRatio: number
    readonly minRetriesPerSecond: number
    readonly window: number
  }
} = policy.defaults

/**
 * The service Tag of a retry policy provided by a Layer.
 *
 * @since 0.1.0
 * @category Tags
 */
export const Retry: Context.Tag<Retry, Retry> = Context.GenericTag<Retry>("@integration-patterns/core/Retry")

/**
 * Builds a retry policy and registers it for health reporting while the scope is open.
 * `maxAttempts` defaults to the settings in force at this point.
 *
 * @example
 * ```ts
 * import { Retry } from "@integration-patterns/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const retry = yield* Retry.make({ name: "inventory", maxAttempts: 3, baseDelay: "100 millis" })
 *     return yield* retry.execute(Effect.succeed(42))
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: <E = unknown>(
  options?: Options<E>
) => Effect.Effect<Retry<E>, InvalidConfigError, Scope.Scope> = (options = {}) => internal.make(options)

/**
 * A Layer providing the {@link Retry} service.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<Retry, InvalidConfigError> =>
  Layer.scoped(Retry, internal.make(options))

/**
 * A Layer providing the {@link Retry} service from `Config`, so options can come from
 * environment variables.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  config: Config.Config<Options>
): Layer.Layer<Retry, InvalidConfigError | ConfigError.ConfigError> =>
  Layer.scoped(Retry, Effect.flatMap(config, internal.make))

/**
 * Retries an effect with a policy, or with inline options. Inline options are
 * validated once (bad options make the effect die with `InvalidConfigError`), and
 * every effect wrapped by one `withRetry(options)` shares one budget.
 *
 * @example
 * ```ts
 * import { Retry } from "@integration-patterns/core"
 * import { Effect } from "effect"
 *
 * const fetchStock = Effect.succeed(7).pipe(
 *   Retry.withRetry({ maxAttempts: 3, baseDelay: "200 millis", backoffStrategy: "exponential", jitter: "full" })
 * )
 * ```
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withRetry: {
  <E>(policy: Retry<E>): <A, E2 extends E, R>(self: Effect.Effect<A, E2, R>) => Effect.Effect<A, E2 | RetryExhaustedError, R>
  <E>(options: Options<E>): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RetryExhaustedError, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, policyOrOptions: Retry<E> | Options<E>): Effect.Effect<A, E | RetryExhaustedError, R>
} = internal.withRetry as any
