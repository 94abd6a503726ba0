import type * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import type * as Bulkhead from "../../Bulkhead.js"
import type { BulkheadRejectedError, InvalidConfigError } from "../../Errors.js"
import * as IntegrationPatterns from "../../IntegrationPatterns.js"
import * as Metrics from "../../Metrics.js"
import * as PatternEvents from "../../PatternEvents.js"
import * as Frames from "../frames.js"
import { readSetting } from "../settingDefault.js"
import { decodeOptions } from "../validation.js"
import { BulkheadCore, Compartment, type Waiter } from "./core.js"
import * as Opts from "./options.js"
import * as report from "./report.js"

/** @internal */
export const defaults = Opts.defaults

/** A queued fiber's resume callback; it receives the compartment whose slot it got. */
interface Resume {
  (effect: Effect.Effect<Compartment<Resume>, BulkheadRejectedError>): void
}

type Slot = Compartment<Resume>

/** Where a waiting call finds its queue entry when the wait ends. */
class Ticket {
  waiter: Waiter<Resume> | undefined = undefined
}

/** Gives a call's slot back however the call ends; runs where interruption is off. */
class ReleaseFrame extends Frames.Frame {
  constructor(private readonly shell: Shell, private readonly slot: Slot) {
    super()
  }

  onSuccess(value: unknown): Effect.Effect<unknown> {
    this.shell.release(this.slot)
    return Exit.succeed(value)
  }

  onFailure(cause: Cause.Cause<unknown>): Effect.Effect<never, unknown> {
    this.shell.release(this.slot)
    return Exit.failCause(cause)
  }
}

/**
 * The Effect shell around {@link BulkheadCore}. The core lives in a plain mutable field,
 * not a `Ref`: a free slot is taken and given back with two synchronous field updates
 * inside one fiber step, where a `Ref` would add two more fiber steps (a
 * `Ref.update` costs about what an `Effect.sync` does, 100 to 200 ns on the bench
 * machine) to a hot path that costs a few hundred nanoseconds in all, and the
 * waiters' resume callbacks cannot be kept in an immutable value without copying the
 * queue.
 */
class Shell {
  readonly core: BulkheadCore<Resume>
  readonly single = new Compartment<Resume>(undefined)
  private full: Effect.Effect<never, BulkheadRejectedError> | undefined = undefined
  private timedOut: Effect.Effect<never, BulkheadRejectedError> | undefined = undefined
  private wake: (() => void) | undefined = undefined

  constructor(
    readonly options: Opts.Resolved,
    private readonly clock: Clock.Clock,
    private readonly bus: PatternEvents.PatternEventsService,
    private readonly metrics: Metrics.PatternMetrics
  ) {
    this.core = new BulkheadCore(options)
  }

  // Built on first use and then reused: a rejection carries only per-instance fields,
  // and building a `Schema.TaggedError` (validation and a stack trace) costs far more
  // than the rest of a rejection. A ready `Exit` fails in one fiber step, where
  // `Effect.fail` takes three (it also attaches the current span to the error).
  get failFull(): Effect.Effect<never, BulkheadRejectedError> {
    return this.full ??= Exit.fail(report.rejection(this.options, "QueueFull"))
  }

  get failTimeout(): Effect.Effect<never, BulkheadRejectedError> {
    return this.timedOut ??= Exit.fail(report.rejection(this.options, "QueueTimeout"))
  }

  /** The frame that gives the single compartment's slot back; it holds no per-call state. */
  readonly singleRelease: ReleaseFrame = new ReleaseFrame(this, this.single)

  /** The frame that gives `c`'s slot back however the call ends. */
  releaseFrame(c: Slot): ReleaseFrame {
    return c === this.single ? this.singleRelease : new ReleaseFrame(this, c)
  }

  acquired(): void {
    this.metrics.set(Metrics.bulkheadActive, this.core.active)
  }

  rejectFull(c: Slot): Effect.Effect<never, BulkheadRejectedError> {
    this.core.rejectFull(c)
    this.rejected(c.key, "QueueFull", 0)
    return this.failFull
  }

  /**
   * Waits in the queue for a slot of `key`'s compartment (the single one when
   * undefined), then runs `self` in it. Called inside `uninterruptibleMask`: only the
   * wait itself is interruptible, and the handler that takes an interrupted waiter out
   * of the queue runs in the masked part, so it runs however the wait ends. That is one
   * mask per call; `Effect.async` with a canceler would wrap the wait in a second one.
   */
  waitThenRun<A, E, R>(
    key: string | undefined,
    self: Effect.Effect<A, E, R>,
    restore: <AX, EX, RX>(effect: Effect.Effect<AX, EX, RX>) => Effect.Effect<AX, EX, RX>
  ): Effect.Effect<unknown, unknown, R> {
    const ticket = new Ticket()
    return Effect.matchCauseEffect(restore(this.wait(key, ticket)), {
      onFailure: (cause) => {
        if (ticket.waiter !== undefined) this.withdraw(ticket.waiter)
        return Effect.failCause(cause)
      },
      onSuccess: (slot) => Frames.observe(restore(self), this.releaseFrame(slot))
    })
  }

  // The slot may have freed up, or the key's compartment been replaced, since the
  // caller looked, so the decision is taken again here.
  private wait(key: string | undefined, ticket: Ticket): Effect.Effect<Slot, BulkheadRejectedError> {
    return Effect.async<Slot, BulkheadRejectedError>((resume) => {
      const c = key === undefined ? this.single : this.core.compartment(key)
      if (this.core.tryAcquire(c)) {
        this.acquired()
        return resume(Effect.succeed(c))
      }
      const w = this.core.enqueue(c, resume, this.clock.unsafeCurrentTimeMillis())
      if (w === undefined) {
        this.rejected(c.key, "QueueFull", 0)
        return resume(this.failFull)
      }
      ticket.waiter = w
      this.queued(w)
    })
  }

  release(c: Slot): void {
    const next = this.core.release(c)
    if (next === undefined) this.metrics.set(Metrics.bulkheadActive, this.core.active)
    else this.grant(next)
  }

  private grant(w: Waiter<Resume>): void {
    this.metrics.set(Metrics.bulkheadQueued, this.core.queued)
    if (this.metrics.enabled) {
      this.metrics.observe(Metrics.bulkheadQueueWait, (this.clock.unsafeCurrentTimeMillis() - w.enqueuedAt) / 1000)
    }
    w.payload(Effect.succeed(w.compartment))
  }

  // An interrupted waiter leaves the queue; if it was granted a slot in the same
  // instant, the slot moves on to the next waiter.
  private withdraw(w: Waiter<Resume>): void {
    const next = this.core.withdraw(w)
    if (next !== undefined) this.grant(next)
    this.metrics.set(Metrics.bulkheadQueued, this.core.queued)
    this.metrics.set(Metrics.bulkheadActive, this.core.active)
  }

  private queued(w: Waiter<Resume>): void {
    this.metrics.set(Metrics.bulkheadQueued, this.core.queued)
    if (this.bus.active) {
      this.bus.unsafePublish(report.queuedEvent(this.options.name, w.compartment.key, w.compartment.queued, w.enqueuedAt))
    }
    if (this.wake !== undefined) this.wake()
  }

  private rejected(key: string | undefined, reason: "QueueFull" | "QueueTimeout", waited: number): void {
    this.metrics.reject(report.metricReason[reason])
    if (this.bus.active) {
      const now = this.clock.unsafeCurrentTimeMillis()
      this.bus.unsafePublish(report.rejectedEvent(this.options.name, key, reason, waited, now))
    }
  }

  private expireDue(now: number): void {
    let w = this.core.expireNext(now)
    if (w === undefined) return
    while (w !== undefined) {
      this.rejected(w.compartment.key, "QueueTimeout", now - w.enqueuedAt)
      w.payload(this.failTimeout)
      w = this.core.expireNext(now)
    }
    this.metrics.set(Metrics.bulkheadQueued, this.core.queued)
  }

  // Every call waits at most the same timeout, so the queue's deadlines come in arrival
  // order and one fiber sleeping until the first of them serves the whole queue: no
  // fiber and no timer per waiting call.
  private readonly idle: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.core.nextDeadline() !== undefined) return resume(Effect.void)
    this.wake = () => {
      this.wake = undefined
      resume(Effect.void)
    }
    return Effect.sync(() => {
      this.wake = undefined
    })
  })

  readonly timer: Effect.Effect<never> = Effect.forever(Effect.suspend(() => {
    const now = this.clock.unsafeCurrentTimeMillis()
    this.expireDue(now)
    const next = this.core.nextDeadline()
    return next === undefined ? this.idle : this.clock.sleep(Duration.millis(next - now))
  }))
}

const build = (options: Bulkhead.Options): Effect.Effect<Shell, InvalidConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const decoded = yield* decodeOptions("Bulkhead", Opts.Options, options)
    const settings = yield* IntegrationPatterns.settings
    const bus = yield* PatternEvents.PatternEvents
    const clock = yield* Effect.clock
    const timeout = Duration.toMillis(decoded.timeout ?? readSetting(Opts.defaults.timeout, settings))
    const resolved = Opts.resolve(decoded, timeout)
    const metrics = new Metrics.PatternMetrics("Bulkhead", resolved.name, settings.enableMetrics)
    const shell = new Shell(resolved, clock, bus, metrics)
    if (Number.isFinite(timeout)) yield* Effect.forkScoped(shell.timer)
    return shell
  })

/** @internal */
export const make = (options: Bulkhead.Options): Effect.Effect<Bulkhead.Bulkhead, InvalidConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const shell = yield* build(options)
    const { core, single } = shell
    const unsafeStats = (): Bulkhead.Stats => report.stats(shell.options, core, core.isSaturated(single))
    yield* IntegrationPatterns.register({
      kind: "Bulkhead",
      name: shell.options.name,
      stats: () => ({ ...unsafeStats() }),
      health: () => report.health(shell.options, core, single)
    })
    // A free slot is taken in the step that decides, and given back by a frame that runs
    // however `self` ends, interruption included (`frames.ts` pushes the frames an
    // `uninterruptibleMask` would leave, without its four runtime-flag steps). A call
    // that would be turned away is rejected in that step too; a call that must wait
    // takes the masked path, where the wait is the only interruptible part.
    //
    // What a free slot costs over `yield* Effect.promise(fn)` in one fiber, compiled JS:
    // through `uninterruptibleMask` + `matchCauseEffect` (the public-API path, still
    // taken when the probe in `frames.ts` fails) +690..840 ns in earlier rounds, of
    // which the mask and `restore` were about +430; `withPermits(1)` about +3,800 in the
    // same runs. With the pushed frames, see BENCHMARKS.md (`bulkhead.free`).
    const masked = <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.uninterruptibleMask((restore) => {
        if (core.tryAcquire(single)) {
          shell.acquired()
          return Frames.observe(restore(self), shell.singleRelease)
        }
        return shell.waitThenRun(undefined, self, restore)
      }) as Effect.Effect<A, E | BulkheadRejectedError, R>
    const execute = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | BulkheadRejectedError, R> => {
      const slow = masked(self)
      return Effect.withFiberRuntime((fiber) => {
        if (core.isFull(single)) return shell.rejectFull(single)
        if (Frames.fast() && core.tryAcquire(single)) {
          shell.acquired()
          Frames.pushGuarded(fiber, shell.singleRelease)
          return self
        }
        return slow
      })
    }
    return {
      name: shell.options.name,
      execute,
      stats: Effect.sync(unsafeStats),
      unsafeStats
    }
  })

/** @internal */
export const makeKeyed = (
  options: Bulkhead.Options
): Effect.Effect<Bulkhead.KeyedBulkhead, InvalidConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const shell = yield* build(options)
    const { core } = shell
    const unsafeStats = (): Bulkhead.KeyedStats => report.keyedStats(shell.options, core)
    yield* IntegrationPatterns.register({
      kind: "Bulkhead",
      name: shell.options.name,
      stats: () => ({ ...unsafeStats() }),
      health: () => report.keyedHealth(shell.options, core)
    })
    const masked = <A, E, R>(key: string, self: Effect.Effect<A, E, R>) =>
      Effect.uninterruptibleMask((restore) => {
        const c = core.compartment(key)
        if (core.tryAcquire(c)) {
          shell.acquired()
          return Frames.observe(restore(self), shell.releaseFrame(c))
        }
        if (core.isQueueFull(c)) return shell.rejectFull(c)
        return shell.waitThenRun(key, self, restore)
      }) as Effect.Effect<A, E | BulkheadRejectedError, R>
    // As the single bulkhead's `execute`: a free slot and a rejection are decided in one
    // step, and only a call that must wait takes the masked path (which decides again).
    const execute = <A, E, R>(
      key: string,
      self: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | BulkheadRejectedError, R> =>
      Effect.withFiberRuntime((fiber) => {
        if (!Frames.fast()) return masked(key, self)
        const c = core.compartment(key)
        if (core.tryAcquire(c)) {
          shell.acquired()
          Frames.pushGuarded(fiber, shell.releaseFrame(c))
          return self
        }
        if (core.isQueueFull(c)) return shell.rejectFull(c)
        return masked(key, self)
      })
    return {
      name: shell.options.name,
      execute,
      stats: Effect.sync(unsafeStats),
      unsafeStats,
      keyStats: (key) => report.keyStats(core, key)
    }
  })
