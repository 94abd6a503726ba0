/**
 * The bulkhead for Promise code. It makes the same decisions as the Effect service
 * (both use the core in `internal/bulkhead/core.ts`) and rejects with the same
 * `BulkheadRejectedError`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import type * as EffectBulkhead from "../Bulkhead.js"
import type { BulkheadRejectedError } from "../Errors.js"
import { processSettings } from "../IntegrationPatterns.js"
import { BulkheadCore, Compartment, type Waiter } from "../internal/bulkhead/core.js"
import * as Opts from "../internal/bulkhead/options.js"
import * as report from "../internal/bulkhead/report.js"
import { globalRegistry } from "../internal/registry.js"
import { readSetting } from "../internal/settingDefault.js"
import { decodeOptionsSync } from "../internal/validation.js"
import * as Metrics from "../Metrics.js"
import * as PatternEvents from "../PatternEvents.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface BulkheadOptions {
  /** Tags metrics, events and errors. Defaults to `"bulkhead"`. */
  readonly name?: string
  /** Calls allowed to run at once: an integer of 1 or more. Required. */
  readonly maxConcurrent: number
  /** Calls allowed to wait for a slot. Defaults to 0 (no queue). */
  readonly queueSize?: number
  /**
   * The longest a call waits in the queue, in milliseconds, before it is rejected with
   * `BulkheadRejectedError { reason: "QueueTimeout" }`; `Infinity` for no limit.
   * Defaults to the configured `defaultTimeout` (30,000).
   */
  readonly timeout?: number
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface BulkheadExecuteOptions {
  /**
   * Aborting it takes a waiting call out of the queue, and an already aborted signal
   * keeps the call from starting; either way the call rejects with the signal's reason.
   * A call that has started runs to its end.
   */
  readonly signal?: AbortSignal
}

/**
 * @since 0.1.0
 * @category Models
 */
export type BulkheadStats = EffectBulkhead.Stats

/**
 * @since 0.1.0
 * @category Models
 */
export type KeyedBulkheadStats = EffectBulkhead.KeyedStats

/**
 * @since 0.1.0
 * @category Models
 */
export type BulkheadKeyStats = EffectBulkhead.KeyStats

/**
 * A waiting call. A class rather than closures: one object per queued call, and it is
 * its own abort listener (`handleEvent`).
 */
class Ticket<T> {
  resolve!: (value: T | PromiseLike<T>) => void
  reject!: (error: unknown) => void
  waiter!: Waiter<Ticket<unknown>>

  constructor(
    readonly engine: Engine,
    readonly fn: () => PromiseLike<T> | T,
    readonly signal: AbortSignal | undefined
  ) {}

  start(): void {
    this.signal?.removeEventListener("abort", this)
    this.resolve(this.engine.run(this.waiter.compartment, this.fn))
  }

  fail(error: unknown): void {
    this.signal?.removeEventListener("abort", this)
    this.reject(error)
  }

  handleEvent(): void {
    if (this.waiter.state !== "Waiting") return
    this.engine.withdraw(this.waiter)
    this.reject(this.signal!.reason)
  }
}

class Engine {
  readonly options: Opts.Resolved
  readonly core: BulkheadCore<Ticket<unknown>>
  readonly single = new Compartment<Ticket<unknown>>(undefined)
  readonly metrics: Metrics.PatternMetrics
  private readonly bus: PatternEvents.PatternEventsService
  private full: BulkheadRejectedError | undefined = undefined
  private timedOut: BulkheadRejectedError | undefined = undefined
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private timerAt = Infinity

  constructor(options: BulkheadOptions) {
    const decoded = decodeOptionsSync("Bulkhead", Opts.FacadeOptions, options)
    const settings = processSettings.current
    this.options = Opts.resolve(decoded, decoded.timeout ?? Duration.toMillis(readSetting(Opts.defaults.timeout, settings)))
    this.core = new BulkheadCore(this.options)
    this.metrics = new Metrics.PatternMetrics("Bulkhead", this.options.name, settings.enableMetrics)
    this.bus = Context.get(Context.empty(), PatternEvents.PatternEvents)
  }

  // Built on first use and then reused (see the Effect shell).
  private get fullError(): BulkheadRejectedError {
    return this.full ??= report.rejection(this.options, "QueueFull")
  }

  private get timeoutError(): BulkheadRejectedError {
    return this.timedOut ??= report.rejection(this.options, "QueueTimeout")
  }

  acquired(): void {
    this.metrics.set(Metrics.bulkheadActive, this.core.active)
  }

  async run<T>(c: Compartment<Ticket<unknown>>, fn: () => PromiseLike<T> | T): Promise<T> {
    try {
      return await fn()
    } finally {
      this.release(c)
    }
  }

  wait<T>(key: string | undefined, fn: () => PromiseLike<T> | T, signal: AbortSignal | undefined): Promise<T> {
    const c = key === undefined ? this.single : this.core.compartment(key)
    if (this.core.isQueueFull(c)) {
      this.core.rejectFull(c)
      this.rejected(key, "QueueFull", 0)
      return Promise.reject(this.fullError)
    }
    const ticket = new Ticket(this, fn, signal)
    const promise = new Promise<T>((resolve, reject) => {
      ticket.resolve = resolve
      ticket.reject = reject
    })
    const w = this.core.enqueue(c, ticket as Ticket<unknown>, Date.now())!
    ticket.waiter = w
    signal?.addEventListener("abort", ticket, { once: true })
    this.metrics.set(Metrics.bulkheadQueued, this.core.queued)
    if (this.bus.active) this.bus.unsafePublish(report.queuedEvent(this.options.name, key, c.queued, w.enqueuedAt))
    this.arm()
    return promise
  }

  withdraw(w: Waiter<Ticket<unknown>>): void {
    this.core.withdraw(w)
    this.metrics.set(Metrics.bulkheadQueued, this.core.queued)
    this.disarmIfIdle()
  }

  private release(c: Compartment<Ticket<unknown>>): void {
    const next = this.core.release(c)
    if (next === undefined) {
      this.metrics.set(Metrics.bulkheadActive, this.core.active)
      return
    }
    this.metrics.set(Metrics.bulkheadQueued, this.core.queued)
    this.metrics.observe(Metrics.bulkheadQueueWait, (Date.now() - next.enqueuedAt) / 1000)
    this.disarmIfIdle()
    next.payload.start()
  }

  private rejected(key: string | undefined, reason: "QueueFull" | "QueueTimeout", waited: number): void {
    this.metrics.reject(report.metricReason[reason])
    if (this.bus.active) {
      this.bus.unsafePublish(report.rejectedEvent(this.options.name, key, reason, waited, Date.now()))
    }
  }

  // Deadlines come in arrival order (one timeout for every call), so one timer set for
  // the earliest of them serves the whole queue.
  private arm(): void {
    const next = this.core.nextDeadline()
    if (next === undefined || this.timerAt <= next) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timerAt = next
    this.timer = setTimeout(this.expire, Math.max(0, next - Date.now()))
  }

  private disarmIfIdle(): void {
    if (this.core.queued === 0 && this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
      this.timerAt = Infinity
    }
  }

  private readonly expire = (): void => {
    this.timer = undefined
    this.timerAt = Infinity
    const now = Date.now()
    let w: Waiter<Ticket<unknown>> | undefined
    while ((w = this.core.expireNext(now)) !== undefined) {
      this.rejected(w.compartment.key, "QueueTimeout", now - w.enqueuedAt)
      w.payload.fail(this.timeoutError)
    }
    this.metrics.set(Metrics.bulkheadQueued, this.core.queued)
    this.arm()
  }
}

/**
 * Caps how many calls run at once and how many wait.
 *
 * ```ts
 * import { Bulkhead } from "@integration-patterns/core/promise"
 *
 * const bulkhead = new Bulkhead({ maxConcurrent: 5, queueSize: 10, timeout: 30000 })
 * const answer = await bulkhead.execute(async () => 42)
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export class Bulkhead {
  readonly name: string
  private readonly engine: Engine

  /** Throws `InvalidConfigError` when an option is bad. */
  constructor(options: BulkheadOptions) {
    this.engine = new Engine(options)
    this.name = this.engine.options.name
    globalRegistry.registerWeak(this, "Bulkhead", this.name, {
      stats: (bulkhead) => ({ ...bulkhead.getStats() }),
      health: (bulkhead) => report.health(bulkhead.engine.options, bulkhead.engine.core, bulkhead.engine.single)
    })
  }

  /**
   * Runs `fn` in a slot: at once when one is free, otherwise after waiting in the queue.
   * Rejects with `BulkheadRejectedError` when the queue is full or the wait is too long.
   */
  execute<T>(fn: () => PromiseLike<T> | T, options?: BulkheadExecuteOptions): Promise<T> {
    const engine = this.engine
    const signal = options?.signal
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (engine.core.tryAcquire(engine.single)) {
      engine.acquired()
      return engine.run(engine.single, fn)
    }
    return engine.wait(undefined, fn, signal)
  }

  getStats(): BulkheadStats {
    const { core, options, single } = this.engine
    return report.stats(options, core, core.isSaturated(single))
  }
}

/**
 * One set of slots and one queue per key (tenant, host), so that one busy key cannot
 * take the slots of the others. A key's state is dropped once nothing runs or waits
 * under it.
 *
 * @since 0.1.0
 * @category Constructors
 */
export class KeyedBulkhead {
  readonly name: string
  private readonly engine: Engine

  /** Throws `InvalidConfigError` when an option is bad. */
  constructor(options: BulkheadOptions) {
    this.engine = new Engine(options)
    this.name = this.engine.options.name
    globalRegistry.registerWeak(this, "Bulkhead", this.name, {
      stats: (bulkhead) => ({ ...bulkhead.getStats() }),
      health: (bulkhead) => report.keyedHealth(bulkhead.engine.options, bulkhead.engine.core)
    })
  }

  /** Runs `fn` in a slot of `key`. */
  execute<T>(key: string, fn: () => PromiseLike<T> | T, options?: BulkheadExecuteOptions): Promise<T> {
    const engine = this.engine
    const signal = options?.signal
    if (signal?.aborted) return Promise.reject(signal.reason)
    const c = engine.core.compartment(key)
    if (engine.core.tryAcquire(c)) {
      engine.acquired()
      return engine.run(c, fn)
    }
    return engine.wait(key, fn, signal)
  }

  getStats(): KeyedBulkheadStats {
    return report.keyedStats(this.engine.options, this.engine.core)
  }

  /** The state of one key; undefined when nothing runs or waits under it. */
  getKeyStats(key: string): BulkheadKeyStats | undefined {
    return report.keyStats(this.engine.core, key)
  }
}
