import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { BulkheadCore, type Compartment, type Waiter } from "../../../src/internal/bulkhead/core.js"

const limits = { maxConcurrent: 2, queueSize: 2, timeoutMillis: 100 }

const single = (core: BulkheadCore<string>): Compartment<string> => core.compartment("only")

describe("BulkheadCore", () => {
  it("runs up to maxConcurrent, queues up to queueSize, then rejects", () => {
    const core = new BulkheadCore<string>(limits)
    const c = single(core)
    expect(core.tryAcquire(c)).toBe(true)
    expect(core.tryAcquire(c)).toBe(true)
    expect(core.tryAcquire(c)).toBe(false)
    expect(core.enqueue(c, "a", 0)?.state).toBe("Waiting")
    expect(core.enqueue(c, "b", 0)?.state).toBe("Waiting")
    expect(core.isQueueFull(c)).toBe(true)
    expect(core.enqueue(c, "c", 0)).toBeUndefined()
    expect([core.active, core.queued, core.rejectedQueueFull, core.peak]).toEqual([2, 2, 1, 2])
    expect(core.isSaturated(c)).toBe(true)
  })

  it("hands a released slot to the first waiter, so the slot never becomes free in between", () => {
    const core = new BulkheadCore<string>(limits)
    const c = single(core)
    core.tryAcquire(c)
    core.tryAcquire(c)
    core.enqueue(c, "a", 0)
    core.enqueue(c, "b", 0)
    const first = core.release(c)
    expect(first?.payload).toBe("a")
    expect(first?.state).toBe("Granted")
    expect([core.active, core.queued, core.admitted]).toEqual([2, 1, 3])
    expect(core.tryAcquire(c)).toBe(false)
    expect(core.release(c)?.payload).toBe("b")
    expect(core.release(c)).toBeUndefined()
    expect(core.release(c)).toBeUndefined()
    expect([core.active, core.queued]).toEqual([0, 0])
  })

  it("takes a withdrawn waiter out of the queue", () => {
    const core = new BulkheadCore<string>(limits)
    const c = single(core)
    core.tryAcquire(c)
    core.tryAcquire(c)
    const a = core.enqueue(c, "a", 0)!
    core.enqueue(c, "b", 0)
    expect(core.withdraw(a)).toBeUndefined()
    expect(a.state).toBe("Withdrawn")
    expect(core.queued).toBe(1)
    expect(core.release(c)?.payload).toBe("b")
  })

  it("passes the slot of a granted call that gave up before starting to the next waiter", () => {
    const core = new BulkheadCore<string>({ ...limits, maxConcurrent: 1 })
    const c = single(core)
    core.tryAcquire(c)
    core.enqueue(c, "a", 0)
    core.enqueue(c, "b", 0)
    const a = core.release(c)!
    const b = core.withdraw(a)
    expect(b?.payload).toBe("b")
    expect(b?.state).toBe("Granted")
    expect(core.withdraw(a)).toBeUndefined()
    expect(core.active).toBe(1)
    core.withdraw(b!)
    expect([core.active, core.queued]).toEqual([0, 0])
  })

  it("expires waiters at their deadline, in arrival order, and not before", () => {
    const core = new BulkheadCore<string>({ ...limits, queueSize: 3 })
    const c = single(core)
    core.tryAcquire(c)
    core.tryAcquire(c)
    core.enqueue(c, "a", 0)
    core.enqueue(c, "b", 10)
    core.enqueue(c, "c", 10)
    expect(core.nextDeadline()).toBe(100)
    expect(core.expireNext(99)).toBeUndefined()
    expect(core.expireNext(100)?.payload).toBe("a")
    expect(core.expireNext(100)).toBeUndefined()
    expect(core.nextDeadline()).toBe(110)
    expect([core.expireNext(500)?.payload, core.expireNext(500)?.payload]).toEqual(["b", "c"])
    expect([core.queued, core.rejectedQueueTimeout, core.nextDeadline()]).toEqual([0, 3, undefined])
  })

  it("never expires waiters when the timeout is infinite", () => {
    const core = new BulkheadCore<string>({ ...limits, timeoutMillis: Infinity })
    const c = single(core)
    core.tryAcquire(c)
    core.tryAcquire(c)
    core.enqueue(c, "a", 0)
    expect(core.nextDeadline()).toBeUndefined()
    expect(core.expireNext(Number.MAX_SAFE_INTEGER)).toBeUndefined()
  })

  it("limits each key on its own and drops a key once it is idle", () => {
    const core = new BulkheadCore<string>({ ...limits, queueSize: 0 })
    const noisy = core.compartment("noisy")
    expect(core.tryAcquire(noisy)).toBe(true)
    expect(core.tryAcquire(noisy)).toBe(true)
    expect(core.tryAcquire(noisy)).toBe(false)
    const quiet = core.compartment("quiet")
    expect(core.tryAcquire(quiet)).toBe(true)
    expect([core.keys, core.active]).toEqual([2, 3])
    core.release(quiet)
    expect(core.keys).toBe(1)
    expect(core.peekCompartment("quiet")).toBeUndefined()
    core.release(noisy)
    core.release(noisy)
    expect(core.keys).toBe(0)
  })

  it("keeps a key's replacement when a stale compartment of the same key goes idle", () => {
    const core = new BulkheadCore<string>(limits)
    const stale = core.compartment("k")
    core.tryAcquire(stale)
    core.release(stale)
    const fresh = core.compartment("k")
    expect(fresh).not.toBe(stale)
    core.tryAcquire(fresh)
    core.rejectFull(stale)
    expect(core.peekCompartment("k")).toBe(fresh)
  })
})

// A reference model: per key, how many run and who waits in which order.
type Op =
  | { readonly _tag: "arrive"; readonly key: number }
  | { readonly _tag: "finish"; readonly pick: number }
  | { readonly _tag: "giveUpAfterGrant"; readonly pick: number }
  | { readonly _tag: "withdraw"; readonly pick: number }
  | { readonly _tag: "tick"; readonly ms: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ _tag: fc.constant("arrive" as const), key: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("finish" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("giveUpAfterGrant" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("withdraw" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("tick" as const), ms: fc.nat(60) }) }
)

interface Running {
  readonly id: number
  readonly key: string
  readonly compartment: Compartment<number>
  /** Set when the call got its slot from the queue and has not started yet. */
  readonly granted: Waiter<number> | undefined
}

describe("BulkheadCore (properties)", () => {
  it("never runs more than maxConcurrent or queues more than queueSize per key, grants FIFO and leaks no slot", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(op, { maxLength: 80 }),
        (maxConcurrent, queueSize, ops) => {
          const timeoutMillis = 50
          const core = new BulkheadCore<number>({ maxConcurrent, queueSize, timeoutMillis })
          const running: Array<Running> = []
          const waiting: Array<Waiter<number>> = []
          let now = 0
          let nextId = 0

          const checkInvariants = () => {
            const keys = new Set([...running.map((r) => r.key), ...waiting.map((w) => w.compartment.key!)])
            expect(core.keys).toBe(keys.size)
            for (const key of keys) {
              const c = core.peekCompartment(key)!
              const runs = running.filter((r) => r.key === key).length
              const waits = waiting.filter((w) => w.compartment.key === key).length
              expect(c.active).toBe(runs)
              expect(c.queued).toBe(waits)
              expect(runs).toBeLessThanOrEqual(maxConcurrent)
              expect(waits).toBeLessThanOrEqual(queueSize)
              if (waits > 0) expect(runs).toBe(maxConcurrent)
            }
            expect(core.active).toBe(running.length)
            expect(core.queued).toBe(waiting.length)
            expect(core.peak).toBeLessThanOrEqual(maxConcurrent * 3)
          }

          const handOver = (c: Compartment<number>, next: Waiter<number> | undefined) => {
            const expected = waiting.find((w) => w.compartment === c)
            expect(next).toBe(expected)
            if (next !== undefined) {
              waiting.splice(waiting.indexOf(next), 1)
              running.push({ id: next.payload, key: c.key!, compartment: c, granted: next })
            }
          }

          for (const o of ops) {
            switch (o._tag) {
              case "arrive": {
                const key = `k${o.key}`
                const c = core.compartment(key)
                const runs = running.filter((r) => r.key === key).length
                const waits = waiting.filter((w) => w.compartment.key === key).length
                const id = nextId++
                if (core.tryAcquire(c)) {
                  expect(runs).toBeLessThan(maxConcurrent)
                  running.push({ id, key, compartment: c, granted: undefined })
                } else {
                  expect(runs).toBe(maxConcurrent)
                  const w = core.enqueue(c, id, now)
                  if (w === undefined) expect(waits).toBe(queueSize)
                  else waiting.push(w)
                }
                break
              }
              case "finish": {
                if (running.length === 0) break
                const [r] = running.splice(o.pick % running.length, 1)
                handOver(r!.compartment, core.release(r!.compartment))
                break
              }
              case "giveUpAfterGrant": {
                const granted = running.filter((r) => r.granted?.state === "Granted")
                if (granted.length === 0) break
                const r = granted[o.pick % granted.length]!
                running.splice(running.indexOf(r), 1)
                handOver(r.compartment, core.withdraw(r.granted!))
                break
              }
              case "withdraw": {
                if (waiting.length === 0) break
                const [w] = waiting.splice(o.pick % waiting.length, 1)
                expect(core.withdraw(w!)).toBeUndefined()
                expect(w!.state).toBe("Withdrawn")
                break
              }
              case "tick": {
                now += o.ms
                const due = waiting.filter((w) => w.enqueuedAt + timeoutMillis <= now)
                const expired: Array<Waiter<number>> = []
                let w: Waiter<number> | undefined
                while ((w = core.expireNext(now)) !== undefined) expired.push(w)
                expect(expired.map((e) => e.payload)).toEqual(due.map((d) => d.payload))
                for (const e of expired) waiting.splice(waiting.indexOf(e), 1)
                break
              }
            }
            checkInvariants()
          }

          for (const w of [...waiting]) core.withdraw(w)
          waiting.length = 0
          for (const r of running) expect(core.release(r.compartment)).toBeUndefined()
          expect([core.active, core.queued, core.keys]).toEqual([0, 0, 0])
        }
      ),
      { numRuns: 1500 }
    )
  })
})
