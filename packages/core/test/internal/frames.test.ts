import { describe, expect, it } from "@effect/vitest"
import type * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as TestClock from "effect/TestClock"
import * as Frames from "../../src/internal/frames.js"

/** Records what it saw and whether interruption was off when it ran. */
class Recorder extends Frames.Frame {
  readonly seen: Array<Exit.Exit<unknown, unknown>> = []
  readonly interruptibleInHandler: Array<boolean> = []
  constructor(private readonly flags: () => RuntimeFlags.RuntimeFlags) {
    super()
  }
  onSuccess(value: unknown) {
    this.seen.push(Exit.succeed(value))
    this.interruptibleInHandler.push(RuntimeFlags.interruptible(this.flags()))
    return Exit.succeed(`seen ${String(value)}`)
  }
  onFailure(cause: Cause.Cause<unknown>) {
    this.seen.push(Exit.failCause(cause))
    this.interruptibleInHandler.push(RuntimeFlags.interruptible(this.flags()))
    return Exit.failCause(cause)
  }
}

const flagsOf = (fiber: Fiber.RuntimeFiber<any, any>) => () =>
  (fiber as unknown as { currentRuntimeFlags: RuntimeFlags.RuntimeFlags }).currentRuntimeFlags

/** Runs `self` observed by a recorder, through the fast path or the public one. */
const observed = <A, E>(
  fast: boolean,
  guarded: boolean,
  self: Effect.Effect<A, E>,
  recorder: (r: Recorder) => void
): Effect.Effect<unknown, unknown> =>
  Effect.withFiberRuntime((fiber) => {
    const frame = new Recorder(flagsOf(fiber))
    recorder(frame)
    if (fast) {
      if (guarded) Frames.pushGuarded(fiber, frame)
      else Frames.push(fiber, frame)
      return self
    }
    return guarded
      ? Effect.uninterruptibleMask((restore) => Frames.observe(restore(self), frame))
      : Frames.observe(self, frame)
  })

const currentFlags: Effect.Effect<RuntimeFlags.RuntimeFlags> = Effect.withFiberRuntime((fiber) =>
  Effect.succeed(flagsOf(fiber)())
)

describe("frames", () => {
  it("passes its probe on this effect version, so the patterns take the fast path", () => {
    expect(Frames.fast()).toBe(true)
  })

  for (const fast of [true, false]) {
    describe(fast ? "pushed onto the fiber's stack" : "through the public API", () => {
      it.effect("sees a success and replaces the value with its handler's result", () =>
        Effect.gen(function*() {
          let frame: Recorder | undefined
          const result = yield* observed(fast, false, Effect.succeed(1), (r) => (frame = r))
          expect(result).toBe("seen 1")
          expect(frame!.seen).toEqual([Exit.succeed(1)])
        }))

      it.effect("sees a typed failure and a defect, and the caller still gets them", () =>
        Effect.gen(function*() {
          let frame: Recorder | undefined
          const failed = yield* Effect.exit(observed(fast, false, Effect.fail("boom"), (r) => (frame = r)))
          expect(failed).toEqual(Exit.fail("boom"))
          expect(frame!.seen).toEqual([Exit.fail("boom")])
          const died = yield* Effect.exit(observed(fast, true, Effect.die("bug"), (r) => (frame = r)))
          expect(Exit.isFailure(died) && died.cause._tag === "Die").toBe(true)
          expect(frame!.seen.length).toBe(1)
        }))

      it.effect("an unguarded frame is skipped when its call is interrupted; a guarded one runs, masked", () =>
        Effect.gen(function*() {
          for (const guarded of [false, true]) {
            let frame: Recorder | undefined
            const fiber = yield* Effect.fork(observed(fast, guarded, Effect.sleep("1 second"), (r) => (frame = r)))
            yield* TestClock.adjust("10 millis")
            yield* Fiber.interrupt(fiber)
            const exit = yield* Fiber.await(fiber)
            expect(Exit.isInterrupted(exit)).toBe(true)
            if (guarded) {
              expect(frame!.seen.length).toBe(1)
              expect(Exit.isInterrupted(frame!.seen[0]!)).toBe(true)
              expect(frame!.interruptibleInHandler).toEqual([false])
            } else {
              expect(frame!.seen).toEqual([])
            }
          }
        }))

      it.effect("a guarded call stays interruptible while it runs and gives the caller its flags back", () =>
        Effect.gen(function*() {
          const before = yield* currentFlags
          let during: RuntimeFlags.RuntimeFlags | undefined
          let frame: Recorder | undefined
          const result = yield* observed(
            fast,
            true,
            Effect.map(currentFlags, (flags) => (during = flags)),
            (r) => (frame = r)
          )
          expect(typeof result).toBe("string")
          expect(RuntimeFlags.interruptible(during!)).toBe(true)
          expect(frame!.interruptibleInHandler).toEqual([false])
          expect(yield* currentFlags).toBe(before)
        }))

      it.effect("a guarded call inside an uninterruptible region stays uninterruptible and is still seen", () =>
        Effect.gen(function*() {
          let during: RuntimeFlags.RuntimeFlags | undefined
          let frame: Recorder | undefined
          yield* Effect.uninterruptible(
            observed(fast, true, Effect.map(currentFlags, (flags) => (during = flags)), (r) => (frame = r))
          )
          expect(RuntimeFlags.interruptible(during!)).toBe(false)
          expect(frame!.seen.length).toBe(1)
          expect(RuntimeFlags.interruptible(yield* currentFlags)).toBe(true)
        }))

      it.effect("an interruption that arrives while the guarded handler runs takes effect after it", () =>
        Effect.gen(function*() {
          const entered = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          let handlerDone = false
          let after = false
          class Slow extends Frames.Frame {
            onSuccess(value: unknown) {
              return Effect.zipRight(
                Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(release)),
                Effect.sync(() => {
                  handlerDone = true
                  return value
                })
              )
            }
            onFailure(cause: Cause.Cause<unknown>) {
              return Exit.failCause(cause)
            }
          }
          const call = Effect.withFiberRuntime((fiber) => {
            const frame = new Slow()
            if (fast) {
              Frames.pushGuarded(fiber, frame)
              return Effect.void
            }
            return Effect.uninterruptibleMask((restore) => Frames.observe(restore(Effect.void), frame))
          })
          const fiber = yield* Effect.fork(Effect.zipRight(call, Effect.sync(() => (after = true))))
          yield* Deferred.await(entered)
          const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
          yield* Deferred.succeed(release, undefined)
          yield* Fiber.join(interrupting)
          expect(handlerDone).toBe(true)
          expect(after).toBe(false)
          expect(Exit.isInterrupted(yield* Fiber.await(fiber))).toBe(true)
        }))
    })
  }

  it("setFast(false) switches the patterns to the public-API path, and back", () => {
    const previous = Frames.setFast(false)
    try {
      expect(previous).toBe(true)
      expect(Frames.fast()).toBe(false)
    } finally {
      Frames.setFast(previous)
    }
    expect(Frames.fast()).toBe(true)
  })
})
