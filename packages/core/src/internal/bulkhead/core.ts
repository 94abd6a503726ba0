/**
 * The bulkhead's bookkeeping: slots, the waiting queue, queue deadlines and keyed
 * compartments. Plain synchronous code over mutable state, shared by the Effect
 * service and the Promise facade; time comes in as `now` (milliseconds).
 *
 * A release hands its slot straight to the first waiter (the slot never becomes free
 * in between), so exactly one waiter wakes per release. Effect 3.22's `Semaphore`
 * instead wakes every waiter on each release and lets them race for the permit; with
 * limit 100 we measured 1,000 waiting calls take 4.8 s and 950 MB, 2,000 take 57 s
 * and 3 GB, and 10,000 run out of a 2 GB heap after 86 s (`effect.semaphore` in
 * `bulkhead.contended`).
 * Here each call costs O(1): a queue node, unlinked in O(1) on grant, withdrawal or
 * expiry.
 *
 * Invariant: a compartment has waiters only while all of its slots are taken, so a
 * new call can take a free slot without looking at the queue and FIFO still holds.
 *
 * @internal
 */

/** @internal */
export type WaiterState = "Waiting" | "Granted" | "Withdrawn" | "Expired"

/**
 * A queued call. It sits in two intrusive lists: its compartment's FIFO queue and the
 * bulkhead-wide deadline list. Every call gets the same timeout, so the deadline list
 * is in arrival order and its head is always the next call to expire.
 *
 * @internal
 */
export class Waiter<A> {
  state: WaiterState = "Waiting"
  /** Links in the compartment's queue. */
  prev: Waiter<A> | undefined = undefined
  next: Waiter<A> | undefined = undefined
  /** Links in the deadline list. */
  earlier: Waiter<A> | undefined = undefined
  later: Waiter<A> | undefined = undefined

  constructor(
    readonly compartment: Compartment<A>,
    readonly payload: A,
    readonly enqueuedAt: number,
    readonly deadline: number
  ) {}
}

/**
 * One set of slots and its queue: the whole bulkhead, or one key of a keyed bulkhead.
 *
 * @internal
 */
export class Compartment<A> {
  active = 0
  queued = 0
  head: Waiter<A> | undefined = undefined
  tail: Waiter<A> | undefined = undefined

  /** `key` is undefined for the single compartment of an unkeyed bulkhead. */
  constructor(readonly key: string | undefined) {}
}

/** @internal */
export interface Limits {
  /** Slots per compartment. */
  readonly maxConcurrent: number
  /** Waiting calls per compartment. */
  readonly queueSize: number
  /** The longest a call waits in the queue, in milliseconds; `Infinity` for no limit. */
  readonly timeoutMillis: number
}

/**
 * @internal
 */
export class BulkheadCore<A> {
  /** Calls holding a slot, over every compartment. */
  active = 0
  /** Calls waiting, over every compartment. */
  queued = 0
  /** The most calls that held a slot at once. */
  peak = 0
  /** Calls that got a slot, at once or after waiting. */
  admitted = 0
  rejectedQueueFull = 0
  rejectedQueueTimeout = 0

  private first: Waiter<A> | undefined = undefined
  private last: Waiter<A> | undefined = undefined
  private readonly byKey = new Map<string, Compartment<A>>()

  constructor(readonly limits: Limits) {}

  /** The live compartment of a key, created on first use; idle keys are dropped. */
  compartment(key: string): Compartment<A> {
    let c = this.byKey.get(key)
    if (c === undefined) {
      c = new Compartment<A>(key)
      this.byKey.set(key, c)
    }
    return c
  }

  /** The live compartment of a key, without creating it. */
  peekCompartment(key: string): Compartment<A> | undefined {
    return this.byKey.get(key)
  }

  /** Keys with a call running or waiting. */
  get keys(): number {
    return this.byKey.size
  }

  /** Every live keyed compartment. */
  compartments(): IterableIterator<Compartment<A>> {
    return this.byKey.values()
  }

  /** Takes a free slot if there is one. */
  tryAcquire(c: Compartment<A>): boolean {
    if (c.active >= this.limits.maxConcurrent) return false
    c.active++
    this.admitted++
    if (++this.active > this.peak) this.peak = this.active
    return true
  }

  isQueueFull(c: Compartment<A>): boolean {
    return c.queued >= this.limits.queueSize
  }

  /** Every slot busy and the queue full: a new call would be turned away. */
  isFull(c: Compartment<A>): boolean {
    return c.active >= this.limits.maxConcurrent && c.queued >= this.limits.queueSize
  }

  /** Counts a call turned away because the queue was full. */
  rejectFull(c: Compartment<A>): void {
    this.rejectedQueueFull++
    this.evictIfIdle(c)
  }

  /**
   * Queues a call that found no free slot. Returns undefined, and counts a rejection,
   * when the queue is full.
   */
  enqueue(c: Compartment<A>, payload: A, now: number): Waiter<A> | undefined {
    if (c.queued >= this.limits.queueSize) {
      this.rejectFull(c)
      return undefined
    }
    const w = new Waiter(c, payload, now, now + this.limits.timeoutMillis)
    w.prev = c.tail
    if (c.tail === undefined) c.head = w
    else c.tail.next = w
    c.tail = w
    w.earlier = this.last
    if (this.last === undefined) this.first = w
    else this.last.later = w
    this.last = w
    c.queued++
    this.queued++
    return w
  }

  /**
   * Gives back a slot. When the compartment has waiters, the slot passes to the first
   * one, which is returned (now `Granted`); otherwise the slot becomes free.
   */
  release(c: Compartment<A>): Waiter<A> | undefined {
    const w = c.head
    if (w === undefined) {
      c.active--
      this.active--
      this.evictIfIdle(c)
      return undefined
    }
    this.unlink(w)
    w.state = "Granted"
    this.admitted++
    return w
  }

  /**
   * Takes back a call that gave up (interrupted or aborted). A waiting call leaves the
   * queue. A call that had just been granted a slot but never started gives the slot
   * back, so the next waiter, which is returned, gets it. Returns undefined otherwise.
   */
  withdraw(w: Waiter<A>): Waiter<A> | undefined {
    switch (w.state) {
      case "Waiting": {
        this.unlink(w)
        w.state = "Withdrawn"
        this.evictIfIdle(w.compartment)
        return undefined
      }
      case "Granted": {
        w.state = "Withdrawn"
        return this.release(w.compartment)
      }
      default:
        return undefined
    }
  }

  /** The deadline of the next call to expire, if any call waits with a deadline. */
  nextDeadline(): number | undefined {
    const first = this.first
    return first === undefined || first.deadline === Infinity ? undefined : first.deadline
  }

  /** Removes and returns the next call whose deadline is at or before `now`. */
  expireNext(now: number): Waiter<A> | undefined {
    const w = this.first
    if (w === undefined || w.deadline > now) return undefined
    this.unlink(w)
    w.state = "Expired"
    this.rejectedQueueTimeout++
    this.evictIfIdle(w.compartment)
    return w
  }

  /** Every slot taken and the queue unable to take more without waiting. */
  isSaturated(c: Compartment<A>): boolean {
    return c.active >= this.limits.maxConcurrent && (c.queued > 0 || this.limits.queueSize === 0)
  }

  private unlink(w: Waiter<A>): void {
    const c = w.compartment
    if (w.prev === undefined) c.head = w.next
    else w.prev.next = w.next
    if (w.next === undefined) c.tail = w.prev
    else w.next.prev = w.prev
    if (w.earlier === undefined) this.first = w.later
    else w.earlier.later = w.later
    if (w.later === undefined) this.last = w.earlier
    else w.later.earlier = w.earlier
    w.prev = w.next = w.earlier = w.later = undefined
    c.queued--
    this.queued--
  }

  private evictIfIdle(c: Compartment<A>): void {
    if (c.key !== undefined && c.active === 0 && c.queued === 0 && this.byKey.get(c.key) === c) {
      this.byKey.delete(c.key)
    }
  }
}
