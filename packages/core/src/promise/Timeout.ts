/**
 * Timeout for Promise code. A promise cannot be interrupted, so the operation is told:
 * it receives an `AbortSignal` that is aborted (with the `TimeoutError` as reason) when
 * the deadline passes.
 *
 * - By default the call rejects with `TimeoutError` at the deadline.
 * - With `gracefulShutdown`, the operation gets `gracePeriod` to wind down after the
 *   abort; the call rejects when it settles (phase `"Operation"`) or when the grace
 *   period ends (phase `"GracePeriod"`), whichever comes first.
 *
 * Deadlines share one timer per process (the timer wheel of the Effect shell), so a
 * call costs a list append and unlink rather than a `setTimeout`/`clearTimeout` pair.
 * Numbers are milliseconds.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import { TimeoutError } from "../Errors.js"
import { processSettings } from "../IntegrationPatterns.js"
import * as Metrics from "../Metrics.js"
import { PatternEvents } from "../PatternEvents.js"
import type * as EffectTimeout from "../Timeout.js"
import { globalRegistry } from "../internal/registry.js"
import { OptionsSchema, resolve, type TimeoutConfig } from "../internal/timeout/options.js"
import { Counters, health, snapshot } from "../internal/timeout/stats.js"
import { NodeTimerDriver } from "../internal/timeout/timers.js"
import { TimerEntry, TimerWheel } from "../internal/timeout/timerWheel.js"
import { decodeOptionsSync } from "../internal/validation.js"

/**
 * Options of a {@link Timeout}. Durations are milliseconds.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TimeoutOptions<T = never> {
  /** Tags metrics, events and health. Defaults to `"timeout"`. */
  readonly name?: string
  /** Defaults to `defaultTimeout` of the process settings (30,000). */
  readonly duration?: number
  /** Gives the operation `gracePeriod` to settle after the abort. Defaults to `false`. */
  readonly gracefulShutdown?: boolean
  /** Only with `gracefulShutdown`. Defaults to 1,000. */
  readonly gracePeriod?: number
  /** Turns a timeout into a fallback value (or another rejection, by throwing). */
  readonly onTimeout?: (error: TimeoutError) => T | PromiseLike<T>
}

const wheel = new TimerWheel()
wheel.setDriver(new NodeTimerDriver(wheel, Date.now))

const isPromiseLike = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as PromiseLike<unknown>).then === "function"

class Call extends TimerEntry {
  timedOut = false
  released = false
  controller: AbortController | undefined
  resolve!: (value: unknown) => void
  reject!: (error: unknown) => void

  constructor(readonly owner: Timeout<any>) {
    super()
  }

  expire(now: number): void {
    const owner = this.owner
    if (!this.timedOut) {
      this.timedOut = true
      this.controller?.abort(owner.error("Operation"))
      if (owner.config.gracefulShutdown) wheel.add(this, owner.config.gracePeriod, now)
      else owner.release(this, "Operation", now)
      return
    }
    owner.release(this, "GracePeriod", now)
  }

  settle(ok: boolean, value: unknown): void {
    if (this.released) return
    wheel.remove(this)
    if (this.timedOut) {
      this.owner.release(this, "Operation", Date.now())
      return
    }
    this.released = true
    this.owner.outcome(ok)
    if (ok) this.resolve(value)
    else this.reject(value)
  }
}

/**
 * Bounds how long an async function may run.
 *
 * The `AbortSignal` is created only for a function that declares a parameter
 * (`fn.length > 0`): Node's `AbortController` costs several microseconds, and a
 * function written `async () => ...` cannot use it.
 *
 * @example
 * ```ts
 * import { Timeout } from "@integration-patterns/core/promise"
 *
 * const timeout = new Timeout({ duration: 5000, gracefulShutdown: true })
 * const body = await timeout.execute(async (signal) => {
 *   signal.addEventListener("abort", () => undefined)
 *   return "done"
 * })
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export class Timeout<T = never> {
  /** @internal */
  readonly config: TimeoutConfig
  private readonly onTimeout: ((error: TimeoutError) => T | PromiseLike<T>) | undefined
  private readonly counters = new Counters()
  private readonly metrics: Metrics.PatternMetrics

  /** @throws InvalidConfigError, listing every problem in the options. */
  constructor(options: TimeoutOptions<T> = {}) {
    const decoded = decodeOptionsSync("Timeout", OptionsSchema, options)
    const settings = processSettings.current
    this.config = resolve(decoded, settings)
    this.onTimeout = options.onTimeout
    this.metrics = new Metrics.PatternMetrics("Timeout", this.config.name, settings.enableMetrics)
    globalRegistry.registerWeak(this, "Timeout", this.config.name, {
      stats: (timeout) => ({ ...timeout.getStats() }),
      health: (timeout) => health(timeout.counters)
    })
  }

  get name(): string {
    return this.config.name
  }

  get duration(): Duration.Duration {
    return Duration.millis(this.config.duration)
  }

  /**
   * Calls `fn` and settles like it, unless the deadline passes first: then the signal
   * is aborted and the call rejects with `TimeoutError` (or settles with `onTimeout`).
   */
  execute<A>(fn: (signal: AbortSignal) => A | PromiseLike<A>): Promise<A | T> {
    const call = new Call(this)
    let result: A | PromiseLike<A>
    try {
      if (fn.length === 0) {
        result = (fn as () => A | PromiseLike<A>)()
      } else {
        call.controller = new AbortController()
        result = fn(call.controller.signal)
      }
    } catch (error) {
      this.outcome(false)
      return Promise.reject(error)
    }
    if (!isPromiseLike(result)) {
      this.outcome(true)
      return Promise.resolve(result)
    }
    wheel.add(call, this.config.duration, Date.now())
    return new Promise<A | T>((resolve, reject) => {
      call.resolve = resolve as (value: unknown) => void
      call.reject = reject
      result.then((value) => call.settle(true, value), (error) => call.settle(false, error))
    })
  }

  /** A snapshot of this instance's counters. */
  getStats(): EffectTimeout.Stats {
    return snapshot(this.config.name, this.config.duration, this.counters)
  }

  /** @internal */
  error(phase: TimeoutError["phase"]): TimeoutError {
    return new TimeoutError({ timeout: this.config.name, duration: this.config.duration, phase })
  }

  /** @internal */
  outcome(ok: boolean): void {
    if (ok) this.counters.successes++
    else this.counters.failures++
    this.counters.recent.record(false)
    this.metrics.count(Metrics.calls, ok ? "success" : "failure")
  }

  /** @internal */
  release(call: Call, phase: TimeoutError["phase"], now: number): void {
    if (call.released) return
    call.released = true
    wheel.remove(call)
    this.counters.timeouts++
    if (phase === "GracePeriod") this.counters.gracePeriodOverruns++
    this.counters.recent.record(true)
    this.metrics.count(Metrics.calls, "timeout")
    const bus = Context.get(Context.empty(), PatternEvents)
    if (bus.active) {
      bus.unsafePublish({
        _tag: "TimeoutExpired",
        pattern: "Timeout",
        name: this.config.name,
        timestamp: now,
        duration: this.config.duration,
        phase
      })
    }
    const error = this.error(phase)
    if (this.onTimeout === undefined) {
      call.reject(error)
      return
    }
    const onTimeout = this.onTimeout
    new Promise<T>((resolve) => resolve(onTimeout(error))).then(call.resolve, call.reject)
  }
}
