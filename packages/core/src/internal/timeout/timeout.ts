/**
 * The Effect shell of Timeout.
 *
 * `Effect.timeout` forks the operation and a sleeper fiber and races them. Here an
 * operation gets one entry in a shared per-Clock timer wheel (timerWheel.ts), woken
 * by one timer per Clock, and, where possible, no fork at all: when the deadline passes,
 * the wheel interrupts the caller's own fiber, the operation unwinds (its finalizers
 * run), and the timeout catches the interruption in an uninterruptible frame, clears
 * it and fails with `TimeoutError` (fiberInternals.ts).
 *
 * Candidates, measured as CPU ns per call of `Effect.promise(async () => 1)` in one
 * fiber (process CPU time, which other jobs on the machine disturb less than wall time,
 * but which counts GC threads too), median of 9 interleaved rounds, then the median of
 * 3 process runs. Node 20, effect 3.22.4, source through tsx, 2 cores shared with other
 * jobs (load 1 to 6):
 *
 * | mechanism                                                      | overhead ns |
 * |----------------------------------------------------------------|------------:|
 * | `Effect.timeout` (forks the operation and a sleeper, races)     |     +57,100 |
 * | `forkDaemon` + exit observer + `setTimeout`/`clearTimeout`     |      +8,560 |
 * | `Runtime.runFork` (immediate start) + exit observer            |      +8,180 |
 * | this module, fork path (`gracefulShutdown`, or child fibers)   |     +16,900 |
 * | `uninterruptible`/`interruptible` + `matchCauseEffect` alone   |      +1,140 |
 * | this module, in-place path (wheel entry, interrupt in place)   |      +2,620 |
 *
 * `pnpm bench --only timeout` (wall time, 3 runs at load 3.5 to 4.5): in-place path
 * +1,530 / +2,000 / +2,150 ns over the in-fiber baseline, `Effect.timeout` +30,700 to
 * +47,900 ns. Compiled JS (`pnpm bench`, 10th percentile of 41 rounds), two runs:
 * +2,377 and +2,762 ns over in-fiber baselines of 1,873 and 1,991 ns (the VM ran at half
 * its usual speed), +1,231 and +1,345 ns scaled to PERFORMANCE.md's 970 ns floor; best
 * of 151 rounds of 4 ms at a faster moment, +1,250 to +1,400 ns.
 *
 * Any design that forks pays the fork (a copy of the fiber's FiberRefs, a scheduler hop
 * each way) and cannot get near the 2,000 ns target; the in-place path
 * pays mainly the two runtime-flag changes that let its handler run while the fiber is
 * interrupted, and one step to register the deadline once the region is
 * uninterruptible. The fork path remains for `gracefulShutdown` (the caller must be able to
 * leave while finalizers still run) and for a caller with child fibers of its own (an
 * interruption would reach them too).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import * as RuntimeFlags from "effect/RuntimeFlags"
import type * as Scope from "effect/Scope"
import { type InvalidConfigError, TimeoutError } from "../../Errors.js"
import * as IntegrationPatterns from "../../IntegrationPatterns.js"
import * as Metrics from "../../Metrics.js"
import { PatternEvents, type PatternEventsService } from "../../PatternEvents.js"
import type * as Timeout from "../../Timeout.js"
import { clockOf, PerEnvironment } from "../fiberEnv.js"
import type { PatternHealth } from "../registry.js"
import { decodeOptions, decodeOptionsEither } from "../validation.js"
import { currentDeadlines, type Deadlines, type Frame, ownDeadlines, withOwnDeadlines } from "./deadline.js"
import { canInterruptInPlace, clearInterruption, interruptedOnlyByTimeouts, timeoutFiberId } from "./fiberInternals.js"
import { defaults, OptionsSchema, resolve, type TimeoutConfig } from "./options.js"
import { Counters, health, snapshot } from "./stats.js"
import { TimerEntry, type TimerWheel } from "./timerWheel.js"
import { wheelOf } from "./timers.js"

/** @internal */
export const TypeId: Timeout.TypeId = Symbol.for("@integration-patterns/core/Timeout") as Timeout.TypeId

type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
type Handler = (error: TimeoutError) => Effect.Effect<unknown, unknown>

// An operation interrupted inside the caller's fiber.
class InPlaceEntry extends TimerEntry implements Frame {
  fired = false

  constructor(
    readonly owner: Fiber.RuntimeFiber<any, any>,
    readonly stack: Deadlines,
    readonly depth: number,
    readonly wheel: TimerWheel,
    readonly clock: Clock.Clock
  ) {
    super()
  }

  expire(now: number): void {
    // An enclosing timeout of the same fiber that is also due fires instead: one
    // interruption unwinds both, and the outermost reports it.
    const frames = this.stack.frames
    for (let i = 0; i < this.depth && i < frames.length; i++) {
      const frame = frames[i]!
      if (frame.owner === this.owner && (frame.fired || frame.deadline <= now)) return
    }
    this.fired = true
    this.owner.unsafeInterruptAsFork(timeoutFiberId)
  }

  // True when an enclosing timeout of the same fiber has fired: its handler, further
  // out, reports the timeout.
  enclosingFired(): boolean {
    const frames = this.stack.frames
    for (let i = 0; i < this.depth && i < frames.length; i++) {
      const frame = frames[i]!
      if (frame.owner === this.owner && frame.fired) return true
    }
    return false
  }
}

// Takes the operation's entry off the fiber's deadline stack (it is on top: inner
// timeouts left theirs as they unwound) and out of the wheel.
const leave = (fiber: Fiber.RuntimeFiber<any, any>): InPlaceEntry | undefined => {
  const frames = fiber.getFiberRef(currentDeadlines).frames
  for (let i = frames.length - 1; i >= 0; i--) {
    const entry = frames[i]
    if (entry instanceof InPlaceEntry && entry.owner === fiber) {
      if (i === frames.length - 1) frames.pop()
      else frames.splice(i, 1)
      entry.wheel.remove(entry)
      return entry
    }
  }
  return undefined
}

const gracePeriodOver = Symbol.for("@integration-patterns/core/Timeout/gracePeriodOver")
type ForkOutcome = Exit.Exit<unknown, unknown> | typeof gracePeriodOver

// The deadline an operation running in a fiber of its own sees on its stack. Kept
// apart from the entry, so the child's FiberRefs do not hold the caller's callbacks.
class ForkFrame implements Frame {
  fired = false
  owner: unknown = undefined
  constructor(public deadline: number) {}
}

// An operation running in a fiber of its own.
class ForkEntry extends TimerEntry {
  fired = false
  child: Fiber.RuntimeFiber<unknown, unknown> | undefined
  resume: ((outcome: Effect.Effect<ForkOutcome>) => void) | undefined

  constructor(readonly wheel: TimerWheel, readonly config: TimeoutConfig, readonly frame: ForkFrame) {
    super()
    this.onExit = (exit) => {
      this.wheel.remove(this)
      this.resume?.(Effect.succeed(exit))
    }
  }

  expire(now: number): void {
    if (this.fired) {
      this.resume?.(Effect.succeed(gracePeriodOver))
      return
    }
    this.fired = true
    this.frame.fired = true
    this.child!.unsafeInterruptAsFork(timeoutFiberId)
    if (this.config.gracefulShutdown) {
      this.wheel.add(this, this.config.gracePeriod, now)
      this.frame.deadline = this.deadline
    }
  }

  readonly onExit: (exit: Exit.Exit<unknown, unknown>) => void

  // The caller was interrupted while waiting: stop the operation and wait for it.
  abandon(): Effect.Effect<void> {
    this.wheel.remove(this)
    this.resume = undefined
    this.child!.removeObserver(this.onExit)
    return Effect.asVoid(Fiber.interrupt(this.child!))
  }
}

class TimeoutImpl implements Timeout.Timeout<any, any> {
  readonly [TypeId]: Timeout.TypeId = TypeId
  readonly name: string
  readonly duration: Duration.Duration
  readonly stats: Effect.Effect<Timeout.Stats>
  private readonly metrics: Metrics.PatternMetrics

  constructor(
    readonly config: TimeoutConfig,
    private readonly onTimeout: Handler | undefined,
    private readonly bus: PatternEventsService | undefined,
    enableMetrics: boolean,
    readonly counters: Counters
  ) {
    this.name = config.name
    this.duration = Duration.millis(config.duration)
    this.metrics = new Metrics.PatternMetrics("Timeout", config.name, enableMetrics)
    this.stats = Effect.sync(() => this.snapshot())
  }

  private succeeded(): void {
    this.counters.successes++
    this.counters.recent.record(false)
    this.metrics.count(Metrics.calls, "success")
  }

  private failed(): void {
    this.counters.failures++
    this.counters.recent.record(false)
    this.metrics.count(Metrics.calls, "failure")
  }

  readonly passSuccess = <A>(a: A): Effect.Effect<A> => {
    this.succeeded()
    return Effect.succeed(a)
  }

  readonly passFailure = <E>(cause: Cause.Cause<E>): Effect.Effect<never, E> => {
    this.failed()
    return Effect.failCause(cause)
  }

  timedOut(phase: TimeoutError["phase"], now: number, restore: Restore | undefined, duration: number) {
    this.counters.timeouts++
    if (phase === "GracePeriod") this.counters.gracePeriodOverruns++
    this.counters.recent.record(true)
    this.metrics.count(Metrics.calls, "timeout")
    if (this.bus?.active) {
      this.bus.unsafePublish({
        _tag: "TimeoutExpired",
        pattern: "Timeout",
        name: this.name,
        timestamp: now,
        duration,
        phase
      })
    }
    const error = new TimeoutError({ timeout: this.name, duration, phase })
    if (this.onTimeout === undefined) return Effect.fail(error)
    return restore === undefined ? this.onTimeout(error) : restore(this.onTimeout(error))
  }

  execute = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | TimeoutError, R> =>
    this.within(self, this.config.duration)

  /** Runs `self` with a budget of `duration` milliseconds instead of the configured one. */
  within<A, E, R>(self: Effect.Effect<A, E, R>, duration: number): Effect.Effect<A, E | TimeoutError, R> {
    // Under an enclosing deadline of the same fiber that comes first, that timeout
    // covers this one: only count the outcome.
    const covered = Effect.matchCauseEffect(self, { onSuccess: this.passSuccess, onFailure: this.passFailure })
    // The in-place region is built once per wrapped effect; a call finds its entry on
    // top of its fiber's deadline stack. One region for a caller that can be
    // interrupted, one for a caller in an uninterruptible region (whose operation stays
    // uninterruptible and times out when it ends).
    let interruptibleRegion: Effect.Effect<A, E | TimeoutError, R> | undefined
    let uninterruptibleRegion: Effect.Effect<A, E | TimeoutError, R> | undefined
    const run = (fiber: Fiber.RuntimeFiber<any, any>, deadlines: Deadlines, interruptible: boolean) => {
      const clock = clockOf(fiber)
      const now = clock.unsafeCurrentTimeMillis()
      const enclosing = deadlines.top
      if (enclosing !== undefined && enclosing.deadline <= now) {
        return this.timedOut("Deadline", now, undefined, duration) as Effect.Effect<never, TimeoutError>
      }
      let deadline = now + duration
      if (enclosing !== undefined && enclosing.deadline <= deadline) {
        if (enclosing.owner === fiber) return covered
        deadline = enclosing.deadline
      }
      if (this.config.gracefulShutdown || !canInterruptInPlace(fiber)) {
        return this.forked(self, deadlines, deadline, now, clock, duration)
      }
      // Registered by the region, once it is uninterruptible: an interruption between
      // this step and the region must not leave an entry behind.
      deadlines.pending = deadline
      return interruptible
        ? interruptibleRegion ??= this.region(self, Effect.interruptible, duration)
        : uninterruptibleRegion ??= this.region(self, identity, duration)
    }
    return Effect.withFiberRuntime<A, E | TimeoutError, R>((fiber, status) => {
      const interruptible = RuntimeFlags.interruption(status.runtimeFlags)
      const deadlines = ownDeadlines(fiber)
      return deadlines !== undefined
        ? run(fiber, deadlines, interruptible)
        : withOwnDeadlines(fiber, (installed) => run(fiber, installed, interruptible))
    })
  }

  // Registers the call's deadline, runs the operation with the caller's
  // interruptibility (`restore`), and its outcome in an uninterruptible frame that runs
  // even when the operation was interrupted.
  private region<A, E, R>(
    self: Effect.Effect<A, E, R>,
    restore: Restore,
    duration: number
  ): Effect.Effect<A, E | TimeoutError, R> {
    const timeout = this
    const guarded: Effect.Effect<A, E | TimeoutError, R> = Effect.matchCauseEffect(restore(self), {
      onSuccess(a) {
        return Effect.withFiberRuntime<A, E | TimeoutError>((fiber) => {
          const entry = leave(fiber)
          return entry?.fired
            ? timeout.recover(entry, fiber, Exit.succeed(a), restore, duration)
            : timeout.passSuccess(a)
        })
      },
      onFailure(cause) {
        return Effect.withFiberRuntime<A, E | TimeoutError>((fiber) => {
          const entry = leave(fiber)
          return entry?.fired
            ? timeout.recover(entry, fiber, Exit.failCause(cause), restore, duration)
            : timeout.passFailure(cause)
        })
      }
    })
    return Effect.uninterruptible(Effect.withFiberRuntime<A, E | TimeoutError, R>((fiber) => {
      const deadlines = fiber.getFiberRef(currentDeadlines)
      const clock = clockOf(fiber)
      const now = clock.unsafeCurrentTimeMillis()
      const wheel = wheelOf(clock)
      const entry = new InPlaceEntry(fiber, deadlines, deadlines.frames.length, wheel, clock)
      deadlines.frames.push(entry)
      wheel.add(entry, Math.max(1, deadlines.pending - now), now)
      return guarded
    }))
  }

  // The deadline fired and the operation has unwound. Unless the fiber is also being
  // interrupted by someone else (or by an enclosing timeout), forget the interruption
  // and time out.
  recover<A, E>(
    entry: InPlaceEntry,
    fiber: Fiber.RuntimeFiber<any, any>,
    exit: Exit.Exit<A, E>,
    restore: Restore,
    duration: number
  ): Effect.Effect<A, E | TimeoutError> {
    if (entry.enclosingFired() || !interruptedOnlyByTimeouts(fiber)) {
      this.failed()
      return exit
    }
    const now = entry.clock.unsafeCurrentTimeMillis()
    return Effect.zipRight(clearInterruption, this.timedOut("Operation", now, restore, duration)) as Effect.Effect<
      A,
      E | TimeoutError
    >
  }

  private forked<A, E, R>(
    self: Effect.Effect<A, E, R>,
    deadlines: Deadlines,
    deadline: number,
    now: number,
    clock: Clock.Clock,
    duration: number
  ): Effect.Effect<A, E | TimeoutError, R> {
    const wheel = wheelOf(clock)
    const frame = new ForkFrame(deadline)
    const entry = new ForkEntry(wheel, this.config, frame)
    const timeout = this
    return Effect.uninterruptibleMask((restore) => {
      // The child gets the deadline through the copy of the caller's stack made at
      // fork time, so the caller holds it on its own stack just across the fork.
      deadlines.frames.push(frame)
      return Effect.flatMap(Effect.forkDaemon(restore(self)), (fiber) => {
        deadlines.frames.pop()
        frame.owner = fiber
        entry.child = fiber as Fiber.RuntimeFiber<unknown, unknown>
        wheel.add(entry, deadline - now, now)
        // No canceller here (one makes `Effect.async` build an interruption handler per
        // call); the caller's interruption is caught below, in the uninterruptible region.
        const outcome = Effect.async<ForkOutcome>((resume) => {
          entry.resume = resume
          fiber.addObserver(entry.onExit)
        })
        return Effect.matchCauseEffect(restore(outcome), {
          onSuccess(result): Effect.Effect<A, E | TimeoutError> {
            if (result === gracePeriodOver) {
              return timeout.timedOut("GracePeriod", clock.unsafeCurrentTimeMillis(), restore, duration) as Effect.Effect<
                never,
                TimeoutError
              >
            }
            if (entry.fired) {
              return timeout.timedOut("Operation", clock.unsafeCurrentTimeMillis(), restore, duration) as Effect.Effect<
                never,
                TimeoutError
              >
            }
            return Exit.isSuccess(result)
              ? timeout.passSuccess(result.value as A)
              : timeout.passFailure(result.cause as Cause.Cause<E>)
          },
          onFailure(cause) {
            // The caller was interrupted while waiting: stop the operation, wait for it.
            return Effect.zipRight(entry.abandon(), Effect.failCause(cause))
          }
        })
      })
    })
  }

  snapshot(): Timeout.Stats {
    return snapshot(this.name, this.config.duration, this.counters)
  }

  health(): PatternHealth {
    return health(this.counters)
  }
}

/** @internal */
export const make = <A2, E2>(
  options: Timeout.Options<A2, E2>
): Effect.Effect<Timeout.Timeout<A2, E2>, InvalidConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const decoded = yield* decodeOptions("Timeout", OptionsSchema, options)
    const settings = yield* IntegrationPatterns.settings
    const bus = yield* PatternEvents
    const config = resolve(decoded, settings)
    const timeout: TimeoutImpl = new TimeoutImpl(config, decoded.onTimeout, bus, settings.enableMetrics, new Counters())
    yield* IntegrationPatterns.register({
      kind: "Timeout",
      name: config.name,
      stats: () => ({ ...timeout.snapshot() }),
      health: () => timeout.health()
    })
    return timeout as Timeout.Timeout<A2, E2>
  })

/**
 * A timeout whose budget each call chooses, for a pattern that enforces a deadline of
 * its own (request-response's `metadata.timeout`). It nests in enclosing deadlines like
 * any timeout, fails with `TimeoutError` named `name`, and neither publishes events nor
 * updates metrics: its owner reports its timeouts. A budget of `Infinity` (or any
 * non-finite one) sets no deadline of its own.
 *
 * @internal
 */
export const makeDeadline = (name: string) => {
  const config: TimeoutConfig = { name, duration: 0, gracefulShutdown: false, gracePeriod: defaults.gracePeriod }
  const timeout = new TimeoutImpl(config, undefined, undefined, false, new Counters())
  return <A, E, R>(self: Effect.Effect<A, E, R>, millis: number): Effect.Effect<A, E | TimeoutError, R> =>
    Number.isFinite(millis) ? timeout.within(self, millis) : self
}

/** @internal */
export const isTimeout = (u: unknown): u is Timeout.Timeout<any, any> =>
  typeof u === "object" && u !== null && TypeId in u

// Inline options: validated once, resolved against the running fiber's settings and
// bus; the counters belong to the combinator.
const fromOptions = (options: Timeout.Options<any, any>) => {
  const decoded = decodeOptionsEither("Timeout", OptionsSchema, options)
  if (decoded._tag === "Left") {
    const error = decoded.left
    return (_: Effect.Effect<any, any, any>): Effect.Effect<any, any, any> => Effect.die(error)
  }
  const counters = new Counters()
  const timeouts = new PerEnvironment((settings, bus) =>
    new TimeoutImpl(resolve(decoded.right, settings), decoded.right.onTimeout, bus, settings.enableMetrics, counters)
  )
  return (self: Effect.Effect<any, any, any>): Effect.Effect<any, any, any> => {
    let timeout: TimeoutImpl | undefined
    let wrapped: Effect.Effect<any, any, any> | undefined
    return Effect.withFiberRuntime((fiber) => {
      const current = timeouts.get(fiber)
      if (current !== timeout || wrapped === undefined) {
        timeout = current
        wrapped = current.execute(self)
      }
      return wrapped
    })
  }
}

const toTimeout = (x: Timeout.Timeout<any, any> | Timeout.Options<any, any> | Duration.DurationInput) =>
  isTimeout(x)
    ? x.execute
    : typeof x === "object" && x !== null && !Duration.isDuration(x) && !Array.isArray(x)
    ? fromOptions(x as Timeout.Options<any, any>)
    : fromOptions({ duration: x as Duration.DurationInput })

/**
 * `withTimeout(self, x)` or `withTimeout(x)(self)`, where `x` is a Timeout, options,
 * or a duration. Written by hand rather than with `dual` so that the data-last form
 * validates once.
 *
 * @internal
 */
export const withTimeout = function() {
  if (arguments.length >= 2 && Effect.isEffect(arguments[0])) return toTimeout(arguments[1])(arguments[0])
  return toTimeout(arguments[0])
}

/** @internal */
export const remaining: Effect.Effect<Option.Option<Duration.Duration>> = Effect.withFiberRuntime((fiber) => {
  const top = fiber.getFiberRef(currentDeadlines).top
  if (top === undefined) return Effect.succeed(Option.none())
  const now = clockOf(fiber).unsafeCurrentTimeMillis()
  return Effect.succeed(Option.some(Duration.millis(Math.max(0, top.deadline - now))))
})
