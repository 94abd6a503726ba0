/**
 * Timeout: bounds how long an operation may run.
 *
 * - When the deadline passes, the operation is interrupted: its finalizers run, then
 *   the call fails with `TimeoutError` (phase `"Operation"`), as with `Effect.timeout`.
 * - With `gracefulShutdown`, finalizers get at most `gracePeriod`: if they overrun, the
 *   caller is released with phase `"GracePeriod"` and they finish in the background.
 * - `onTimeout` turns a timeout into a fallback value or another error.
 * - Deadlines propagate: a timeout nested in another (in the same fiber or in a fiber
 *   forked inside it) never outlives the enclosing one, and {@link remaining} reads the
 *   budget left, for example to forward it to a downstream call. An operation started
 *   after its enclosing deadline fails at once with phase `"Deadline"`.
 * - All time comes from `Clock`, so `TestClock` fires timeouts exactly.
 *
 * It costs about a tenth of `Effect.timeout`: one entry in a timer wheel shared per
 * Clock, and no fiber fork per call (see internal/timeout/timeout.ts for measurements).
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { InvalidConfigError, TimeoutError } from "./Errors.js"
import type { SettingDefault } from "./IntegrationPatterns.js"
import * as timeoutOptions from "./internal/timeout/options.js"
import * as internal from "./internal/timeout/timeout.js"
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
 * Options of a timeout. Numbers given as durations are milliseconds.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options<A2 = never, E2 = TimeoutError> {
  /** Tags metrics, events and health. Defaults to `"timeout"`. */
  readonly name?: string
  /** The budget of each call. Defaults to `defaultTimeout` of the settings in force (30 seconds unless configured). */
  readonly duration?: Duration.DurationInput
  /**
   * Bounds the time finalizers get after the deadline by `gracePeriod`, releasing the
   * caller when it ends even if they still run. Defaults to `false`: the caller waits
   * for the finalizers, as with `Effect.timeout`.
   */
  readonly gracefulShutdown?: boolean
  /** Only with `gracefulShutdown`. Defaults to 1 second. */
  readonly gracePeriod?: Duration.DurationInput
  /** Turns a timeout into a fallback value or another error. */
  readonly onTimeout?: (error: TimeoutError) => Effect.Effect<A2, E2>
}

/**
 * A snapshot of a timeout's counters. `calls` counts finished calls.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Stats {
  readonly name: string
  /** Milliseconds. */
  readonly duration: number
  readonly calls: number
  readonly successes: number
  readonly failures: number
  /** Calls that timed out, whatever `onTimeout` made of them. */
  readonly timeouts: number
  /** Timeouts whose finalizers overran the grace period. */
  readonly gracePeriodOverruns: number
}

/**
 * A timeout. `A2` and `E2` are what `onTimeout` makes of a timeout: by default no
 * value and a `TimeoutError`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Timeout<out A2 = never, out E2 = TimeoutError> {
  readonly [TypeId]: TypeId
  readonly name: string
  readonly duration: Duration.Duration
  /** Runs `self` under this timeout. */
  readonly execute: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, E | E2, R>
  readonly stats: Effect.Effect<Stats>
}

/**
 * Published when a call times out.
 *
 * @since 0.1.0
 * @category Events
 */
export interface TimeoutExpired extends PatternEventBase {
  readonly _tag: "TimeoutExpired"
  readonly pattern: "Timeout"
  /** Milliseconds. */
  readonly duration: number
  readonly phase: TimeoutError["phase"]
}

/**
 * @since 0.1.0
 * @category Events
 */
export type TimeoutEvent = TimeoutExpired

declare module "./PatternEvents.js" {
  interface PatternEventRegistry {
    readonly Timeout: TimeoutEvent
  }
}

/**
 * The defaults of optional options, as the timeout applies them (durations in
 * milliseconds). `duration` is the `defaultTimeout` setting in force.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly name: string
  readonly duration: SettingDefault<"defaultTimeout">
  readonly gracefulShutdown: boolean
  readonly gracePeriod: number
} = timeoutOptions.defaults

/**
 * The service Tag of a timeout provided by a Layer.
 *
 * @since 0.1.0
 * @category Tags
 */
export const Timeout: Context.Tag<Timeout, Timeout> = Context.GenericTag<Timeout>("@integration-patterns/core/Timeout")

/**
 * Builds a timeout and registers it for health reporting while the scope is open.
 * `duration` defaults to the settings in force at this point.
 *
 * @example
 * ```ts
 * import { Timeout } from "@integration-patterns/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const timeout = yield* Timeout.make({ name: "inventory", duration: "2 seconds" })
 *     return yield* timeout.execute(Effect.succeed(42))
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: <A2 = never, E2 = TimeoutError>(
  options?: Options<A2, E2>
) => Effect.Effect<Timeout<A2, E2>, InvalidConfigError, Scope.Scope> = (options = {}) => internal.make(options)

/**
 * A Layer providing the {@link Timeout} service.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<Timeout, InvalidConfigError> =>
  Layer.scoped(Timeout, internal.make(options))

/**
 * A Layer providing the {@link Timeout} service from `Config`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  config: Config.Config<Options>
): Layer.Layer<Timeout, InvalidConfigError | ConfigError.ConfigError> =>
  Layer.scoped(Timeout, Effect.flatMap(config, internal.make))

/**
 * Runs an effect under a timeout: a {@link Timeout}, options, or just a duration.
 * Inline options are validated once (bad options make the effect die with
 * `InvalidConfigError`).
 *
 * @example
 * ```ts
 * import { Timeout } from "@integration-patterns/core"
 * import { Effect } from "effect"
 *
 * const quick = Effect.sleep("10 millis").pipe(Timeout.withTimeout("1 second"))
 * const withFallback = Effect.never.pipe(
 *   Timeout.withTimeout({ duration: "50 millis", onTimeout: () => Effect.succeed("cached") })
 * )
 * ```
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withTimeout: {
  <A2, E2>(timeout: Timeout<A2, E2>): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, E | E2, R>
  (duration: Duration.DurationInput): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | TimeoutError, R>
  <A2 = never, E2 = TimeoutError>(
    options: Options<A2, E2>
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, E | E2, R>
  <A, E, R, A2, E2>(self: Effect.Effect<A, E, R>, timeout: Timeout<A2, E2>): Effect.Effect<A | A2, E | E2, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, duration: Duration.DurationInput): Effect.Effect<A, E | TimeoutError, R>
  <A, E, R, A2 = never, E2 = TimeoutError>(
    self: Effect.Effect<A, E, R>,
    options: Options<A2, E2>
  ): Effect.Effect<A | A2, E | E2, R>
} = internal.withTimeout as any

/**
 * The time left before the innermost enclosing deadline, or `None` outside any
 * timeout. Forward it to a downstream call so that it gives up when the caller does.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const remaining: Effect.Effect<Option.Option<Duration.Duration>> = internal.remaining
