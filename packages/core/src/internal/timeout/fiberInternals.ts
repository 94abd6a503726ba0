/**
 * Two reads of effect 3.22's fiber internals, which let a timeout interrupt the
 * operation inside the caller's own fiber instead of forking one per call.
 *
 * Why: `Effect.timeout` forks the operation and a sleeper and races them (about
 * 20,000 ns a call); a fork alone costs about 5,000 ns. Interrupting the caller in place
 * and recovering costs a few hundred. Recovering needs:
 * - the FiberRef in which a fiber records the interruptions it received
 *   (`currentInterruptedCause`): once the operation has unwound, the timeout clears
 *   its own interruption, and the caller carries on as if never interrupted;
 * - the caller's child fibers (`_children`): an interruption is passed on to every
 *   child, so the in-place path is taken only when the caller has none that would be
 *   caught by it.
 *
 * Both are looked up defensively. If either is missing (another effect version), every
 * timeout takes the fork path, which uses public APIs only. The test suite pins the
 * in-place behaviour: children survive, outside interruptions still win, the fiber is
 * not left interrupted.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"

const interruptedCause: FiberRef.FiberRef<Cause.Cause<never>> | undefined = (() => {
  const ref: unknown = globalValue(Symbol.for("effect/FiberRef/currentInterruptedCause"), () => undefined)
  return typeof ref === "object" && ref !== null && FiberRef.FiberRefTypeId in ref
    ? ref as FiberRef.FiberRef<Cause.Cause<never>>
    : undefined
})()

/**
 * The identity timeouts interrupt with, so that their interruptions can be told
 * apart from anyone else's.
 *
 * @internal
 */
export const timeoutFiberId: FiberId.FiberId = FiberId.unsafeMake()

/**
 * Whether an operation may be interrupted inside `fiber` and recovered from.
 *
 * @internal
 */
export const canInterruptInPlace = (fiber: Fiber.RuntimeFiber<any, any>): boolean => {
  if (interruptedCause === undefined) return false
  const children = (fiber as unknown as { readonly _children?: ReadonlySet<unknown> | null })._children
  return children === null || (children !== undefined && children.size === 0)
}

/**
 * True when every interruption `fiber` has received came from a timeout.
 *
 * @internal
 */
export const interruptedOnlyByTimeouts = (fiber: Fiber.RuntimeFiber<any, any>): boolean => {
  for (const id of Cause.interruptors(fiber.getFiberRef(interruptedCause!))) {
    if (!Equal.equals(id, timeoutFiberId)) return false
  }
  return true
}

/**
 * Forgets the fiber's interruptions. Run inside the uninterruptible region that caught
 * them, once {@link interruptedOnlyByTimeouts} holds.
 *
 * @internal
 */
export const clearInterruption: Effect.Effect<void> = Effect.suspend(() =>
  interruptedCause === undefined ? Effect.void : FiberRef.set(interruptedCause, Cause.empty)
)
