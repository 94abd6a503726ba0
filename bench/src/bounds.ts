/**
 * Lower bounds measured beside the patterns: the least any implementation on effect's
 * runtime must do for a call, built from the same pieces the patterns use. A target
 * below its bound in the same run cannot be met by changing the pattern; the verdicts in
 * BENCHMARKS.md compare against these rows.
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Frames from "@integration-patterns/core/internal/frames"

class PassFrame extends Frames.Frame {
  onSuccess(value: unknown) {
    return Exit.succeed(value)
  }
  onFailure(cause: Cause.Cause<unknown>) {
    return Exit.failCause(cause)
  }
}

class TimedFrame extends Frames.Frame {
  elapsed = 0
  constructor(private readonly start: number) {
    super()
  }
  onSuccess(value: unknown) {
    this.elapsed = Date.now() - this.start
    return Exit.succeed(value)
  }
  onFailure(cause: Cause.Cause<unknown>) {
    this.elapsed = Date.now() - this.start
    return Exit.failCause(cause)
  }
}

const pass = new PassFrame()

/** One deciding step that sees how `self` ends: what observing a call costs at least. */
export const observed = <A, E>(self: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.withFiberRuntime((fiber) => {
    Frames.push(fiber, pass)
    return self
  })

/** {@link observed}, plus the two clock reads that time the call. */
export const timed = <A, E>(self: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.withFiberRuntime((fiber) => {
    Frames.push(fiber, new TimedFrame(Date.now()))
    return self
  })

/** One deciding step that reads the clock once, then runs `self`: what any rate limit needs. */
export const afterClockRead = <A, E>(self: Effect.Effect<A, E>): Effect.Effect<A, E> => {
  let last = 0
  return Effect.withFiberRuntime(() => {
    last = Date.now() - last
    return self
  })
}

/** One deciding step whose end is seen even when the call is interrupted. */
export const guarded = <A, E>(self: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.withFiberRuntime((fiber) => {
    Frames.pushGuarded(fiber, pass)
    return self
  })

/**
 * One deciding step that reads the clock once and fails with a ready error, handled in
 * the same fiber: the least a rejection costs when its decision or its `retryAfter`
 * depends on the time (the breaker's and the rate limiter's do).
 */
export const failAfterClockRead = <E>(error: E): Effect.Effect<unknown, never> => {
  const failed = Exit.fail(error)
  let last = 0
  return Effect.either(Effect.withFiberRuntime(() => {
    last = Date.now() - last
    return failed
  }))
}
