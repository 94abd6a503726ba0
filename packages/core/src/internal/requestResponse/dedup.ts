/**
 * Duplicate detection by request key. A request is "in flight" from the moment it is
 * admitted until its handler finishes; its result is then remembered for `window`
 * milliseconds. A duplicate is answered from the first request instead of being run
 * again. Plain synchronous code over a small mutable value, shared by both shells.
 *
 * Results expire in the order they were stored (the window is the same for all), so
 * expiry only ever looks at the oldest entries.
 *
 * @internal
 */

interface Remembered<D> {
  readonly key: string
  readonly value: D
  readonly expiresAt: number
}

/** @internal */
export interface Dedup<P, D> {
  /** Milliseconds a finished result is remembered; 0 turns detection off. */
  readonly window: number
  /** The most results remembered at once; the oldest go first. */
  readonly capacity: number
  readonly inFlight: Map<string, P>
  readonly done: Map<string, Remembered<D>>
  /**
   * The remembered results, oldest first. A queue of its own rather than the Map's own
   * order: iterating a Map from its start walks over every entry deleted from its front
   * since the last rehash, which made each lookup linear in the backlog.
   */
  order: Array<Remembered<D>>
  head: number
}

/** @internal */
export const make = <P, D>(window: number, capacity: number): Dedup<P, D> => ({
  window,
  capacity,
  inFlight: new Map(),
  done: new Map(),
  order: [],
  head: 0
})

/** @internal */
export type Lookup<P, D> =
  | { readonly _tag: "Miss" }
  | { readonly _tag: "InFlight"; readonly pending: P }
  | { readonly _tag: "Done"; readonly value: D }

const miss: Lookup<never, never> = { _tag: "Miss" }

const dropOldest = <P, D>(state: Dedup<P, D>): void => {
  const oldest = state.order[state.head]!
  state.order[state.head] = undefined as never
  state.head++
  if (state.done.get(oldest.key) === oldest) state.done.delete(oldest.key)
  if (state.head >= 1024 && state.head * 2 >= state.order.length) {
    state.order = state.order.slice(state.head)
    state.head = 0
  }
}

const expire = <P, D>(state: Dedup<P, D>, now: number): void => {
  while (state.head < state.order.length && state.order[state.head]!.expiresAt <= now) dropOldest(state)
}

/** @internal */
export const lookup = <P, D>(state: Dedup<P, D>, key: string, now: number): Lookup<P, D> => {
  if (state.window <= 0) return miss
  expire(state, now)
  const pending = state.inFlight.get(key)
  if (pending !== undefined) return { _tag: "InFlight", pending }
  const done = state.done.get(key)
  return done === undefined ? miss : { _tag: "Done", value: done.value }
}

/** Marks a request as running, so that duplicates wait for it. @internal */
export const begin = <P, D>(state: Dedup<P, D>, key: string, pending: P): void => {
  if (state.window > 0) state.inFlight.set(key, pending)
}

/** The handler finished: remember its result for the window. @internal */
export const complete = <P, D>(state: Dedup<P, D>, key: string, value: D, now: number): void => {
  if (state.window <= 0) return
  state.inFlight.delete(key)
  const remembered: Remembered<D> = { key, value, expiresAt: now + state.window }
  state.done.set(key, remembered)
  state.order.push(remembered)
  while (state.done.size > state.capacity) dropOldest(state)
}

/** The request did not finish (timed out or interrupted): forget it, so a retry runs. @internal */
export const forget = <P, D>(state: Dedup<P, D>, key: string): void => {
  state.inFlight.delete(key)
}

/** @internal */
export const size = <P, D>(state: Dedup<P, D>): number => state.inFlight.size + state.done.size
