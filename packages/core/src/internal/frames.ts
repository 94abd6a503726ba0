/**
 * Continuation frames pushed straight onto the running fiber's stack: how the breaker and
 * the bulkhead see a call's end without the fiber steps `Effect.matchCauseEffect` and
 * `Effect.uninterruptibleMask` spend getting there.
 *
 * Why. Every step of effect's run loop costs 50 to 130 ns on the bench machine, and a
 * pattern's whole budget on a call is 300 ns (PERFORMANCE.md). A breaker that decides in
 * `Effect.withFiberRuntime` and then returns `matchCauseEffect(self, handlers)` takes one
 * step to decide and one more to push the handler frame; pushing the frame from inside
 * the deciding step saves that step and the handlers' two closures. A bulkhead must give
 * its slot back even when the call is interrupted, and effect skips every failure
 * handler it unwinds through while the fiber is interruptible and interrupted; the public
 * way is `uninterruptibleMask((restore) => matchCauseEffect(restore(self), h))`, four
 * runtime-flag steps and two frames. Here the frames a mask would leave on the stack are
 * pushed directly: a flag revert that re-enables interruption, the handler frame, and
 * above it a flag revert that disables interruption the moment `self` ends. `self` itself
 * runs interruptible, as under `restore`; the handler runs uninterruptible, as in a mask.
 *
 * Measured in one process, compiled JS, 10th percentile of 31 rounds (floor
 * `yield* Effect.promise(fn)` 666 ns): `matchCauseEffect` with per-call handlers behind a
 * deciding step +232 ns, a pushed frame +181; `uninterruptibleMask` + handler frame +629,
 * the pushed guarded frames +399.
 *
 * What it relies on: effect 3.22's `FiberRuntime.pushStack` and `currentRuntimeFlags`,
 * and the shapes of its `OnSuccessAndFailure` and `RevertFlags` continuations (an `_op`,
 * the handlers as `effect_instruction_i1`/`i2`, a `patch`). A probe runs once when this
 * module loads and checks, through the public runtime, that a pushed frame sees success,
 * failure and interruption, and that the fiber's flags come back. If anything differs
 * (another effect version), {@link fast} is false and every caller takes its public-API
 * path. The test suite runs both paths.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as RuntimeFlagsPatch from "effect/RuntimeFlagsPatch"

/** What a call's end is handed to. Both handlers return the effect the call ends with. */
export abstract class Frame {
  /** The continuation kind effect's run loop dispatches on. */
  readonly _op = "OnSuccessAndFailure"

  abstract onSuccess(value: unknown): Effect.Effect<unknown, unknown>
  abstract onFailure(cause: Cause.Cause<unknown>): Effect.Effect<unknown, unknown>

  /** Called by the run loop on failure, as a method of this frame. */
  effect_instruction_i1(cause: Cause.Cause<unknown>): Effect.Effect<unknown, unknown> {
    return this.onFailure(cause)
  }

  /** Called by the run loop on success, as a method of this frame. */
  effect_instruction_i2(value: unknown): Effect.Effect<unknown, unknown> {
    return this.onSuccess(value)
  }
}

interface FiberStack {
  currentRuntimeFlags: RuntimeFlags.RuntimeFlags
  pushStack(frame: unknown): void
}

const stackOf = (fiber: Fiber.RuntimeFiber<any, any>): FiberStack => fiber as unknown as FiberStack

const revert = (patch: RuntimeFlagsPatch.RuntimeFlagsPatch) => ({ _op: "RevertFlags", patch, op: undefined })
const interruptionOff = revert(RuntimeFlagsPatch.disable(RuntimeFlags.Interruption))
const interruptionOn = revert(RuntimeFlagsPatch.enable(RuntimeFlags.Interruption))

/**
 * Pushes `frame` so that it sees how the effect returned next by this `withFiberRuntime`
 * callback ends, as `matchCauseEffect` would. Only on the fast path.
 *
 * @internal
 */
export const push = (fiber: Fiber.RuntimeFiber<any, any>, frame: Frame): void => {
  stackOf(fiber).pushStack(frame)
}

/**
 * Pushes `frame` so that it runs however the next effect ends, interruption included,
 * and runs uninterruptible, as the handler of `uninterruptibleMask((restore) =>
 * matchCauseEffect(restore(self), ...))` would. Only on the fast path.
 *
 * @internal
 */
export const pushGuarded = (fiber: Fiber.RuntimeFiber<any, any>, frame: Frame): void => {
  const stack = stackOf(fiber)
  if (RuntimeFlags.interruptible(stack.currentRuntimeFlags)) {
    stack.pushStack(interruptionOn)
    stack.pushStack(frame)
    stack.pushStack(interruptionOff)
  } else {
    stack.pushStack(frame)
  }
}

/**
 * The public-API equivalent of {@link push}: `self` observed by `frame`. Inside
 * `uninterruptibleMask`, `observe(restore(self), frame)` is the equivalent of
 * {@link pushGuarded}.
 *
 * @internal
 */
export const observe = <A, E, R>(self: Effect.Effect<A, E, R>, frame: Frame): Effect.Effect<A, E, R> =>
  Effect.matchCauseEffect(self, {
    onSuccess: (value) => frame.onSuccess(value),
    onFailure: (cause) => frame.onFailure(cause)
  }) as Effect.Effect<A, E, R>

class ProbeFrame extends Frame {
  seen: Exit.Exit<unknown, unknown> | undefined = undefined
  flagsInHandler: RuntimeFlags.RuntimeFlags | undefined = undefined
  constructor(private readonly fiber: Fiber.RuntimeFiber<any, any>) {
    super()
  }
  onSuccess(value: unknown) {
    this.seen = Exit.succeed(value)
    this.flagsInHandler = stackOf(this.fiber).currentRuntimeFlags
    return Exit.succeed(`${String(value)}+seen`)
  }
  onFailure(cause: Cause.Cause<unknown>) {
    this.seen = Exit.failCause(cause)
    this.flagsInHandler = stackOf(this.fiber).currentRuntimeFlags
    return Exit.failCause(cause)
  }
}

/** Runs `self` with a probe frame pushed, and reports what the frame and the fiber saw. */
const probeRun = (guarded: boolean, self: Effect.Effect<unknown, unknown>) => {
  let frame: ProbeFrame | undefined
  let before: RuntimeFlags.RuntimeFlags | undefined
  let after: RuntimeFlags.RuntimeFlags | undefined
  const exit = Effect.runSyncExit(Effect.withFiberRuntime<unknown, unknown>((fiber) => {
    before = stackOf(fiber).currentRuntimeFlags
    frame = new ProbeFrame(fiber)
    const probed = Effect.withFiberRuntime<unknown, unknown>((inner) => {
      if (guarded) pushGuarded(inner, frame!)
      else push(inner, frame!)
      return self
    })
    return Effect.tap(
      probed,
      () =>
        Effect.withFiberRuntime((f) => {
          after = stackOf(f).currentRuntimeFlags
          return Effect.void
        })
    )
  }))
  return { exit, frame: frame!, before, after }
}

const probe = (): boolean => {
  try {
    const fiberProto = (fiber: Fiber.RuntimeFiber<any, any>) => typeof stackOf(fiber).pushStack === "function"
    if (!Effect.runSync(Effect.withFiberRuntime((f) => Effect.succeed(fiberProto(f))))) return false

    // Success: the frame sees the value and its result replaces it.
    const ok = probeRun(false, Effect.succeed(1))
    if (!Exit.isSuccess(ok.exit) || ok.exit.value !== "1+seen") return false

    // Failure: the frame sees the cause.
    const failed = probeRun(false, Effect.fail("boom"))
    if (failed.frame.seen === undefined || !Exit.isFailure(failed.frame.seen)) return false
    if (!Exit.isFailure(failed.exit)) return false

    // Guarded, interrupted while running: the frame still runs, uninterruptible, and the
    // fiber's flags are what they were before.
    const interrupted = probeRun(
      true,
      Effect.zipRight(
        Effect.withFiberRuntime((f) => {
          f.unsafeInterruptAsFork(f.id())
          return Effect.void
        }),
        Effect.never
      )
    )
    if (interrupted.frame.seen === undefined || !Exit.isFailure(interrupted.frame.seen)) return false
    if (!Exit.isInterrupted(interrupted.exit)) return false
    if (RuntimeFlags.interruptible(interrupted.frame.flagsInHandler!)) return false

    // Guarded success: flags restored to the caller's.
    const guardedOk = probeRun(true, Effect.succeed(2))
    if (!Exit.isSuccess(guardedOk.exit) || guardedOk.exit.value !== "2+seen") return false
    if (RuntimeFlags.interruptible(guardedOk.frame.flagsInHandler!)) return false
    return guardedOk.before === guardedOk.after && guardedOk.before !== undefined
  } catch {
    return false
  }
}

const probed = probe()
let fastPath = probed

/**
 * True when frames can be pushed onto a fiber's stack (see the module's comment). Callers
 * read it on every call, so that tests can switch it.
 *
 * @internal
 */
export const fast = (): boolean => fastPath

/**
 * Turns the fast path off (or back on, where the probe passed), for tests of the
 * public-API path. Returns the previous value.
 *
 * @internal
 */
export const setFast = (on: boolean): boolean => {
  const previous = fastPath
  fastPath = on && probed
  return previous
}
