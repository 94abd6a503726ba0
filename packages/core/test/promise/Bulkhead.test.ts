import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import * as Context from "effect/Context"
import * as fc from "effect/FastCheck"
import { globalRegistry } from "../../src/internal/registry.js"
import * as PatternEvents from "../../src/PatternEvents.js"
import { Bulkhead, BulkheadRejectedError, InvalidConfigError, KeyedBulkhead } from "../../src/promise/index.js"

/** Lets every pending promise callback run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

interface Gate {
  readonly promise: Promise<void>
  readonly open: () => void
}

const gate = (): Gate => {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

describe("Bulkhead (Promise API)", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("with 20 simultaneous calls, runs 5, queues 10 and rejects 5 at once", async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 5, queueSize: 10, timeout: 30000 })
    const g = gate()
    const started: Array<number> = []
    const calls = Array.from({ length: 20 }, (_, i) =>
      bulkhead.execute(async () => {
        started.push(i)
        await g.promise
        return i
      }))
    const settled = calls.map((call) => call.then(() => "ok", (error: unknown) => error))
    await flush()
    expect(started).toEqual([0, 1, 2, 3, 4])
    expect(bulkhead.getStats()).toMatchObject({
      active: 5,
      queued: 10,
      rejected: { QueueFull: 5, QueueTimeout: 0 },
      saturated: true
    })
    for (const error of (await Promise.all(settled.slice(15)))) {
      expect(error).toBeInstanceOf(BulkheadRejectedError)
      expect(error).toMatchObject({ name: "BulkheadRejectedError", reason: "QueueFull", maxConcurrent: 5, queueSize: 10 })
    }
    g.open()
    expect(await Promise.all(calls.slice(0, 15))).toEqual(Array.from({ length: 15 }, (_, i) => i))
    expect(started).toEqual(Array.from({ length: 15 }, (_, i) => i))
    expect(bulkhead.getStats()).toMatchObject({ active: 0, queued: 0, admitted: 15, peakConcurrency: 5 })
  })

  it("rejects a call that waits longer than timeout with QueueTimeout", async () => {
    vi.useFakeTimers()
    const bulkhead = new Bulkhead({ name: "slow", maxConcurrent: 1, queueSize: 2, timeout: 1000 })
    const g = gate()
    const running = bulkhead.execute(() => g.promise)
    const first = bulkhead.execute(() => "first").catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(400)
    const second = bulkhead.execute(() => "second").catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(599)
    expect(bulkhead.getStats().queued).toBe(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(await first).toMatchObject({ _tag: "BulkheadRejectedError", reason: "QueueTimeout", bulkhead: "slow" })
    expect(bulkhead.getStats().queued).toBe(1)
    await vi.advanceTimersByTimeAsync(399)
    expect(bulkhead.getStats().queued).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect((await second as BulkheadRejectedError).reason).toBe("QueueTimeout")
    expect(bulkhead.getStats().rejected).toEqual({ QueueFull: 0, QueueTimeout: 2 })
    g.open()
    await running
    expect(vi.getTimerCount()).toBe(0)
  })

  it("clears its timer once the queue is empty", async () => {
    vi.useFakeTimers()
    const bulkhead = new Bulkhead({ maxConcurrent: 1, queueSize: 1, timeout: 1000 })
    const g = gate()
    const running = bulkhead.execute(() => g.promise)
    const waiting = bulkhead.execute(() => "waited")
    expect(vi.getTimerCount()).toBe(1)
    g.open()
    await running
    expect(await waiting).toBe("waited")
    expect(vi.getTimerCount()).toBe(0)
  })

  it("takes a call out of the queue when its signal aborts, and rejects with the signal's reason", async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, queueSize: 2 })
    const g = gate()
    const running = bulkhead.execute(() => g.promise)
    const controller = new AbortController()
    let ran = false
    const aborted = bulkhead.execute(() => (ran = true), { signal: controller.signal }).catch((error: unknown) => error)
    const next = bulkhead.execute(() => "next")
    expect(bulkhead.getStats().queued).toBe(2)
    controller.abort(new Error("caller went away"))
    expect((await aborted as Error).message).toBe("caller went away")
    expect(bulkhead.getStats().queued).toBe(1)
    g.open()
    await running
    expect(await next).toBe("next")
    expect(ran).toBe(false)
    const preAborted = AbortSignal.abort("already")
    const busy = gate()
    const holder = bulkhead.execute(() => busy.promise)
    await expect(bulkhead.execute(() => 1, { signal: preAborted })).rejects.toBe("already")
    expect(bulkhead.getStats().queued).toBe(0)
    busy.open()
    await holder
  })

  it("does not start a call whose signal is already aborted, even with a free slot", async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 })
    let ran = false
    await expect(bulkhead.execute(() => (ran = true), { signal: AbortSignal.abort("gone") })).rejects.toBe("gone")
    expect(ran).toBe(false)
    expect(bulkhead.getStats()).toMatchObject({ active: 0, admitted: 0 })
  })

  it("ignores an abort once the call has started", async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 })
    const controller = new AbortController()
    const g = gate()
    const call = bulkhead.execute(async () => {
      await g.promise
      return "finished"
    }, { signal: controller.signal })
    controller.abort()
    g.open()
    expect(await call).toBe("finished")
  })

  it("gives the slot back when the call throws or rejects, and keeps the error", async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 })
    await expect(bulkhead.execute(() => {
      throw new Error("sync")
    })).rejects.toThrow("sync")
    await expect(bulkhead.execute(() => Promise.reject(new Error("async")))).rejects.toThrow("async")
    expect(await bulkhead.execute(() => 7)).toBe(7)
    expect(bulkhead.getStats().active).toBe(0)
  })

  it("throws InvalidConfigError from the constructor, listing every problem", () => {
    const build = () =>
      new Bulkhead({ maxConcurrent: 0, queueSize: 1.5, timeout: -1, name: "", extra: true } as unknown as {
        maxConcurrent: number
      })
    expect(build).toThrow(InvalidConfigError)
    try {
      build()
    } catch (error) {
      expect((error as InvalidConfigError).issues.map((issue) => issue.path)).toEqual([
        "extra",
        "name",
        "maxConcurrent",
        "queueSize",
        "timeout"
      ])
    }
    expect(() => new KeyedBulkhead({ maxConcurrent: Number.NaN })).toThrow(InvalidConfigError)
    expect(new Bulkhead({ maxConcurrent: 1, timeout: Infinity }).getStats().timeout).toBe(Infinity)
  })

  it("reports itself to the registry, degraded while saturated", async () => {
    const bulkhead = new Bulkhead({ name: "facade-health", maxConcurrent: 1 })
    const health = () => globalRegistry.list().find((instance) => instance.name === "facade-health")?.health()
    expect(health()?.status).toBe("healthy")
    const g = gate()
    const running = bulkhead.execute(() => g.promise)
    expect(health()).toEqual({ status: "degraded", reasons: ["all 1 slots are busy and there is no queue"] })
    g.open()
    await running
    expect(health()?.status).toBe("healthy")
  })

  it("publishes rejections to the process-wide event bus", async () => {
    const bus = Context.get(Context.empty(), PatternEvents.PatternEvents)
    const events: Array<PatternEvents.PatternEvent> = []
    const stop = bus.listen((event) => events.push(event))
    try {
      const bulkhead = new Bulkhead({ name: "facade-events", maxConcurrent: 1 })
      const g = gate()
      const running = bulkhead.execute(() => g.promise)
      await bulkhead.execute(() => 1).catch(() => undefined)
      g.open()
      await running
    } finally {
      stop()
    }
    expect(events).toMatchObject([
      { _tag: "BulkheadRejected", pattern: "Bulkhead", name: "facade-events", reason: "QueueFull", waited: 0 }
    ])
  })
})

describe("KeyedBulkhead (Promise API)", () => {
  it("limits each key on its own and forgets idle keys", async () => {
    const bulkhead = new KeyedBulkhead({ maxConcurrent: 1, queueSize: 1 })
    const g = gate()
    const a1 = bulkhead.execute("a", () => g.promise)
    const a2 = bulkhead.execute("a", () => "a2")
    await expect(bulkhead.execute("a", () => "a3")).rejects.toMatchObject({ reason: "QueueFull" })
    expect(await bulkhead.execute("b", () => "b1")).toBe("b1")
    expect(bulkhead.getKeyStats("a")).toEqual({ key: "a", active: 1, queued: 1, saturated: true })
    expect(bulkhead.getKeyStats("b")).toBeUndefined()
    expect(bulkhead.getStats()).toMatchObject({ keys: 1, saturatedKeys: 1 })
    g.open()
    await a1
    expect(await a2).toBe("a2")
    expect(bulkhead.getStats()).toMatchObject({ keys: 0, active: 0, queued: 0 })
  })
})

type Op =
  | { readonly _tag: "arrive" }
  | { readonly _tag: "finish"; readonly pick: number }
  | { readonly _tag: "abort"; readonly pick: number }

describe("Bulkhead (Promise API, properties)", () => {
  it("never runs more than maxConcurrent or queues more than queueSize, starts FIFO, and leaks no slot when callers abort", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(
          fc.oneof(
            { weight: 3, arbitrary: fc.constant({ _tag: "arrive" } as const) },
            { weight: 2, arbitrary: fc.record({ _tag: fc.constant("finish" as const), pick: fc.nat() }) },
            { weight: 1, arbitrary: fc.record({ _tag: fc.constant("abort" as const), pick: fc.nat() }) }
          ),
          { maxLength: 30 }
        ),
        async (maxConcurrent, queueSize, ops: ReadonlyArray<Op>) => {
          const bulkhead = new Bulkhead({ maxConcurrent, queueSize, timeout: Infinity })
          const gates: Array<Gate> = []
          const controllers: Array<AbortController> = []
          const calls: Array<Promise<unknown>> = []
          const status: Array<"running" | "queued" | "gone"> = []
          const expectedStarts: Array<number> = []
          const started: Array<number> = []
          let running = 0
          let maxRunning = 0
          const opened: Array<boolean> = []
          // A call whose gate opened while it waited finishes as soon as it starts.
          const startNext = () => {
            const next = status.indexOf("queued")
            if (next === -1) return
            expectedStarts.push(next)
            status[next] = opened[next] ? "gone" : "running"
            if (opened[next]) startNext()
          }
          for (const op of ops) {
            if (op._tag === "arrive") {
              const i = gates.length
              gates.push(gate())
              controllers.push(new AbortController())
              const active = status.filter((s) => s === "running").length
              const queued = status.filter((s) => s === "queued").length
              if (active < maxConcurrent) {
                status.push("running")
                expectedStarts.push(i)
              } else status.push(queued < queueSize ? "queued" : "gone")
              calls.push(
                bulkhead.execute(async () => {
                  started.push(i)
                  maxRunning = Math.max(maxRunning, ++running)
                  try {
                    await gates[i]!.promise
                  } finally {
                    running--
                  }
                }, { signal: controllers[i]!.signal }).catch(() => undefined)
              )
            } else {
              const live = status.flatMap((s, i) => (s === "gone" ? [] : [i]))
              if (live.length === 0) continue
              const i = live[op.pick % live.length]!
              if (op._tag === "finish") {
                opened[i] = true
                gates[i]!.open()
                if (status[i] === "running") {
                  status[i] = "gone"
                  startNext()
                }
              } else {
                controllers[i]!.abort()
                if (status[i] === "queued") status[i] = "gone"
              }
            }
            await flush()
            const stats = bulkhead.getStats()
            expect(stats.active).toBe(status.filter((s) => s === "running").length)
            expect(stats.queued).toBe(status.filter((s) => s === "queued").length)
            expect(stats.active).toBeLessThanOrEqual(maxConcurrent)
            expect(stats.queued).toBeLessThanOrEqual(queueSize)
            expect(started).toEqual(expectedStarts)
          }
          for (const g of gates) g.open()
          await Promise.all(calls)
          expect(maxRunning).toBeLessThanOrEqual(maxConcurrent)
          expect(bulkhead.getStats()).toMatchObject({ active: 0, queued: 0 })
        }
      ),
      { numRuns: 1000 }
    ), 60_000)
})
