/**
 * The pure core of cache-aside: what an entry records about its own freshness, and
 * how a lookup at time `now` (milliseconds) reads it. No Effect, no IO.
 *
 * An entry lives through up to four phases:
 *
 * ```text
 * storedAt ─ fresh ─ refreshAt ─ fresh, refresh due ─ freshUntil ─ stale ─ staleUntil ─ gone
 * ```
 *
 * - `fresh`: served as is;
 * - `refresh`: served as is, and a hot key (one read in this window) is reloaded in
 *   the background before it expires (refresh-ahead);
 * - `stale`: served as is while one background reload runs (stale-while-revalidate);
 * - `expired`: a miss.
 */

/** @internal */
export interface Entry<A> {
  readonly value: A
  readonly tags: ReadonlyArray<string>
  /** Milliseconds; from here on a read schedules a refresh-ahead. Equals `freshUntil` when refresh-ahead is off. */
  readonly refreshAt: number
  /** Milliseconds; from here on the entry is stale. */
  readonly freshUntil: number
  /** Milliseconds; from here on the entry is gone. Equals `freshUntil` when there is no stale window. */
  readonly staleUntil: number
}

/** Durations in milliseconds. @internal */
export interface Timing {
  readonly ttl: number
  readonly staleTtl: number
  readonly refreshAhead: number
}

/** @internal */
export type Freshness = "fresh" | "refresh" | "stale" | "expired"

/** @internal */
export const makeEntry = <A>(value: A, tags: ReadonlyArray<string>, now: number, timing: Timing): Entry<A> => {
  const freshUntil = now + timing.ttl
  return {
    value,
    tags,
    refreshAt: freshUntil - timing.refreshAhead,
    freshUntil,
    staleUntil: freshUntil + timing.staleTtl
  }
}

/** @internal */
export const freshness = (entry: Entry<unknown>, now: number): Freshness =>
  now < entry.refreshAt
    ? "fresh"
    : now < entry.freshUntil
    ? "refresh"
    : now < entry.staleUntil
    ? "stale"
    : "expired"

/** How long a store must keep an entry, in milliseconds (at least 1). @internal */
export const remainingLife = (entry: Entry<unknown>, now: number): number =>
  Math.max(1, Math.ceil(entry.staleUntil - now))

/** Which entries an invalidation removes. @internal */
export type Invalidation =
  | { readonly _tag: "Key"; readonly key: string }
  | { readonly _tag: "Tag"; readonly tag: string }
  | { readonly _tag: "Prefix"; readonly prefix: string }
  | { readonly _tag: "All" }

/** @internal */
export const invalidationTarget = (invalidation: Invalidation): string => {
  switch (invalidation._tag) {
    case "Key":
      return invalidation.key
    case "Tag":
      return invalidation.tag
    case "Prefix":
      return invalidation.prefix
    case "All":
      return ""
  }
}
