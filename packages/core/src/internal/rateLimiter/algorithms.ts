/**
 * The arithmetic of each rate-limiting algorithm, as plain synchronous functions over
 * a few float64 slots of a shared `Float64Array`. Time is a number of milliseconds
 * passed in by the caller; nothing here reads a clock, allocates on the decision path
 * or performs IO.
 *
 * Every algorithm keeps a fresh key and a key it has forgotten indistinguishable: a
 * state that `isIdle` reports is exactly as permissive as a fresh one, which is what
 * lets the key table drop idle keys without changing any decision.
 *
 * @internal
 */

/** @internal */
export type AlgorithmKind = "token-bucket" | "sliding-window" | "fixed-window"

/**
 * The outcome of consuming `cost` at `now`, written into a caller-owned object so that
 * a decision allocates nothing.
 *
 * @internal
 */
export interface Verdict {
  allowed: boolean
  /** Whole units left after this request (after consuming it when allowed). */
  remaining: number
  /** Milliseconds until the same request could be admitted; 0 when allowed. */
  retryAfter: number
  /** Milliseconds until the budget is whole again. */
  resetAfter: number
}

/** @internal */
export const makeVerdict = (): Verdict => ({ allowed: false, remaining: 0, retryAfter: 0, resetAfter: 0 })

/** @internal */
export interface Algorithm {
  readonly kind: AlgorithmKind
  /** The budget reported as `limit`: the burst of a bucket, the limit of a window. */
  readonly limit: number
  /** Float64 slots per key. */
  readonly stride: number
  /** The longest time after which any state is idle again. */
  readonly refillTime: number
  /** Writes a fresh, full state at `at`. */
  readonly reset: (state: Float64Array, at: number) => void
  /** What consuming `cost` at `now` would give, without changing the state. */
  readonly probe: (state: Float64Array, at: number, cost: number, now: number, out: Verdict) => void
  /** Consumes `cost` at `now`; called only after a probe at the same `now` allowed it. */
  readonly commit: (state: Float64Array, at: number, cost: number, now: number) => void
  /** True when the state is as permissive as a fresh one. */
  readonly isIdle: (state: Float64Array, at: number, now: number) => boolean
  /**
   * Whether `rate` can tell the admitted units per second from the state alone (a
   * window can; a bucket cannot, so the key table counts for it).
   */
  readonly measuresRate: boolean
  /** Admitted units per second, over the algorithm's window. */
  readonly rate: (state: Float64Array, at: number, now: number) => number
}

// Times are integers in practice (Clock and Date.now give whole milliseconds), but a
// bucket's emission interval (1000 / rate) need not be. A request that conforms up to
// a nanosecond of rounding is admitted rather than sent to wait 1 ms for nothing.
const EPSILON = 1e-6

const wholeUnits = (x: number): number => (x <= 0 ? 0 : Math.floor(x + EPSILON))

const millisUntil = (x: number): number => (x <= EPSILON ? 0 : Math.ceil(x - EPSILON))

/**
 * A token bucket of `burst` tokens refilled at `ratePerSecond`, kept as one number per
 * key: the generic cell rate algorithm's "theoretical arrival time" (TAT), the instant
 * at which the bucket would be full again. It admits exactly what a token bucket
 * admits: `tokens(now) = burst - max(0, TAT - now) / interval`, where `interval` is the
 * time to refill one token. One float per key instead of two (tokens, last refill).
 *
 * @internal
 */
export class TokenBucket implements Algorithm {
  readonly kind = "token-bucket" as const
  readonly stride = 1
  readonly limit: number
  readonly refillTime: number
  /** Milliseconds to refill one token. */
  private readonly interval: number
  /** `burst * interval`: how far TAT may run ahead of now. */
  private readonly tolerance: number

  constructor(readonly ratePerSecond: number, readonly burst: number) {
    this.limit = burst
    this.interval = 1000 / ratePerSecond
    this.tolerance = burst * this.interval
    this.refillTime = this.tolerance
  }

  reset(state: Float64Array, at: number): void {
    state[at] = Number.NEGATIVE_INFINITY
  }

  probe(state: Float64Array, at: number, cost: number, now: number, out: Verdict): void {
    const tat = state[at]!
    const base = tat > now ? tat : now
    const next = base + cost * this.interval
    const conformsAt = next - this.tolerance
    if (conformsAt - now <= EPSILON) {
      out.allowed = true
      out.remaining = wholeUnits((now + this.tolerance - next) / this.interval)
      out.retryAfter = 0
      out.resetAfter = millisUntil(next - now)
    } else {
      out.allowed = false
      out.remaining = wholeUnits((now + this.tolerance - base) / this.interval)
      out.retryAfter = cost > this.burst ? Number.POSITIVE_INFINITY : millisUntil(conformsAt - now)
      out.resetAfter = millisUntil(base - now)
    }
  }

  commit(state: Float64Array, at: number, cost: number, now: number): void {
    const tat = state[at]!
    state[at] = (tat > now ? tat : now) + cost * this.interval
  }

  isIdle(state: Float64Array, at: number, now: number): boolean {
    return state[at]! <= now
  }

  readonly measuresRate = false

  rate(): number {
    return 0
  }
}

/**
 * At most `limit` units per window of `window` ms. A key's window opens at its first
 * request, and the next one at the first request after it closes, so keys do not all
 * reset at the same instant. Slots: window start, units counted.
 *
 * Error bound: each window admits at most `limit`, but two adjacent windows can both
 * fill up around their boundary, so an interval of length `window` can hold up to
 * `2 × limit`.
 *
 * @internal
 */
export class FixedWindow implements Algorithm {
  readonly kind = "fixed-window" as const
  readonly stride = 2
  readonly refillTime: number

  constructor(readonly limit: number, readonly window: number) {
    this.refillTime = window
  }

  reset(state: Float64Array, at: number): void {
    state[at] = Number.NEGATIVE_INFINITY
    state[at + 1] = 0
  }

  probe(state: Float64Array, at: number, cost: number, now: number, out: Verdict): void {
    let start = state[at]!
    let count = state[at + 1]!
    if (count === 0 || now - start >= this.window) {
      start = now
      count = 0
    }
    const end = start + this.window - now
    if (count + cost <= this.limit) {
      out.allowed = true
      out.remaining = wholeUnits(this.limit - count - cost)
      out.retryAfter = 0
      out.resetAfter = count + cost > 0 ? millisUntil(end) : 0
    } else {
      out.allowed = false
      out.remaining = wholeUnits(this.limit - count)
      out.retryAfter = cost > this.limit ? Number.POSITIVE_INFINITY : millisUntil(end)
      out.resetAfter = count > 0 ? millisUntil(end) : 0
    }
  }

  commit(state: Float64Array, at: number, cost: number, now: number): void {
    if (state[at + 1] === 0 || now - state[at]! >= this.window) {
      state[at] = now
      state[at + 1] = cost
    } else {
      state[at + 1] = state[at + 1]! + cost
    }
  }

  isIdle(state: Float64Array, at: number, now: number): boolean {
    return state[at + 1] === 0 || now - state[at]! >= this.window
  }

  readonly measuresRate = true

  /** Units of the current window, per second of window. */
  rate(state: Float64Array, at: number, now: number): number {
    return this.isIdle(state, at, now) ? 0 : (state[at + 1]! * 1000) / this.window
  }
}

/**
 * An approximate sliding window: a weighted counter over two fixed windows, as in
 * Cloudflare's and NGINX's limiters. It counts the units of the current window and of
 * the previous one, and admits a request when
 * `previous × (1 − elapsed / window) + current + cost ≤ limit`, which assumes the
 * previous window's traffic was spread evenly. Slots: current window start, previous
 * count, current count (24 bytes a key, against 8 bytes a request for an exact log).
 *
 * Windows are phased from the key's first request after it was idle. Error bound:
 * every window admits at most `limit`. An interval of length `window` that straddles two windows holds at most
 * `limit + previous × elapsed / window`, so with unit costs at most `2 × limit − 1`,
 * reached only when the previous window's requests all came at its very end. When the
 * previous window's traffic was even, the count in any window-long interval stays
 * within `limit`.
 *
 * @internal
 */
export class SlidingWindow implements Algorithm {
  readonly kind = "sliding-window" as const
  readonly stride = 3
  readonly refillTime: number

  constructor(readonly limit: number, readonly window: number) {
    this.refillTime = 2 * window
  }

  reset(state: Float64Array, at: number): void {
    state[at] = Number.NEGATIVE_INFINITY
    state[at + 1] = 0
    state[at + 2] = 0
  }

  probe(state: Float64Array, at: number, cost: number, now: number, out: Verdict): void {
    const w = this.window
    let start = state[at]!
    let previous = state[at + 1]!
    let current = state[at + 2]!
    const age = now - start
    if (age >= 2 * w) {
      start = now
      previous = 0
      current = 0
    } else if (age >= w) {
      start += w
      previous = current
      current = 0
    }
    if (previous === 0 && current === 0) start = now
    // Kept in whole products rather than a fractional weight, so integer times and
    // costs decide exactly.
    const left = w - Math.max(0, now - start)
    const used = previous * left + current * w
    const budget = this.limit * w
    if (used + cost * w <= budget) {
      out.allowed = true
      out.remaining = wholeUnits((budget - used - cost * w) / w)
      out.retryAfter = 0
      out.resetAfter = this.resetAfter(start, previous, current + cost, now)
      return
    }
    out.allowed = false
    out.remaining = wholeUnits((budget - used) / w)
    out.resetAfter = this.resetAfter(start, previous, current, now)
    if (cost > this.limit) {
      out.retryAfter = Number.POSITIVE_INFINITY
    } else if (current + cost <= this.limit) {
      // Admitted in this window once the previous window's weight has decayed enough.
      out.retryAfter = millisUntil(start + w - ((this.limit - current - cost) * w) / previous - now)
    } else {
      // Admitted in the next window, once this window's weight has decayed enough.
      out.retryAfter = millisUntil(start + 2 * w - ((this.limit - cost) * w) / current - now)
    }
  }

  private resetAfter(start: number, previous: number, current: number, now: number): number {
    return current > 0 ? millisUntil(start + 2 * this.window - now) : previous > 0 ? millisUntil(start + this.window - now) : 0
  }

  commit(state: Float64Array, at: number, cost: number, now: number): void {
    const w = this.window
    const age = now - state[at]!
    if (this.isIdle(state, at, now)) {
      state[at] = now
      state[at + 1] = 0
      state[at + 2] = cost
    } else if (age >= w) {
      state[at] = state[at]! + w
      state[at + 1] = state[at + 2]!
      state[at + 2] = cost
    } else {
      state[at + 2] = state[at + 2]! + cost
    }
  }

  isIdle(state: Float64Array, at: number, now: number): boolean {
    const age = now - state[at]!
    return state[at + 2] === 0 ? age >= this.window || state[at + 1] === 0 : age >= 2 * this.window
  }

  readonly measuresRate = true

  /** The weighted count of the last `window` ms, per second. */
  rate(state: Float64Array, at: number, now: number): number {
    const w = this.window
    const age = now - state[at]!
    if (age >= 2 * w) return 0
    const previous = age >= w ? state[at + 2]! : state[at + 1]!
    const current = age >= w ? 0 : state[at + 2]!
    const elapsed = age >= w ? age - w : Math.max(0, age)
    return ((previous * (w - elapsed)) / w + current) * 1000 / w
  }
}
