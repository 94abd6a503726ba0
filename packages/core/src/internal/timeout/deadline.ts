/**
 * Deadline propagation: each fiber carries the stack of deadlines it runs under, so a
 * nested timeout never outlives an enclosing one and the remaining budget can be read.
 *
 * The stack is a mutable object owned by one fiber, so entering and leaving a timeout
 * is a push and a pop, not a FiberRef write (about 600 ns each: a write copies the
 * fiber's whole map of FiberRefs). A forked fiber gets a copy of its parent's stack,
 * made at fork time and unowned until it first uses it; a fiber holding a stack owned
 * by another fiber (the initial value included) installs its own copy once.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"

/** One deadline on the stack. @internal */
export interface Frame {
  /** Clock time in milliseconds. */
  readonly deadline: number
  /** The fiber whose timeout interrupts on this deadline. */
  readonly owner: unknown
  /** Whether the deadline has fired. */
  readonly fired: boolean
}

/** @internal */
export class Deadlines {
  /** The deadline of a timeout between deciding to run in place and registering. */
  pending = 0

  constructor(public owner: unknown, readonly frames: Array<Frame>) {}

  /** The earliest deadline in force (the innermost), or undefined. */
  get top(): Frame | undefined {
    return this.frames.length === 0 ? undefined : this.frames[this.frames.length - 1]
  }
}

const nobody = {}
const initial = new Deadlines(nobody, [])

/** @internal */
export const currentDeadlines: FiberRef.FiberRef<Deadlines> = globalValue(
  Symbol.for("@integration-patterns/core/Timeout/currentDeadlines"),
  () =>
    FiberRef.unsafeMake(initial, {
      fork: (parent) => new Deadlines(undefined, parent.frames.slice()),
      join: (parent) => parent
    })
)

/**
 * The fiber's own stack, claimed if it was copied for this fiber at fork time, or
 * `undefined` when the fiber must install one first ({@link withOwnDeadlines}).
 *
 * @internal
 */
export const ownDeadlines = (fiber: Fiber.RuntimeFiber<any, any>): Deadlines | undefined => {
  const deadlines = fiber.getFiberRef(currentDeadlines)
  if (deadlines.owner === fiber) return deadlines
  if (deadlines.owner === undefined) {
    deadlines.owner = fiber
    return deadlines
  }
  return undefined
}

/**
 * Runs `f` with the fiber's own stack, installing one first if needed (once per fiber).
 *
 * @internal
 */
export const withOwnDeadlines = <A, E, R>(
  fiber: Fiber.RuntimeFiber<any, any>,
  f: (deadlines: Deadlines) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  const own = ownDeadlines(fiber)
  if (own !== undefined) return f(own)
  const installed = new Deadlines(fiber, fiber.getFiberRef(currentDeadlines).frames.slice())
  return Effect.zipRight(FiberRef.set(currentDeadlines, installed), Effect.suspend(() => f(installed)))
}
