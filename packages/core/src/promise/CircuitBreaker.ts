/**
 * The circuit breaker for Promise code. It runs the same state machine as the Effect
 * service, in a field of this object, with `Date.now()` for time; a call costs no
 * Effect runtime.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as CB from "../CircuitBreaker.js"
import type { CircuitBreakerOpenError } from "../Errors.js"
import { processSettings } from "../IntegrationPatterns.js"
import { Machine, REJECTED, type State, type Transition } from "../internal/circuitBreaker/machine.js"
import { machineConfig, resolve, type Resolved } from "../internal/circuitBreaker/options.js"
import type { TripReason } from "../internal/circuitBreaker/policy.js"
import { BreakerMetrics, classifyError, healthOf, openError } from "../internal/circuitBreaker/common.js"
import { decodeSnapshot, type Snapshot, toSnapshot } from "../internal/circuitBreaker/snapshot.js"
import { globalRegistry } from "../internal/registry.js"
import * as Metrics from "../Metrics.js"
import * as PatternEvents from "../PatternEvents.js"

/**
 * Options of the Promise breaker: those of the Effect API (durations may be numbers of
 * milliseconds), plus a snapshot to start from.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CircuitBreakerOptions extends CB.Options<unknown, unknown> {
  /** A state saved with `toJSON()`; one that does not decode makes the constructor throw `PersistenceError`. */
  readonly snapshot?: unknown
}

/**
 * @since 0.1.0
 * @category Models
 */
export type CircuitState = State

/**
 * @since 0.1.0
 * @category Models
 */
export type CircuitBreakerStats = CB.Stats

/**
 * Detaches a listener; call it, or call its `dispose`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CircuitBreakerDisposer {
  (): void
  readonly dispose: () => void
}

const FacadeFields = { snapshot: Schema.optionalWith(Schema.Unknown, { exact: true }) }

/**
 * A circuit breaker for async functions.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitBreakerOpenError } from "@integration-patterns/core/promise"
 *
 * const breaker = new CircuitBreaker({ failureThreshold: 5, recoveryTimeout: 60000, monitoringWindow: 300000 })
 * const stop = breaker.onStateChange((change) => console.log(`${change.from} -> ${change.to}`))
 *
 * try {
 *   const stock = await breaker.execute(async () => 42)
 *   console.log(stock)
 * } catch (error) {
 *   if (error instanceof CircuitBreakerOpenError) console.log(`retry in ${error.retryAfter} ms`)
 * }
 * stop()
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export class CircuitBreaker {
  readonly name: string
  private readonly machine: Machine
  private readonly resolved: Resolved
  private readonly metrics: BreakerMetrics
  private readonly bus: PatternEvents.PatternEventsService
  private readonly listeners = new Set<(event: CB.CircuitBreakerEvent) => void>()

  /** @throws InvalidConfigError on bad options, PersistenceError on a snapshot that does not decode. */
  constructor(options: CircuitBreakerOptions = {}) {
    const resolved = resolve(options, processSettings.current, FacadeFields)
    if (Either.isLeft(resolved)) throw resolved.left
    this.resolved = resolved.right
    this.name = resolved.right.name
    this.metrics = new BreakerMetrics(
      new Metrics.PatternMetrics("CircuitBreaker", this.name, processSettings.current.enableMetrics),
      true
    )
    this.bus = Effect.runSync(PatternEvents.PatternEvents)
    this.machine = new Machine(machineConfig(resolved.right), Date.now())
    if (options.snapshot !== undefined) this.restore(options.snapshot)
    this.machine.listener = {
      onTransition: (transition) => this.transitioned(transition),
      onShadowTrip: (reason, at) => this.shadowTripped(reason, at)
    }
    this.metrics.state(this.machine.state)
    if (processSettings.current.enableHealthChecks) {
      globalRegistry.registerWeak(this, "CircuitBreaker", this.name, {
        stats: (breaker) => ({ ...breaker.getStats() }),
        health: (breaker) => healthOf(breaker.getState())
      })
    }
  }

  /**
   * Runs `fn` if the breaker lets it, and records how it went. Rejects with
   * `CircuitBreakerOpenError` without calling `fn` while the breaker is open.
   */
  async execute<T>(fn: () => PromiseLike<T> | T): Promise<T> {
    const start = Date.now()
    const permit = this.machine.acquire(start)
    if (permit === REJECTED) throw this.reject(start)
    let value: T
    try {
      value = await fn()
    } catch (error) {
      switch (classifyError(this.resolved, error)) {
        case "failure":
          this.failed(permit, start, error)
          break
        case "success":
          this.succeeded(permit, start)
          break
        case "ignored":
          this.ignored(permit, start)
      }
      throw error
    }
    const isResultFailure = this.resolved.isResultFailure
    if (isResultFailure !== undefined && isResultFailure(value)) this.failed(permit, start, value)
    else this.succeeded(permit, start)
    return value
  }

  getState(): CircuitState {
    return this.machine.state
  }

  getStats(): CircuitBreakerStats {
    return { name: this.name, ...this.machine.stats(Date.now()) }
  }

  /** Holds the breaker open until `reset()`. */
  isolate(): void {
    this.machine.isolate(Date.now())
  }

  /** Closes the breaker and forgets every outcome and trip. */
  reset(): void {
    this.machine.reset(Date.now())
  }

  /** Lets every call through and records nothing against the trip policies. */
  disable(): void {
    this.machine.disable(Date.now())
  }

  /** Records and reports, never rejects. */
  metricsOnly(): void {
    this.machine.metricsOnly(Date.now())
  }

  /** The state to save; a half-open breaker is saved as open and due, so a restored one probes at once. */
  toJSON(): Snapshot {
    return toSnapshot(this.name, this.machine.snapshot(Date.now()))
  }

  /** @throws PersistenceError when `snapshot` does not decode. */
  restore(snapshot: unknown): void {
    const decoded = decodeSnapshot("CircuitBreaker", this.name, snapshot)
    if (Either.isLeft(decoded)) throw decoded.left
    this.machine.restore(decoded.right, Date.now())
  }

  /** Every state change. */
  onStateChange(listener: (event: CB.StateChanged) => void): CircuitBreakerDisposer {
    return this.listen((event) => event._tag === "StateChanged" && listener(event))
  }

  /** The breaker opened (or was isolated). */
  onBreak(listener: (event: CB.StateChanged) => void): CircuitBreakerDisposer {
    return this.onStateChange((event) => (event.to === "Open" || event.to === "Isolated") && listener(event))
  }

  /** The breaker closed. */
  onReset(listener: (event: CB.StateChanged) => void): CircuitBreakerDisposer {
    return this.onStateChange((event) => event.to === "Closed" && listener(event))
  }

  /** The breaker lets probes through. */
  onHalfOpen(listener: (event: CB.StateChanged) => void): CircuitBreakerDisposer {
    return this.onStateChange((event) => event.to === "HalfOpen" && listener(event))
  }

  onSuccess(listener: (event: CB.CallSucceeded) => void): CircuitBreakerDisposer {
    return this.listen((event) => event._tag === "CallSucceeded" && listener(event))
  }

  onFailure(listener: (event: CB.CallFailed) => void): CircuitBreakerDisposer {
    return this.listen((event) => event._tag === "CallFailed" && listener(event))
  }

  onReject(listener: (event: CB.CallRejected) => void): CircuitBreakerDisposer {
    return this.listen((event) => event._tag === "CallRejected" && listener(event))
  }

  private transitioned(transition: Transition): void {
    this.metrics.transition(transition.to)
    if (this.watched) {
      this.emit({
        _tag: "StateChanged",
        pattern: "CircuitBreaker",
        name: this.name,
        timestamp: transition.at,
        from: transition.from,
        to: transition.to,
        reason: transition.reason,
        retryAfter: transition.to === "Open" ? Math.max(0, transition.openUntil - transition.at) : 0
      })
    }
  }

  private shadowTripped(reason: TripReason, at: number): void {
    this.metrics.shadowTrip()
    if (this.watched) {
      this.emit({ _tag: "WouldHaveOpened", pattern: "CircuitBreaker", name: this.name, timestamp: at, reason })
    }
  }

  private get watched(): boolean {
    return this.listeners.size > 0 || this.bus.active
  }

  private listen(listener: (event: CB.CircuitBreakerEvent) => unknown): CircuitBreakerDisposer {
    this.listeners.add(listener)
    const dispose = () => void this.listeners.delete(listener)
    return Object.assign(() => dispose(), { dispose })
  }

  private emit(event: CB.CircuitBreakerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A listener's failure must never break the breaker that called it.
      }
    }
    if (this.bus.active) this.bus.unsafePublish(event)
  }

  private reject(now: number): CircuitBreakerOpenError {
    const state = this.machine.state as "Open" | "HalfOpen" | "Isolated"
    const retryAfter = this.machine.retryAfter(now)
    this.metrics.rejected()
    if (this.watched) {
      this.emit({ _tag: "CallRejected", pattern: "CircuitBreaker", name: this.name, timestamp: now, state, retryAfter })
    }
    return openError(this.name, state, retryAfter)
  }

  // The call's own event goes out before the transition it may cause.
  private succeeded(permit: number, start: number): void {
    const end = Date.now()
    const duration = end - start
    this.metrics.succeeded(duration)
    if (this.watched) {
      this.emit({ _tag: "CallSucceeded", pattern: "CircuitBreaker", name: this.name, timestamp: end, duration })
    }
    this.machine.onSuccess(permit, end, duration)
  }

  private failed(permit: number, start: number, error: unknown): void {
    const end = Date.now()
    const duration = end - start
    this.metrics.failed(duration)
    if (this.watched) {
      this.emit({ _tag: "CallFailed", pattern: "CircuitBreaker", name: this.name, timestamp: end, duration, error })
    }
    this.machine.onFailure(permit, end, duration)
  }

  private ignored(permit: number, start: number): void {
    this.metrics.ignored(Date.now() - start)
    this.machine.onIgnored(permit)
  }
}
