/**
 * Admission bookkeeping for request handlers: a fixed number of slots, and a bounded
 * queue with one FIFO lane per priority. Plain synchronous code over a small mutable
 * value, shared by the Effect service and the Promise facade. Each operation is one
 * synchronous step, so both shells call it directly: a Ref around an immutable queue
 * would copy the queue on every offer, which is quadratic under a long backlog.
 *
 * @internal
 */

/** @internal */
export type Priority = "high" | "normal" | "low"

const laneOf: Readonly<Record<Priority, 0 | 1 | 2>> = { high: 0, normal: 1, low: 2 }

/**
 * A queued request. `status` moves from `queued` to `granted` (a slot was handed to it)
 * or to `cancelled` (it left the queue, for example on a timeout).
 *
 * @internal
 */
export interface Ticket<A> {
  readonly value: A
  readonly priority: Priority
  status: "queued" | "granted" | "cancelled"
}

class Lane<A> {
  private items: Array<Ticket<A>> = []
  private head = 0

  push(ticket: Ticket<A>): void {
    this.items.push(ticket)
  }

  /** The oldest ticket still queued; cancelled ones met on the way are dropped. */
  shift(): Ticket<A> | undefined {
    while (this.head < this.items.length) {
      const ticket = this.items[this.head]!
      this.items[this.head] = undefined as never
      this.head++
      if (ticket.status === "queued") {
        this.compactIfSparse()
        return ticket
      }
    }
    this.items = []
    this.head = 0
    return undefined
  }

  /** Drops cancelled tickets, so a backlog of timed-out requests cannot grow without bound. */
  purge(): void {
    this.items = this.items.slice(this.head).filter((ticket) => ticket.status === "queued")
    this.head = 0
  }

  private compactIfSparse(): void {
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}

/** @internal */
export interface Admission<A> {
  readonly concurrency: number
  readonly capacity: number
  /** Slots in use. */
  running: number
  /** Tickets waiting. */
  queued: number
  /** Cancelled tickets still held by a lane. */
  cancelled: number
  readonly lanes: readonly [Lane<A>, Lane<A>, Lane<A>]
}

/** @internal */
export const make = <A>(concurrency: number, capacity: number): Admission<A> => ({
  concurrency,
  capacity,
  running: 0,
  queued: 0,
  cancelled: 0,
  lanes: [new Lane(), new Lane(), new Lane()]
})

/** @internal */
export type Decision<A> =
  | { readonly _tag: "Run" }
  | { readonly _tag: "Queued"; readonly ticket: Ticket<A> }
  | { readonly _tag: "Full" }

const run: Decision<never> = { _tag: "Run" }
const full: Decision<never> = { _tag: "Full" }

/**
 * Takes a free slot, or queues the request behind others of its priority, or refuses
 * it when the queue is full. `value` is called only when the request is queued.
 *
 * @internal
 */
export const admit = <A>(state: Admission<A>, priority: Priority, value: () => A): Decision<A> => {
  if (state.running < state.concurrency) {
    state.running++
    return run
  }
  if (state.queued >= state.capacity) return full
  const ticket: Ticket<A> = { value: value(), priority, status: "queued" }
  state.lanes[laneOf[priority]].push(ticket)
  state.queued++
  return { _tag: "Queued", ticket }
}

/**
 * A slot was freed. Hands it to the first queued request of the highest priority and
 * returns that ticket (now `granted`), or frees the slot when nobody waits.
 *
 * @internal
 */
export const release = <A>(state: Admission<A>): Ticket<A> | undefined => {
  if (state.queued > 0) {
    for (const lane of state.lanes) {
      const ticket = lane.shift()
      if (ticket !== undefined) {
        ticket.status = "granted"
        state.queued--
        return ticket
      }
    }
  }
  state.running--
  return undefined
}

/**
 * Takes a queued request out of the queue. Returns false when it had already been
 * granted a slot (the caller then owns that slot and must release it).
 *
 * @internal
 */
export const cancel = <A>(state: Admission<A>, ticket: Ticket<A>): boolean => {
  if (ticket.status !== "queued") return false
  ticket.status = "cancelled"
  state.queued--
  state.cancelled++
  if (state.cancelled > 64 && state.cancelled > state.queued) {
    for (const lane of state.lanes) lane.purge()
    state.cancelled = 0
  }
  return true
}

/**
 * Saturation as health: a full queue (new requests are turned away) or a queue at 80%
 * of its capacity is `degraded`.
 *
 * @internal
 */
export const health = <A>(
  state: Admission<A>
): { readonly status: "healthy" | "degraded"; readonly reasons: ReadonlyArray<string> } => {
  if (state.running >= state.concurrency && state.queued >= state.capacity) {
    return {
      status: "degraded",
      reasons: [`all ${state.concurrency} handler slots are busy and the queue is full (${state.queued})`]
    }
  }
  if (state.capacity > 0 && state.queued >= state.capacity * 0.8) {
    return { status: "degraded", reasons: [`the queue holds ${state.queued} of ${state.capacity} requests`] }
  }
  return { status: "healthy", reasons: [] }
}
