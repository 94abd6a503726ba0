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

/** @internal */
export interface Dedup<P, D> {
  /** Milliseconds a finished result is remembered; 0 turns detection off. */
  readonly window: number
  /** The most results remembered at once; the oldest go first. */
  readonly capacity: number
  readonly inFlight: Map<string, P>
  readonly done: Map<string, { readonly value: D; readonly expiresAt: number }>
}

/** @internal */
export const make = <P, D>(window: number, capacity: number): Dedup<P, D> => ({
  window,
  capacity,
  inFlight: new Map(),
  done: new Map()
})

/** @internal */
export type Lookup<P, D> =
  | { readonly _tag: "Miss" }
  | { readonly _tag: "InFlight"; readonly pending: P }
  | { readonly _tag: "Done"; readonly value: D }

const miss: Lookup<never, never> = { _tag: "Miss" }

const expire = <P, D>(state: Dedup<P, D>, now: number): void => {
  for (const [key, entry] of state.done) {
    if (entry.expiresAt > now) return
    state.done.delete(key)
  }
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
  state.done.delete(key)
  state.done.set(key, { value, expiresAt: now + state.window })
  if (state.done.size > state.capacity) {
    const oldest = state.done.keys().next()
    if (oldest.done !== true) state.done.delete(oldest.value)
  }
}

/** The request did not finish (timed out or interrupted): forget it, so a retry runs. @internal */
export const forget = <P, D>(state: Dedup<P, D>, key: string): void => {
  state.inFlight.delete(key)
}

/** @internal */
export const size = <P, D>(state: Dedup<P, D>): number => state.inFlight.size + state.done.size
