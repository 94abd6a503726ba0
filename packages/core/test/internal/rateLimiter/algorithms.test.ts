import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import {
  type Algorithm,
  FixedWindow,
  makeVerdict,
  SlidingWindow,
  TokenBucket,
  type Verdict
} from "../../../src/internal/rateLimiter/algorithms.js"

const fresh = (algorithm: Algorithm): Float64Array => {
  const state = new Float64Array(algorithm.stride)
  algorithm.reset(state, 0)
  return state
}

// Decides one request and consumes it when allowed, as a limiter does.
const take = (algorithm: Algorithm, state: Float64Array, now: number, cost = 1): Verdict => {
  const verdict = makeVerdict()
  algorithm.probe(state, 0, cost, now, verdict)
  if (verdict.allowed) algorithm.commit(state, 0, cost, now)
  return verdict
}

const peek = (algorithm: Algorithm, state: Float64Array, now: number, cost = 1): Verdict => {
  const verdict = makeVerdict()
  algorithm.probe(state, 0, cost, now, verdict)
  return verdict
}

interface Admission {
  readonly at: number
  readonly cost: number
}

// Runs requests at the given times, returning what was admitted.
const simulate = (
  algorithm: Algorithm,
  requests: ReadonlyArray<{ readonly gap: number; readonly cost: number }>
): Array<Admission> => {
  const state = fresh(algorithm)
  const admitted: Array<Admission> = []
  let now = 1_000
  for (const request of requests) {
    now += request.gap
    if (take(algorithm, state, now, request.cost).allowed) admitted.push({ at: now, cost: request.cost })
  }
  return admitted
}

// The most units admitted in any closed interval [a, a + length].
const maxInClosedInterval = (admitted: ReadonlyArray<Admission>, length: number): number => {
  let best = 0
  let sum = 0
  let from = 0
  for (let to = 0; to < admitted.length; to++) {
    sum += admitted[to]!.cost
    while (admitted[to]!.at - admitted[from]!.at > length) sum -= admitted[from++]!.cost
    best = Math.max(best, sum)
  }
  return best
}

const requests = (maxGap: number, maxCost: number) =>
  FastCheck.array(
    FastCheck.record({ gap: FastCheck.integer({ min: 0, max: maxGap }), cost: FastCheck.integer({ min: 1, max: maxCost }) }),
    { minLength: 1, maxLength: 120 }
  )

describe("TokenBucket", () => {
  it("admits a whole burst at once, then one request per refill interval", () => {
    const bucket = new TokenBucket(10, 20)
    const state = fresh(bucket)
    for (let i = 0; i < 20; i++) expect(take(bucket, state, 0).allowed).toBe(true)
    const rejected = take(bucket, state, 0)
    expect(rejected).toEqual({ allowed: false, remaining: 0, retryAfter: 100, resetAfter: 2000 })
    expect(take(bucket, state, 99).allowed).toBe(false)
    expect(take(bucket, state, 100)).toEqual({ allowed: true, remaining: 0, retryAfter: 0, resetAfter: 2000 })
  })

  it("reports tokens left and the time to refill completely", () => {
    const bucket = new TokenBucket(10, 20)
    const state = fresh(bucket)
    expect(take(bucket, state, 0, 5)).toEqual({ allowed: true, remaining: 15, retryAfter: 0, resetAfter: 500 })
    expect(peek(bucket, state, 250, 0)).toEqual({ allowed: true, remaining: 17, retryAfter: 0, resetAfter: 250 })
    expect(bucket.isIdle(state, 0, 499)).toBe(false)
    expect(bucket.isIdle(state, 0, 500)).toBe(true)
  })

  it("waits for enough tokens for a costly request, and never admits a cost above the burst", () => {
    const bucket = new TokenBucket(2, 4)
    const state = fresh(bucket)
    expect(take(bucket, state, 0, 3).allowed).toBe(true)
    expect(take(bucket, state, 0, 3)).toMatchObject({ allowed: false, remaining: 1, retryAfter: 1000 })
    expect(take(bucket, state, 0, 5)).toMatchObject({ allowed: false, retryAfter: Number.POSITIVE_INFINITY })
  })

  it("handles rates whose refill interval is not a whole number of milliseconds", () => {
    const bucket = new TokenBucket(3, 2)
    const state = fresh(bucket)
    const admitted: Array<number> = []
    for (let now = 0; now <= 3000; now++) while (take(bucket, state, now).allowed) admitted.push(now)
    // burst + rate × 3 s, each as soon as its token has refilled.
    expect(admitted).toEqual([0, 0, 334, 667, 1000, 1334, 1667, 2000, 2334, 2667, 3000])
  })

  it("never admits more than burst + rate × T in any interval of length T (1,000 runs)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.double({ min: 0.5, max: 200, noNaN: true }),
        FastCheck.integer({ min: 1, max: 20 }),
        requests(400, 3),
        FastCheck.integer({ min: 0, max: 3000 }),
        (rate, burst, reqs, length) => {
          const admitted = simulate(new TokenBucket(rate, burst), reqs)
          return maxInClosedInterval(admitted, length) <= burst + (rate * length) / 1000 + 1e-6
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("admits a rejected request exactly `retryAfter` later, and not a millisecond sooner (1,000 runs)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.double({ min: 0.5, max: 200, noNaN: true }),
        FastCheck.integer({ min: 1, max: 20 }),
        requests(200, 3),
        (rate, burst, reqs) => retryAfterIsExact(new TokenBucket(rate, burst), reqs)
      ),
      { numRuns: 1000 }
    )
  })
})

// For every rejection with a finite `retryAfter`: the same request is admitted after
// exactly that wait, and still rejected one millisecond before it.
const retryAfterIsExact = (
  algorithm: Algorithm,
  reqs: ReadonlyArray<{ readonly gap: number; readonly cost: number }>
): boolean => {
  const state = fresh(algorithm)
  let now = 1_000
  for (const request of reqs) {
    now += request.gap
    const verdict = take(algorithm, state, now, request.cost)
    if (verdict.allowed || !Number.isFinite(verdict.retryAfter)) continue
    if (!peek(algorithm, state, now + verdict.retryAfter, request.cost).allowed) return false
    if (verdict.retryAfter > 0 && peek(algorithm, state, now + verdict.retryAfter - 1, request.cost).allowed) {
      return false
    }
  }
  return true
}

describe("FixedWindow", () => {
  it("admits `limit` per window, opened by the key's first request", () => {
    const window = new FixedWindow(3, 1000)
    const state = fresh(window)
    expect(take(window, state, 250)).toEqual({ allowed: true, remaining: 2, retryAfter: 0, resetAfter: 1000 })
    take(window, state, 300)
    take(window, state, 900)
    expect(take(window, state, 1000)).toEqual({ allowed: false, remaining: 0, retryAfter: 250, resetAfter: 250 })
    expect(take(window, state, 1250)).toEqual({ allowed: true, remaining: 2, retryAfter: 0, resetAfter: 1000 })
  })

  it("tells its rate as the current window's count per second of window", () => {
    const window = new FixedWindow(10, 500)
    const state = fresh(window)
    take(window, state, 0, 3)
    expect(window.rate(state, 0, 100)).toBe(6)
    expect(window.rate(state, 0, 500)).toBe(0)
  })

  it("opens the next window at the first request after the last one closed", () => {
    const window = new FixedWindow(1, 1000)
    const state = fresh(window)
    take(window, state, 0)
    expect(window.isIdle(state, 0, 999)).toBe(false)
    expect(window.isIdle(state, 0, 1000)).toBe(true)
    take(window, state, 5000)
    expect(take(window, state, 5999).retryAfter).toBe(1)
  })

  it("admits at most `limit` per window and 2 × limit in any interval of one window (1,000 runs)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 10 }),
        FastCheck.integer({ min: 10, max: 2000 }),
        requests(300, 3),
        (limit, length, reqs) => {
          const admitted = simulate(new FixedWindow(limit, length), reqs)
          return maxInClosedInterval(admitted, length - 1) <= 2 * limit && perWindowCounts(admitted, length, limit)
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("admits a rejected request exactly `retryAfter` later (1,000 runs)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 10 }),
        FastCheck.integer({ min: 10, max: 2000 }),
        requests(300, 3),
        (limit, length, reqs) => retryAfterIsExact(new FixedWindow(limit, length), reqs)
      ),
      { numRuns: 1000 }
    )
  })
})

// Rebuilds the windows as documented (each opens at the first admission after the
// previous one closed) and checks that none holds more than `limit`.
const perWindowCounts = (admitted: ReadonlyArray<Admission>, length: number, limit: number): boolean => {
  let start = Number.NEGATIVE_INFINITY
  let count = 0
  for (const a of admitted) {
    if (a.at - start >= length) {
      start = a.at
      count = 0
    }
    count += a.cost
    if (count > limit) return false
  }
  return true
}

describe("SlidingWindow", () => {
  it("weighs the previous window by how much of it still overlaps the last `window` ms", () => {
    const window = new SlidingWindow(10, 1000)
    const state = fresh(window)
    for (let i = 0; i < 10; i++) expect(take(window, state, 0).allowed).toBe(true)
    // Next window from 1000: at 1100 the 10 of this one weigh 0.9, so 1 more fits.
    expect(take(window, state, 999)).toMatchObject({ allowed: false, retryAfter: 101 })
    // At 1250 the previous window (10) weighs 0.75: 7.5 used, so 2 more fit.
    expect(take(window, state, 1250)).toMatchObject({ allowed: true, remaining: 1 })
    expect(take(window, state, 1250)).toMatchObject({ allowed: true, remaining: 0 })
    // 7.5 + 2 + 1 > 10 until the previous window weighs 0.7, at 1300.
    expect(take(window, state, 1250)).toMatchObject({ allowed: false, retryAfter: 50 })
    expect(take(window, state, 1299).allowed).toBe(false)
    expect(take(window, state, 1300).allowed).toBe(true)
  })

  it("tells its rate from its own state: the weighted count of the last window, per second", () => {
    const window = new SlidingWindow(10, 2000)
    const state = fresh(window)
    for (let i = 0; i < 8; i++) take(window, state, 0)
    expect(window.rate(state, 0, 1000)).toBe(4)
    take(window, state, 2500)
    // 8 weighted 0.75, plus 1, over 2 s.
    expect(window.rate(state, 0, 2500)).toBe(3.5)
    expect(window.rate(state, 0, 6000)).toBe(0)
  })

  it("forgets everything two windows after its last admission", () => {
    const window = new SlidingWindow(2, 100)
    const state = fresh(window)
    take(window, state, 0)
    take(window, state, 150)
    expect(window.isIdle(state, 0, 299)).toBe(false)
    expect(window.isIdle(state, 0, 300)).toBe(true)
  })

  it("admits at most `limit` per window and 2 × limit − 1 in any interval of one window (1,000 runs)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 10 }),
        FastCheck.integer({ min: 10, max: 2000 }),
        requests(300, 1),
        (limit, length, reqs) => {
          const admitted = simulate(new SlidingWindow(limit, length), reqs)
          return maxInClosedInterval(admitted, length - 1) <= 2 * limit - 1 &&
            slidingWindowCounts(admitted, length, limit)
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("never admits more than limit + previous × elapsed / window in the window ending at an admission (1,000 runs)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 10 }),
        FastCheck.integer({ min: 10, max: 2000 }),
        requests(300, 3),
        (limit, length, reqs) => tightSlidingBound(simulate(new SlidingWindow(limit, length), reqs), length, limit)
      ),
      { numRuns: 1000 }
    )
  })

  it("admits a rejected request exactly `retryAfter` later (1,000 runs)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 10 }),
        FastCheck.integer({ min: 10, max: 2000 }),
        requests(300, 3),
        (limit, length, reqs) => retryAfterIsExact(new SlidingWindow(limit, length), reqs)
      ),
      { numRuns: 1000 }
    )
  })
})

// Windows of the sliding counter, rebuilt from the admissions alone: a window opens at
// the first admission after the key was idle (both counts empty) and the next ones
// follow back to back.
const windowsOf = (admitted: ReadonlyArray<Admission>, length: number) => {
  const out: Array<{ readonly admission: Admission; readonly start: number; readonly previous: number }> = []
  let start = Number.NEGATIVE_INFINITY
  let previous = 0
  let current = 0
  for (const a of admitted) {
    const age = a.at - start
    if (age >= 2 * length || (age >= length && current === 0)) {
      start = a.at
      previous = 0
      current = 0
    } else if (age >= length) {
      start += length
      previous = current
      current = 0
    }
    out.push({ admission: a, start, previous })
    current += a.cost
  }
  return out
}

const slidingWindowCounts = (admitted: ReadonlyArray<Admission>, length: number, limit: number): boolean => {
  const perWindow = new Map<number, number>()
  for (const { admission, start } of windowsOf(admitted, length)) {
    const count = (perWindow.get(start) ?? 0) + admission.cost
    if (count > limit) return false
    perWindow.set(start, count)
  }
  return true
}

const tightSlidingBound = (admitted: ReadonlyArray<Admission>, length: number, limit: number): boolean =>
  windowsOf(admitted, length).every(({ admission, previous, start }, i) => {
    // Everything admitted up to and including this admission, within (t − window, t].
    const inWindow = admitted
      .slice(0, i + 1)
      .filter((a) => a.at > admission.at - length)
      .reduce((sum, a) => sum + a.cost, 0)
    return inWindow <= limit + (previous * (admission.at - start)) / length + 1e-9
  })
