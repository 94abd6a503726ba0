import type { Algorithm } from "./algorithms.js"

/**
 * A requests-per-second estimate over the last second: the count of the current
 * second plus the previous second's count weighted by how much of it still lies within
 * the last 1000 ms.
 *
 * @internal
 */
export const currentRate = (second: number, previous: number, current: number, now: number): number => {
  const nowSecond = Math.floor(now / 1000)
  if (nowSecond === second) return previous * (1 - (now - nowSecond * 1000) / 1000) + current
  if (nowSecond === second + 1) return current * (1 - (now - nowSecond * 1000) / 1000)
  return 0
}

const MAX_U32 = 0xffffffff

/**
 * The per-key state of a limiter, laid out in parallel typed arrays indexed by slot,
 * with a `Map<string, slot>` to find a key and an intrusive least-recently-used list
 * (`Int32Array` links) to pick the key to drop. Per tracked key, at 1M keys: the Map
 * entry (about 29 bytes), the slot's key reference (8), LRU links (8), allowed and
 * rejected counters (8), and the algorithm's slots: 8 for a token bucket plus a rate
 * counter (12), 16 for a fixed window, 24 for a sliding window (windows tell their rate
 * from their own state). `ratelimit.memory` in the bench measures it.
 *
 * Memory is bounded twice:
 * - a key whose state is idle (its bucket refilled, its windows over) is dropped; each
 *   decision checks the two least recently used keys, so every key leaves the table
 *   within the algorithm's refill time after its last request, once traffic moves on;
 * - at most `maxKeys` keys are tracked: a new key beyond that evicts the least
 *   recently used one, idle or not.
 *
 * An evicted key that comes back starts fresh, with a full budget. That can admit up
 * to one more burst for that key, and only for a key that `maxKeys` other keys have
 * pushed out since its last request. The global budget is never evicted, so a flood
 * of keys can never raise the total admitted beyond the global limit.
 *
 * @internal
 */
export class KeyTable {
  private readonly index = new Map<string, number>()
  private keys: Array<string | undefined>
  state: Float64Array
  private prev: Int32Array
  private next: Int32Array
  private allowedCount: Uint32Array
  private rejectedCount: Uint32Array
  private rateSecond: Uint32Array
  private ratePrevious: Float32Array
  private rateCurrent: Float32Array
  private capacity: number
  private used = 0
  private head = -1
  private tail = -1
  private free = -1
  private readonly stride: number
  /** Keys dropped by the size cap while their state was not idle. */
  evicted = 0
  /** Keys dropped because their state was idle (or evicted while idle). */
  expired = 0

  constructor(readonly algorithm: Algorithm, readonly maxKeys: number, initialCapacity = 256) {
    this.stride = algorithm.stride
    this.capacity = Math.max(1, Math.min(maxKeys, initialCapacity))
    this.keys = new Array(this.capacity)
    const rated = algorithm.measuresRate ? 0 : this.capacity
    this.state = new Float64Array(this.capacity * this.stride)
    this.prev = new Int32Array(this.capacity)
    this.next = new Int32Array(this.capacity)
    this.allowedCount = new Uint32Array(this.capacity)
    this.rejectedCount = new Uint32Array(this.capacity)
    this.rateSecond = new Uint32Array(rated)
    this.ratePrevious = new Float32Array(rated)
    this.rateCurrent = new Float32Array(rated)
  }

  /** Keys tracked now. */
  get size(): number {
    return this.index.size
  }

  /** The slot of a tracked key, or -1. Does not touch recency. */
  find(key: string): number {
    const slot = this.index.get(key)
    return slot === undefined ? -1 : slot
  }

  /** The offset of a slot's algorithm state in `state`. */
  offset(slot: number): number {
    return slot * this.stride
  }

  /** Marks a tracked slot most recently used. */
  touch(slot: number): void {
    if (slot !== this.head) {
      this.unlink(slot)
      this.linkFront(slot)
    }
  }

  /**
   * Tracks a key that is not tracked yet, with a fresh state, as the most recently
   * used; at `maxKeys`, the least recently used key is dropped first.
   */
  insert(key: string, now: number): number {
    if (this.index.size >= this.maxKeys) {
      const victim = this.tail
      if (this.algorithm.isIdle(this.state, victim * this.stride, now)) this.expired++
      else this.evicted++
      this.remove(victim)
    }
    let slot: number
    if (this.free !== -1) {
      slot = this.free
      this.free = this.next[slot]!
    } else {
      if (this.used === this.capacity) this.grow()
      slot = this.used++
    }
    this.keys[slot] = key
    this.index.set(key, slot)
    this.algorithm.reset(this.state, slot * this.stride)
    this.allowedCount[slot] = 0
    this.rejectedCount[slot] = 0
    if (!this.algorithm.measuresRate) {
      this.rateSecond[slot] = 0
      this.ratePrevious[slot] = 0
      this.rateCurrent[slot] = 0
    }
    this.linkFront(slot)
    return slot
  }

  /** Drops up to `budget` idle keys from the least recently used end, never `keep`. */
  sweep(now: number, budget: number, keep = -1): void {
    const algorithm = this.algorithm
    while (budget-- > 0) {
      const tail = this.tail
      if (tail === -1 || tail === keep || !algorithm.isIdle(this.state, tail * this.stride, now)) return
      this.remove(tail)
      this.expired++
    }
  }

  // The rate counter keeps whole seconds since the epoch in a Uint32 (good until 2106);
  // a fresh slot says second 0 with zero counts, which reads as no traffic.
  recordAllowed(slot: number, cost: number, now: number): void {
    const allowed = this.allowedCount[slot]!
    if (allowed !== MAX_U32) this.allowedCount[slot] = allowed + 1
    if (this.algorithm.measuresRate) return
    const second = Math.floor(now / 1000)
    const last = this.rateSecond[slot]!
    if (second !== last) {
      this.ratePrevious[slot] = second === last + 1 ? this.rateCurrent[slot]! : 0
      this.rateCurrent[slot] = cost
      this.rateSecond[slot] = second
    } else {
      this.rateCurrent[slot] = this.rateCurrent[slot]! + cost
    }
  }

  recordRejected(slot: number): void {
    const rejected = this.rejectedCount[slot]!
    if (rejected !== MAX_U32) this.rejectedCount[slot] = rejected + 1
  }

  /** Allowed requests of a slot since it was last created (saturates at 2^32 − 1). */
  allowed(slot: number): number {
    return this.allowedCount[slot]!
  }

  /** Rejected requests of a slot since it was last created (saturates at 2^32 − 1). */
  rejected(slot: number): number {
    return this.rejectedCount[slot]!
  }

  /** Admitted units per second (see `KeyStats.currentRate`). */
  rate(slot: number, now: number): number {
    return this.algorithm.measuresRate
      ? this.algorithm.rate(this.state, slot * this.stride, now)
      : currentRate(this.rateSecond[slot]!, this.ratePrevious[slot]!, this.rateCurrent[slot]!, now)
  }

  /** Tracked keys from most to least recently used. */
  *keysByRecency(): IterableIterator<string> {
    for (let slot = this.head; slot !== -1; slot = this.next[slot]!) yield this.keys[slot]!
  }

  private remove(slot: number): void {
    this.unlink(slot)
    this.index.delete(this.keys[slot]!)
    this.keys[slot] = undefined
    this.next[slot] = this.free
    this.free = slot
  }

  private linkFront(slot: number): void {
    this.prev[slot] = -1
    this.next[slot] = this.head
    if (this.head !== -1) this.prev[this.head] = slot
    this.head = slot
    if (this.tail === -1) this.tail = slot
  }

  private unlink(slot: number): void {
    const before = this.prev[slot]!
    const after = this.next[slot]!
    if (before === -1) this.head = after
    else this.next[before] = after
    if (after === -1) this.tail = before
    else this.prev[after] = before
  }

  private grow(): void {
    const capacity = Math.min(this.maxKeys, this.capacity * 2)
    const grow = <A extends Float64Array | Float32Array | Int32Array | Uint32Array>(
      old: A,
      make: (n: number) => A,
      width = 1
    ): A => {
      if (old.length === 0) return old
      const out = make(capacity * width)
      out.set(old)
      return out
    }
    // Sized exactly, as the typed arrays are: a pushed array would grow by half again.
    const keys = new Array<string | undefined>(capacity)
    for (let i = 0; i < this.used; i++) keys[i] = this.keys[i]
    this.keys = keys
    this.state = grow(this.state, (n) => new Float64Array(n), this.stride)
    this.prev = grow(this.prev, (n) => new Int32Array(n))
    this.next = grow(this.next, (n) => new Int32Array(n))
    this.allowedCount = grow(this.allowedCount, (n) => new Uint32Array(n))
    this.rejectedCount = grow(this.rejectedCount, (n) => new Uint32Array(n))
    this.rateSecond = grow(this.rateSecond, (n) => new Uint32Array(n))
    this.ratePrevious = grow(this.ratePrevious, (n) => new Float32Array(n))
    this.rateCurrent = grow(this.rateCurrent, (n) => new Float32Array(n))
    this.capacity = capacity
  }
}
