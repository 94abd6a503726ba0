/**
 * Deadlines of in-flight operations, kept so that one timer serves them all.
 *
 * Entries are grouped by duration. Within a group, deadlines arrive in order (same
 * duration, non-decreasing start), so adding is an append and removing an unlink:
 * O(1) with no allocation beyond the entry (the shape of Node's own timer lists). The
 * driver is armed for the earliest deadline only; removing an entry never disarms it,
 * and a wake-up that finds nothing due simply re-arms for the next deadline.
 *
 * No clock and no IO: `now` comes in as milliseconds, and the driver does the waiting.
 *
 * @internal
 */

/** @internal */
export interface TimerDriver {
  /** Call `wheel.fire(now)` at `at` (milliseconds), replacing any earlier arming. */
  arm(at: number, now: number): void
  /** The wheel has entries again. */
  busy(): void
  /** The wheel is empty. Returns true if the driver disarmed itself. */
  idle(): boolean
}

/** @internal */
export abstract class TimerEntry {
  deadline = 0
  prev: TimerEntry | null = null
  next: TimerEntry | null = null
  list: TimerList | null = null
  /** Called once the deadline has passed, after the entry left the wheel. */
  abstract expire(now: number): void
}

/** @internal */
export class TimerList {
  head: TimerEntry | null = null
  tail: TimerEntry | null = null
}

/** @internal */
export class TimerWheel {
  private readonly lists = new Map<number, TimerList>()
  private driver: TimerDriver | undefined
  size = 0
  /** When the driver will next call `fire`; Infinity when it is not armed. */
  armedAt = Number.POSITIVE_INFINITY

  setDriver(driver: TimerDriver): void {
    this.driver = driver
  }

  /** Schedules `entry` to expire `duration` milliseconds after `now`. */
  add(entry: TimerEntry, duration: number, now: number): void {
    const deadline = now + duration
    entry.deadline = deadline
    let list = this.lists.get(duration)
    if (list === undefined) {
      list = new TimerList()
      this.lists.set(duration, list)
    }
    // Walk back from the tail only if the clock stepped back.
    let after = list.tail
    while (after !== null && after.deadline > deadline) after = after.prev
    entry.list = list
    entry.prev = after
    entry.next = after === null ? list.head : after.next
    if (entry.next === null) list.tail = entry
    else entry.next.prev = entry
    if (after === null) list.head = entry
    else after.next = entry
    if (++this.size === 1) this.driver!.busy()
    if (deadline < this.armedAt) {
      this.armedAt = deadline
      this.driver!.arm(deadline, now)
    }
  }

  /** Takes `entry` out; a no-op if it already left. */
  remove(entry: TimerEntry): void {
    const list = entry.list
    if (list === null) return
    if (entry.prev === null) list.head = entry.next
    else entry.prev.next = entry.next
    if (entry.next === null) list.tail = entry.prev
    else entry.next.prev = entry.prev
    entry.prev = entry.next = entry.list = null
    if (--this.size === 0 && this.driver!.idle()) this.armedAt = Number.POSITIVE_INFINITY
  }

  /** Expires every entry due at `now`, then arms the driver for the next deadline. */
  fire(now: number): void {
    this.armedAt = Number.POSITIVE_INFINITY
    let due: Array<TimerEntry> | undefined
    for (const [duration, list] of this.lists) {
      while (list.head !== null && list.head.deadline <= now) {
        const entry = list.head
        this.remove(entry)
        ;(due ??= []).push(entry)
      }
      if (list.head === null) this.lists.delete(duration)
    }
    if (due !== undefined) {
      due.sort((a, b) => a.deadline - b.deadline)
      for (const entry of due) entry.expire(now)
    }
    let next = Number.POSITIVE_INFINITY
    for (const list of this.lists.values()) {
      if (list.head !== null && list.head.deadline < next) next = list.head.deadline
    }
    if (next < this.armedAt) {
      this.armedAt = next
      this.driver!.arm(next, now)
    }
  }
}
