/**
 * Retry options, their schema and defaults, and the decision taken after each failed
 * attempt. Shared by the Effect service and the Promise facade, so both shells make
 * the same decisions. No clock and no IO: time comes in as `now` (milliseconds).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { Settings } from "../../IntegrationPatterns.js"
import { fromSetting, readSetting } from "../settingDefault.js"
import * as V from "../validation.js"
import type { BudgetPolicy, RetryBudget } from "./budget.js"
import type { BackoffStrategy, DelayPolicy, Jitter } from "./delay.js"

/** Durations in milliseconds. @internal */
export const defaults = {
  name: "retry",
  maxAttempts: fromSetting("retryAttempts"),
  baseDelay: 100,
  maxDelay: 30_000,
  backoffStrategy: "exponential",
  jitter: "none",
  budget: { retryRatio: 0.2, minRetriesPerSecond: 10, window: 10_000 }
} as const

const Strategy = Schema.Union(Schema.Literal("fixed", "linear", "exponential"), V.ScheduleSchema).annotations({
  message: () => "expected \"fixed\", \"linear\", \"exponential\" or a Schedule"
})

const NonNegativeNumber = Schema.Number.pipe(
  Schema.filter((n) => (Number.isFinite(n) && n >= 0) || `expected a finite number of 0 or more, got ${n}`)
)

const Tags = Schema.Array(Schema.String)

const BudgetSchema = Schema.Struct({
  retryRatio: Schema.optional(V.Ratio),
  minRetriesPerSecond: Schema.optional(NonNegativeNumber),
  window: Schema.optional(V.PositiveDuration)
})

/** @internal */
export const OptionsSchema = Schema.Struct({
  name: Schema.optional(V.Name),
  maxAttempts: Schema.optional(V.PositiveInt),
  baseDelay: Schema.optional(V.DurationInput),
  maxDelay: Schema.optional(V.DurationInput),
  backoffStrategy: Schema.optional(Strategy),
  jitter: Schema.optional(Schema.Literal("none", "full", "equal", "decorrelated")),
  maxElapsed: Schema.optional(V.PositiveDuration),
  shouldRetry: Schema.optional(V.FunctionSchema<(error: any) => boolean>("a function from the error to a boolean")),
  retryOn: Schema.optional(Tags),
  neverRetryOn: Schema.optional(Tags),
  budget: Schema.optional(BudgetSchema)
}).pipe(
  Schema.filter((o) => {
    const base = o.baseDelay === undefined ? defaults.baseDelay : Duration.toMillis(o.baseDelay)
    const max = o.maxDelay === undefined ? defaults.maxDelay : Duration.toMillis(o.maxDelay)
    return max >= base || {
      path: ["maxDelay"],
      message: `must be at least baseDelay (${base} ms), got ${max} ms`
    }
  })
)

/** @internal */
export type DecodedOptions = typeof OptionsSchema.Type

/** Everything a retry decision needs, with durations in milliseconds. @internal */
export interface RetryConfig {
  readonly name: string
  readonly maxAttempts: number
  readonly delay: DelayPolicy
  readonly schedule: Schedule.Schedule<unknown, unknown> | undefined
  readonly maxElapsed: number | undefined
  readonly retryable: (error: unknown) => boolean
  readonly budget: BudgetPolicy | undefined
}

/**
 * The tag an error is matched by in `retryOn` / `neverRetryOn`: its `_tag`, or for an
 * error without one, its `name`.
 *
 * @internal
 */
export const tagOf = (error: unknown): string | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const tag = (error as { readonly _tag?: unknown })._tag
  if (typeof tag === "string") return tag
  return error instanceof Error ? error.name : undefined
}

const retryable = (options: DecodedOptions): (error: unknown) => boolean => {
  const only = options.retryOn === undefined ? undefined : new Set(options.retryOn)
  const never = options.neverRetryOn === undefined || options.neverRetryOn.length === 0
    ? undefined
    : new Set(options.neverRetryOn)
  const predicate = options.shouldRetry
  if (only === undefined && never === undefined) return predicate ?? (() => true)
  return (error) => {
    const tag = tagOf(error)
    if (only !== undefined && (tag === undefined || !only.has(tag))) return false
    if (never !== undefined && tag !== undefined && never.has(tag)) return false
    return predicate === undefined || predicate(error)
  }
}

const millis = (d: Duration.Duration | undefined, fallback: number): number =>
  d === undefined ? fallback : Duration.toMillis(d)

/** Applies defaults; `maxAttempts` comes from the settings in force. @internal */
export const resolve = (options: DecodedOptions, settings: Settings): RetryConfig => {
  const strategy = options.backoffStrategy ?? defaults.backoffStrategy
  return {
    name: options.name ?? defaults.name,
    maxAttempts: options.maxAttempts ?? readSetting(defaults.maxAttempts, settings),
    delay: {
      strategy: typeof strategy === "string" ? strategy as BackoffStrategy : "fixed",
      jitter: (options.jitter ?? defaults.jitter) as Jitter,
      baseDelay: millis(options.baseDelay, defaults.baseDelay),
      maxDelay: millis(options.maxDelay, defaults.maxDelay)
    },
    schedule: typeof strategy === "string" ? undefined : strategy,
    maxElapsed: options.maxElapsed === undefined ? undefined : Duration.toMillis(options.maxElapsed),
    retryable: retryable(options),
    budget: options.budget === undefined ? undefined : {
      retryRatio: options.budget.retryRatio ?? defaults.budget.retryRatio,
      minRetriesPerSecond: options.budget.minRetriesPerSecond ?? defaults.budget.minRetriesPerSecond,
      window: millis(options.budget.window, defaults.budget.window)
    }
  }
}

/** Where one call stands after a failed attempt. @internal */
export interface Progress {
  /** Attempts made so far, the failed one included. */
  attempts: number
  /** Milliseconds spent waiting so far. */
  totalDelay: number
  /** The last delay (the base delay before the first retry), for decorrelated jitter. */
  previousDelay: number
  /** Clock time of the first attempt. */
  readonly startedAt: number
}

/** @internal */
export type GiveUpReason = "MaxAttempts" | "MaxElapsed" | "BudgetExhausted"

/**
 * After a retryable failure: retry after `delay` milliseconds, or give up and why.
 * `delay` is the proposed delay, or `undefined` when a `Schedule` strategy is done.
 * A budget token is taken only when every other check passed.
 *
 * @internal
 */
export const decide = (
  config: RetryConfig,
  progress: Progress,
  delay: number | undefined,
  now: number,
  budget: RetryBudget | undefined
): number | GiveUpReason => {
  if (progress.attempts >= config.maxAttempts || delay === undefined) return "MaxAttempts"
  if (config.maxElapsed !== undefined && now - progress.startedAt + delay > config.maxElapsed) return "MaxElapsed"
  if (budget !== undefined && !budget.tryWithdraw(now)) return "BudgetExhausted"
  return delay
}
