/**
 * Trip policies: small counters that watch the outcomes a closed breaker sees and say
 * when it must open. Each policy is described by plain data ({@link TripPolicy}) and
 * instantiated once per breaker ({@link PolicyState}), so a description can be shared,
 * validated, read from `Config` and serialised.
 *
 * Plain synchronous code: time is the `now` argument, in milliseconds.
 */

/** Where a rate policy counts: the last `size` calls, or the calls of the last `duration` ms. */
export type WindowSpec =
  | { readonly _tag: "Calls"; readonly size: number }
  | { readonly _tag: "Time"; readonly duration: number; readonly buckets: number }

/** The description of one trip policy. */
export type TripPolicy =
  | { readonly _tag: "ConsecutiveFailures"; readonly threshold: number }
  | {
    readonly _tag: "FailureRate"
    readonly threshold: number
    readonly minimumThroughput: number
    readonly window: WindowSpec
  }
  | {
    readonly _tag: "SlowCallRate"
    readonly threshold: number
    readonly minimumThroughput: number
    readonly window: WindowSpec
  }

/** Why a breaker left the closed state: the policy that tripped. */
export type TripReason = TripPolicy["_tag"]

/** The saved counters of one policy. */
export type PolicySnapshot =
  | { readonly _tag: "Consecutive"; readonly count: number }
  | { readonly _tag: "Calls"; readonly size: number; readonly outcomes: ReadonlyArray<0 | 1> }
  | {
    readonly _tag: "Time"
    readonly duration: number
    readonly buckets: ReadonlyArray<readonly [epoch: number, calls: number, hits: number]>
  }

/** The live counters of one policy inside one breaker. */
export interface PolicyState {
  readonly policy: TripPolicy
  /** Records one outcome seen while closed; true when the breaker must open. */
  record(failure: boolean, slow: boolean, now: number): boolean
  /** Forgets every outcome (the breaker opened or closed). */
  reset(): void
  snapshot(): PolicySnapshot
  /** Takes counters saved by {@link snapshot}; false (and no change) when they belong to another window. */
  restore(snapshot: PolicySnapshot): boolean
}

class ConsecutiveFailures implements PolicyState {
  private count = 0
  constructor(readonly policy: TripPolicy & { readonly _tag: "ConsecutiveFailures" }) {}

  record(failure: boolean): boolean {
    if (!failure) {
      this.count = 0
      return false
    }
    return ++this.count >= this.policy.threshold
  }

  reset(): void {
    this.count = 0
  }

  snapshot(): PolicySnapshot {
    return { _tag: "Consecutive", count: this.count }
  }

  restore(snapshot: PolicySnapshot): boolean {
    if (snapshot._tag !== "Consecutive") return false
    this.count = snapshot.count
    return true
  }
}

/** Counts calls and "hits" (failures or slow calls) over a window. */
interface RateWindow {
  add(hit: boolean, now: number): void
  readonly calls: number
  readonly hits: number
  reset(): void
  snapshot(): PolicySnapshot
  restore(snapshot: PolicySnapshot): boolean
}

/** The last `size` outcomes in a ring of bytes. */
class CallsWindow implements RateWindow {
  private readonly ring: Uint8Array
  private next = 0
  calls = 0
  hits = 0

  constructor(private readonly size: number) {
    this.ring = new Uint8Array(size)
  }

  add(hit: boolean): void {
    if (this.calls === this.size) this.hits -= this.ring[this.next]!
    else this.calls++
    const bit = hit ? 1 : 0
    this.ring[this.next] = bit
    this.hits += bit
    this.next = this.next + 1 === this.size ? 0 : this.next + 1
  }

  reset(): void {
    this.ring.fill(0)
    this.next = 0
    this.calls = 0
    this.hits = 0
  }

  snapshot(): PolicySnapshot {
    const outcomes: Array<0 | 1> = []
    const start = this.calls === this.size ? this.next : 0
    for (let i = 0; i < this.calls; i++) outcomes.push(this.ring[(start + i) % this.size] as 0 | 1)
    return { _tag: "Calls", size: this.size, outcomes }
  }

  restore(snapshot: PolicySnapshot): boolean {
    if (snapshot._tag !== "Calls" || snapshot.size !== this.size || snapshot.outcomes.length > this.size) return false
    this.reset()
    for (const outcome of snapshot.outcomes) this.add(outcome === 1)
    return true
  }
}

/**
 * The calls of the last `duration` ms, in `buckets` buckets of `duration / buckets` ms
 * each. A bucket leaves the window as a whole, so the window is exact to one bucket.
 */
class TimeWindow implements RateWindow {
  private readonly width: number
  private readonly epochs: Float64Array
  private readonly bucketCalls: Uint32Array
  private readonly bucketHits: Uint32Array
  private lastEpoch = Number.NEGATIVE_INFINITY
  calls = 0
  hits = 0

  constructor(private readonly duration: number, private readonly buckets: number) {
    this.width = duration / buckets
    this.epochs = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY)
    this.bucketCalls = new Uint32Array(buckets)
    this.bucketHits = new Uint32Array(buckets)
  }

  private advance(epoch: number): void {
    if (epoch === this.lastEpoch) return
    this.lastEpoch = epoch
    const oldest = epoch - this.buckets
    for (let i = 0; i < this.buckets; i++) {
      if (this.epochs[i]! <= oldest && this.bucketCalls[i]! > 0) {
        this.calls -= this.bucketCalls[i]!
        this.hits -= this.bucketHits[i]!
        this.bucketCalls[i] = 0
        this.bucketHits[i] = 0
      }
    }
  }

  add(hit: boolean, now: number): void {
    const epoch = Math.floor(now / this.width)
    this.advance(epoch)
    const i = epoch % this.buckets
    if (this.epochs[i] !== epoch) {
      this.calls -= this.bucketCalls[i]!
      this.hits -= this.bucketHits[i]!
      this.epochs[i] = epoch
      this.bucketCalls[i] = 0
      this.bucketHits[i] = 0
    }
    this.bucketCalls[i]!++
    this.calls++
    if (hit) {
      this.bucketHits[i]!++
      this.hits++
    }
  }

  reset(): void {
    this.epochs.fill(Number.NEGATIVE_INFINITY)
    this.bucketCalls.fill(0)
    this.bucketHits.fill(0)
    this.lastEpoch = Number.NEGATIVE_INFINITY
    this.calls = 0
    this.hits = 0
  }

  snapshot(): PolicySnapshot {
    const buckets: Array<readonly [number, number, number]> = []
    for (let i = 0; i < this.buckets; i++) {
      if (this.bucketCalls[i]! > 0) buckets.push([this.epochs[i]!, this.bucketCalls[i]!, this.bucketHits[i]!])
    }
    return { _tag: "Time", duration: this.duration, buckets }
  }

  restore(snapshot: PolicySnapshot): boolean {
    if (snapshot._tag !== "Time" || snapshot.duration !== this.duration) return false
    this.reset()
    for (const [epoch, calls, hits] of snapshot.buckets) {
      if (!Number.isInteger(epoch) || calls <= 0 || hits > calls) continue
      const i = ((epoch % this.buckets) + this.buckets) % this.buckets
      if (this.bucketCalls[i]! > 0 && this.epochs[i]! >= epoch) continue
      this.calls += calls - this.bucketCalls[i]!
      this.hits += hits - this.bucketHits[i]!
      this.epochs[i] = epoch
      this.bucketCalls[i] = calls
      this.bucketHits[i] = hits
    }
    return true
  }
}

class Rate implements PolicyState {
  private readonly window: RateWindow
  private readonly countSlow: boolean

  constructor(readonly policy: TripPolicy & { readonly _tag: "FailureRate" | "SlowCallRate" }) {
    this.window = policy.window._tag === "Calls"
      ? new CallsWindow(policy.window.size)
      : new TimeWindow(policy.window.duration, policy.window.buckets)
    this.countSlow = policy._tag === "SlowCallRate"
  }

  record(failure: boolean, slow: boolean, now: number): boolean {
    const window = this.window
    window.add(this.countSlow ? slow : failure, now)
    return window.calls >= this.policy.minimumThroughput && window.hits / window.calls >= this.policy.threshold
  }

  reset(): void {
    this.window.reset()
  }

  snapshot(): PolicySnapshot {
    return this.window.snapshot()
  }

  restore(snapshot: PolicySnapshot): boolean {
    return this.window.restore(snapshot)
  }
}

/** Instantiates the live counters of a policy. */
export const instantiate = (policy: TripPolicy): PolicyState =>
  policy._tag === "ConsecutiveFailures" ? new ConsecutiveFailures(policy) : new Rate(policy)

/** A window over the last `size` calls. */
export const lastCalls = (size: number): WindowSpec => ({ _tag: "Calls", size })

/** A window over the last `duration` ms, kept in `buckets` buckets. */
export const lastMillis = (duration: number, buckets = 10): WindowSpec => ({ _tag: "Time", duration, buckets })
