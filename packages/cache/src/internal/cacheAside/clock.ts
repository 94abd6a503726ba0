import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

// The clock every fiber uses unless a Layer or a test replaces it.
const liveClock = Effect.runSync(Effect.clock)

let cached: number | undefined
const forget = (): void => {
  cached = undefined
}

// `Date.now()` costs 95 to 240 ns on the shared bench machine, as much as the whole
// lookup, and a hit needs the time. Like lru-cache's default `ttlResolution`, the live
// clock is read at most once per millisecond: the first read in a millisecond starts
// a 1 ms timer (unref'd) that forgets the value. An entry can so outlive its TTL by
// about a millisecond.
const coarse = (): number => {
  if (cached === undefined) {
    cached = Date.now()
    setTimeout(forget, 1).unref()
  }
  return cached
}

/**
 * A synchronous reader of `clock`: coarse for the live clock, exact for any other
 * (`TestClock`, or one a Layer provides).
 *
 * @internal
 */
export const reader = (clock: Clock.Clock): () => number =>
  clock === liveClock ? coarse : () => clock.unsafeCurrentTimeMillis()
