/**
 * One {@link TimerWheel} per `Clock`, each woken by a driver suited to that clock:
 * - the live clock: one Node timer for the earliest deadline, unref'd while no
 *   operation waits, so an idle wheel never keeps the process alive;
 * - any other clock (`TestClock`, a custom clock): a fiber that sleeps through
 *   `clock.sleep`, so `TestClock.adjust` fires timeouts exactly when it passes them.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import { type TimerDriver, TimerWheel } from "./timerWheel.js"

// setTimeout's largest delay; a later deadline wakes early and re-arms.
const MAX_TIMER_MILLIS = 2 ** 31 - 1

type Handle = ReturnType<typeof setTimeout>

const setRef = (handle: Handle, ref: boolean): void => {
  if (typeof handle === "object" && handle !== null) {
    const timer = handle as { ref?: () => unknown; unref?: () => unknown }
    if (ref) timer.ref?.()
    else timer.unref?.()
  }
}

/**
 * Wakes a wheel with `setTimeout`. Used by the live clock and by the Promise facade.
 *
 * @internal
 */
export class NodeTimerDriver implements TimerDriver {
  private handle: Handle | undefined
  private busyNow = false

  constructor(private readonly wheel: TimerWheel, private readonly now: () => number) {}

  private readonly wake = (): void => {
    this.handle = undefined
    this.wheel.fire(this.now())
  }

  arm(at: number, now: number): void {
    if (this.handle !== undefined) clearTimeout(this.handle)
    this.handle = setTimeout(this.wake, Math.min(MAX_TIMER_MILLIS, Math.max(0, at - now)))
    if (!this.busyNow) setRef(this.handle, false)
  }

  busy(): void {
    this.busyNow = true
    if (this.handle !== undefined) setRef(this.handle, true)
  }

  idle(): boolean {
    this.busyNow = false
    if (this.handle !== undefined) setRef(this.handle, false)
    return false
  }
}

/**
 * Wakes a wheel with a fiber sleeping on `clock`. It runs outside the caller's fiber
 * tree, so it neither holds a scope open nor counts as the caller's child.
 *
 * @internal
 */
class ClockFiberDriver implements TimerDriver {
  private sleeper: Fiber.RuntimeFiber<void> | undefined

  constructor(private readonly wheel: TimerWheel, private readonly clock: Clock.Clock) {}

  arm(at: number, now: number): void {
    this.cancel()
    // `fire` may run before `runFork` returns (a zero delay), and may re-arm.
    let self: Fiber.RuntimeFiber<void> | undefined
    let done = false
    const fiber = Effect.runFork(
      Effect.zipRight(
        this.clock.sleep(Duration.millis(Math.max(0, at - now))),
        Effect.sync(() => {
          done = true
          if (this.sleeper !== undefined && this.sleeper === self) this.sleeper = undefined
          this.wheel.fire(this.clock.unsafeCurrentTimeMillis())
        })
      )
    )
    if (!done) {
      self = fiber
      this.sleeper = fiber
    }
  }

  busy(): void {}

  idle(): boolean {
    this.cancel()
    return true
  }

  private cancel(): void {
    if (this.sleeper !== undefined) {
      this.sleeper.unsafeInterruptAsFork(FiberId.none)
      this.sleeper = undefined
    }
  }
}

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

const wheels = new WeakMap<Clock.Clock, TimerWheel>()
let lastClock: Clock.Clock | undefined
let lastWheel: TimerWheel | undefined

/**
 * The wheel of a clock, made on first use.
 *
 * @internal
 */
export const wheelOf = (clock: Clock.Clock): TimerWheel => {
  if (clock === lastClock) return lastWheel!
  let wheel = wheels.get(clock)
  if (wheel === undefined) {
    wheel = new TimerWheel()
    wheel.setDriver(
      clock === liveClock
        ? new NodeTimerDriver(wheel, () => clock.unsafeCurrentTimeMillis())
        : new ClockFiberDriver(wheel, clock)
    )
    wheels.set(clock, wheel)
  }
  lastClock = clock
  lastWheel = wheel
  return wheel
}
