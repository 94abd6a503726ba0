import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { type TimerDriver, TimerEntry, TimerWheel } from "../../../src/internal/timeout/timerWheel.js"

class Probe extends TimerEntry {
  constructor(readonly id: string, readonly log: Array<string>) {
    super()
  }
  expire(now: number): void {
    this.log.push(`${this.id}@${now}`)
  }
}

const fakeDriver = () => {
  const driver = {
    armedAt: [] as Array<number>,
    busy: 0,
    idle: 0,
    arm(at: number) {
      driver.armedAt.push(at)
    },
    onBusy() {
      driver.busy++
    }
  }
  const timer: TimerDriver = {
    arm: (at) => driver.arm(at),
    busy: () => driver.onBusy(),
    idle: () => {
      driver.idle++
      return false
    }
  }
  return { driver, timer }
}

describe("TimerWheel", () => {
  it("expires entries once their deadline passes, in deadline order", () => {
    const { driver, timer } = fakeDriver()
    const wheel = new TimerWheel()
    wheel.setDriver(timer)
    const log: Array<string> = []
    wheel.add(new Probe("a", log), 300, 0)
    wheel.add(new Probe("b", log), 100, 0)
    wheel.add(new Probe("c", log), 100, 50)
    expect(driver.armedAt).toEqual([300, 100])
    wheel.fire(100)
    expect(log).toEqual(["b@100"])
    expect(driver.armedAt).toEqual([300, 100, 150])
    wheel.fire(400)
    expect(log).toEqual(["b@100", "c@400", "a@400"])
    expect(wheel.size).toBe(0)
  })

  it("never expires a removed entry and re-arms lazily", () => {
    const { driver, timer } = fakeDriver()
    const wheel = new TimerWheel()
    wheel.setDriver(timer)
    const log: Array<string> = []
    const first = new Probe("first", log)
    wheel.add(first, 100, 0)
    wheel.remove(first)
    wheel.remove(first)
    expect(wheel.size).toBe(0)
    expect(driver.idle).toBe(1)
    // a later deadline does not re-arm: the pending wake-up comes first
    wheel.add(new Probe("second", log), 100, 10)
    expect(driver.armedAt).toEqual([100])
    wheel.fire(100)
    expect(log).toEqual([])
    expect(driver.armedAt).toEqual([100, 110])
    wheel.fire(110)
    expect(log).toEqual(["second@110"])
  })

  it("keeps each duration's entries sorted even if the clock steps back", () => {
    const { timer } = fakeDriver()
    const wheel = new TimerWheel()
    wheel.setDriver(timer)
    const log: Array<string> = []
    wheel.add(new Probe("late", log), 100, 500)
    wheel.add(new Probe("early", log), 100, 0)
    wheel.fire(100)
    expect(log).toEqual(["early@100"])
  })

  it("expires exactly the due entries for any schedule (property)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(
          FastCheck.record({
            start: FastCheck.integer({ min: 0, max: 1000 }),
            duration: FastCheck.constantFrom(10, 50, 100, 250),
            removed: FastCheck.boolean()
          }),
          { maxLength: 40 }
        ),
        FastCheck.integer({ min: 0, max: 1500 }),
        (specs, now) => {
          const { timer } = fakeDriver()
          const wheel = new TimerWheel()
          wheel.setDriver(timer)
          const log: Array<string> = []
          const sorted = [...specs].sort((a, b) => a.start - b.start)
          const entries = sorted.map((spec, i) => {
            const entry = new Probe(String(i), log)
            wheel.add(entry, spec.duration, spec.start)
            return entry
          })
          sorted.forEach((spec, i) => {
            if (spec.removed) wheel.remove(entries[i]!)
          })
          wheel.fire(now)
          const expected = sorted
            .map((spec, i) => ({ i, deadline: spec.start + spec.duration, removed: spec.removed }))
            .filter((e) => !e.removed && e.deadline <= now)
            .map((e) => e.i)
            .sort((a, b) => a - b)
          const fired = log.map((l) => Number(l.split("@")[0])).sort((a, b) => a - b)
          expect(fired).toEqual(expected)
          expect(wheel.size).toBe(sorted.filter((s) => !s.removed).length - expected.length)
        }
      ),
      { numRuns: 1000 }
    )
  })
})
