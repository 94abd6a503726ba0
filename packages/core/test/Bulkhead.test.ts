import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Config from "effect/Config"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as TestClock from "effect/TestClock"
import * as Bulkhead from "../src/Bulkhead.js"
import { BulkheadRejectedError, InvalidConfigError } from "../src/Errors.js"
import * as IntegrationPatterns from "../src/IntegrationPatterns.js"
import { Registry } from "../src/internal/registry.js"
import * as Metrics from "../src/Metrics.js"
import * as PatternEvents from "../src/PatternEvents.js"

// Lets forked fibers run until `done` holds (they start asynchronously).
const settle = (done: () => boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000 && !done(); i++) yield* Effect.yieldNow()
    expect(done()).toBe(true)
  })

/** A call that runs until its gate opens, recording when it starts. */
const gated = (gate: Deferred.Deferred<void>, started: Array<number>, id: number) =>
  Effect.zipRight(Effect.sync(() => started.push(id)), Deferred.await(gate))

const seen = (bulkhead: Bulkhead.Bulkhead): number => {
  const s = bulkhead.unsafeStats()
  return s.active + s.queued + s.rejected.QueueFull
}

describe("Bulkhead", () => {
  it.scoped("runs maxConcurrent calls at once, queues the next ones and starts them first in, first out", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ name: "fifo", maxConcurrent: 2, queueSize: 3 })
      const gates = yield* Effect.all(Array.from({ length: 5 }, () => Deferred.make<void>()))
      const started: Array<number> = []
      const fibers: Array<Fiber.RuntimeFiber<void, BulkheadRejectedError>> = []
      for (let i = 0; i < 5; i++) {
        fibers.push(yield* Effect.fork(bulkhead.execute(gated(gates[i]!, started, i))))
        yield* settle(() => seen(bulkhead) === i + 1)
      }
      expect(started).toEqual([0, 1])
      expect(bulkhead.unsafeStats()).toMatchObject({ active: 2, queued: 3, saturated: true })
      for (const i of [1, 0, 2, 3, 4]) {
        yield* Deferred.succeed(gates[i]!, undefined)
        yield* Fiber.join(fibers[i]!)
      }
      expect(started).toEqual([0, 1, 2, 3, 4])
      expect(bulkhead.unsafeStats()).toMatchObject({ active: 0, queued: 0, admitted: 5, peakConcurrency: 2 })
    }))

  it.scoped("rejects at once with QueueFull when every slot is busy and the queue is full", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ name: "full", maxConcurrent: 1, queueSize: 1 })
      const gate = yield* Deferred.make<void>()
      yield* Effect.fork(bulkhead.execute(Deferred.await(gate)))
      yield* Effect.fork(bulkhead.execute(Deferred.await(gate)))
      yield* settle(() => seen(bulkhead) === 2)
      const error = yield* Effect.flip(bulkhead.execute(Effect.succeed("never runs")))
      expect(error).toBeInstanceOf(BulkheadRejectedError)
      expect(error).toMatchObject({ bulkhead: "full", reason: "QueueFull", maxConcurrent: 1, queueSize: 1 })
      expect(bulkhead.unsafeStats().rejected).toEqual({ QueueFull: 1, QueueTimeout: 0 })
    }))

  it.scoped("with no queue, rejects as soon as every slot is busy", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
      yield* Effect.fork(bulkhead.execute(Effect.never))
      yield* settle(() => bulkhead.unsafeStats().active === 1)
      const error = yield* Effect.flip(bulkhead.execute(Effect.void))
      expect(error.reason).toBe("QueueFull")
      expect(bulkhead.unsafeStats().saturated).toBe(true)
    }))

  it.scoped("fails a call that waits longer than timeout with QueueTimeout", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ name: "slow", maxConcurrent: 1, queueSize: 5, timeout: "1 second" })
      yield* Effect.fork(bulkhead.execute(Effect.never))
      yield* settle(() => bulkhead.unsafeStats().active === 1)
      const first = yield* Effect.fork(bulkhead.execute(Effect.succeed(1)))
      yield* settle(() => bulkhead.unsafeStats().queued === 1)
      yield* TestClock.adjust("400 millis")
      const second = yield* Effect.fork(bulkhead.execute(Effect.succeed(2)))
      yield* settle(() => bulkhead.unsafeStats().queued === 2)
      yield* TestClock.adjust("599 millis")
      expect(Option.isNone(yield* Fiber.poll(first))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(first))
      expect(error).toMatchObject({ _tag: "BulkheadRejectedError", reason: "QueueTimeout", bulkhead: "slow" })
      expect(bulkhead.unsafeStats().queued).toBe(1)
      yield* TestClock.adjust("399 millis")
      expect(Option.isNone(yield* Fiber.poll(second))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect((yield* Effect.flip(Fiber.join(second))).reason).toBe("QueueTimeout")
      expect(bulkhead.unsafeStats()).toMatchObject({ queued: 0, rejected: { QueueFull: 0, QueueTimeout: 2 } })
    }))

  it.scoped("lets calls wait without limit when timeout is infinite", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, queueSize: 1, timeout: Duration.infinity })
      const gate = yield* Deferred.make<void>()
      yield* Effect.fork(bulkhead.execute(Deferred.await(gate)))
      yield* settle(() => bulkhead.unsafeStats().active === 1)
      const waiting = yield* Effect.fork(bulkhead.execute(Effect.succeed("done")))
      yield* settle(() => bulkhead.unsafeStats().queued === 1)
      yield* TestClock.adjust("365 days")
      expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(waiting)).toBe("done")
    }))

  it.scoped("takes the queue timeout from the global defaultTimeout when none is given", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 }).pipe(
        Effect.provideService(IntegrationPatterns.GlobalConfig, {
          get: () => ({ ...IntegrationPatterns.defaultSettings, defaultTimeout: Duration.seconds(7) })
        })
      )
      expect(bulkhead.unsafeStats().timeout).toBe(7000)
    }))

  it.scoped("an interrupted waiter leaves the queue and never takes a slot", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, queueSize: 2 })
      const gate = yield* Deferred.make<void>()
      const runner = yield* Effect.fork(bulkhead.execute(Deferred.await(gate)))
      yield* settle(() => bulkhead.unsafeStats().active === 1)
      let ranInterrupted = false
      const waiter = yield* Effect.fork(bulkhead.execute(Effect.sync(() => (ranInterrupted = true))))
      yield* settle(() => bulkhead.unsafeStats().queued === 1)
      yield* Fiber.interrupt(waiter)
      expect(bulkhead.unsafeStats().queued).toBe(0)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(runner)
      expect(ranInterrupted).toBe(false)
      expect(bulkhead.unsafeStats().active).toBe(0)
    }))

  it.scoped("an interrupted running call gives its slot back (cockatiel #112)", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, queueSize: 1 })
      const running = yield* Effect.fork(bulkhead.execute(Effect.never))
      yield* settle(() => bulkhead.unsafeStats().active === 1)
      const next = yield* Effect.fork(bulkhead.execute(Effect.succeed("next")))
      yield* settle(() => bulkhead.unsafeStats().queued === 1)
      yield* Fiber.interrupt(running)
      expect(yield* Fiber.join(next)).toBe("next")
      expect(bulkhead.unsafeStats()).toMatchObject({ active: 0, queued: 0 })
    }))

  it.scoped("passes the slot on when a waiter is interrupted just as the slot is handed to it", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, queueSize: 2 })
      const gate = yield* Deferred.make<void>()
      const waiter: { fiber?: Fiber.RuntimeFiber<unknown, unknown> } = {}
      // The interruption is queued before the release hands the slot over, so it reaches
      // the waiter in the same instant as its slot.
      const interruptWaiter = Effect.sync(() => queueMicrotask(() => waiter.fiber!.unsafeInterruptAsFork(FiberId.none)))
      const running = yield* Effect.fork(bulkhead.execute(Effect.zipRight(Deferred.await(gate), interruptWaiter)))
      yield* settle(() => bulkhead.unsafeStats().active === 1)
      let ranInterrupted = false
      waiter.fiber = yield* Effect.fork(bulkhead.execute(Effect.sync(() => (ranInterrupted = true))))
      yield* settle(() => bulkhead.unsafeStats().queued === 1)
      const next = yield* Effect.fork(bulkhead.execute(Effect.succeed("next")))
      yield* settle(() => bulkhead.unsafeStats().queued === 2)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(running)
      expect(Exit.isInterrupted(yield* Fiber.await(waiter.fiber))).toBe(true)
      expect(yield* Fiber.join(next)).toBe("next")
      expect(ranInterrupted).toBe(false)
      expect(bulkhead.unsafeStats()).toMatchObject({ active: 0, queued: 0, admitted: 3 })
    }))

  it.scoped("gives the slot back when the call fails or dies, and keeps its error as it was", () =>
    Effect.gen(function*() {
      class Boom {
        readonly _tag = "Boom"
      }
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
      const failure: Boom | BulkheadRejectedError = yield* Effect.flip(bulkhead.execute(Effect.fail(new Boom())))
      expect(failure).toBeInstanceOf(Boom)
      const exit = yield* Effect.exit(bulkhead.execute(Effect.die("bug")))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die").toBe(true)
      expect(yield* bulkhead.execute(Effect.succeed(3))).toBe(3)
      expect(bulkhead.unsafeStats().active).toBe(0)
    }))

  it.scoped("a keyed bulkhead limits each key on its own and forgets idle keys", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.makeKeyed({ name: "tenants", maxConcurrent: 2, queueSize: 0 })
      yield* Effect.fork(bulkhead.execute("noisy", Effect.never))
      yield* Effect.fork(bulkhead.execute("noisy", Effect.never))
      yield* settle(() => bulkhead.unsafeStats().active === 2)
      const rejected = yield* Effect.flip(bulkhead.execute("noisy", Effect.void))
      expect(rejected.reason).toBe("QueueFull")
      expect(yield* Effect.succeed("ok").pipe(Bulkhead.withKeyedBulkhead(bulkhead, "quiet"))).toBe("ok")
      expect(bulkhead.keyStats("quiet")).toBeUndefined()
      expect(bulkhead.keyStats("noisy")).toEqual({ key: "noisy", active: 2, queued: 0, saturated: true })
      expect(yield* bulkhead.stats).toMatchObject({ keys: 1, saturatedKeys: 1, active: 2, peakConcurrency: 3 })
    }))

  it.scoped("reports a keyed bulkhead as degraded while one of its keys is saturated", () =>
    Effect.gen(function*() {
      const registry = new Registry()
      const bulkhead = yield* Bulkhead.makeKeyed({ name: "keyed-health", maxConcurrent: 1 }).pipe(
        Effect.provideService(IntegrationPatterns.PatternRegistry, registry)
      )
      const health = () => registry.list()[0]!.health()
      expect(health().status).toBe("healthy")
      const busy = yield* Effect.fork(bulkhead.execute("a", Effect.never))
      yield* settle(() => bulkhead.unsafeStats().active === 1)
      expect(health()).toEqual({ status: "degraded", reasons: ["1 of 1 key(s) have all 1 slots busy and no queue"] })
      yield* Fiber.interrupt(busy)
      expect(health().status).toBe("healthy")
      expect(bulkhead.unsafeStats().keys).toBe(0)
    }))

  it.scoped("a keyed bulkhead queues per key, first in, first out", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.makeKeyed({ maxConcurrent: 1, queueSize: 2 })
      const gate = yield* Deferred.make<void>()
      const started: Array<number> = []
      const fibers = []
      for (let i = 0; i < 3; i++) {
        fibers.push(yield* Effect.fork(bulkhead.execute("a", gated(gate, started, i))))
        yield* settle(() => bulkhead.unsafeStats().active + bulkhead.unsafeStats().queued === i + 1)
      }
      expect(bulkhead.keyStats("a")).toMatchObject({ active: 1, queued: 2 })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
      expect(started).toEqual([0, 1, 2])
      expect(bulkhead.unsafeStats()).toMatchObject({ keys: 0, active: 0, queued: 0 })
    }))

  it.scoped("is usable through withBulkhead, both data-first and in a pipe", () =>
    Effect.gen(function*() {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
      expect(yield* Bulkhead.withBulkhead(Effect.succeed(1), bulkhead)).toBe(1)
      expect(yield* Effect.succeed(2).pipe(Bulkhead.withBulkhead(bulkhead))).toBe(2)
    }))

  it.effect("rejects bad options with InvalidConfigError listing every problem", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Bulkhead.make({
        name: "",
        maxConcurrent: 0,
        queueSize: -1,
        timeout: "soon",
        maxConcurent: 3
      } as unknown as Bulkhead.Options)))
      expect(error).toBeInstanceOf(InvalidConfigError)
      expect(error.issues.map((issue) => issue.path)).toEqual(["maxConcurent", "name", "maxConcurrent", "queueSize", "timeout"])
      expect(error.message).toContain("maxConcurrent: expected an integer greater than 0, got 0")
      const zero = yield* Effect.flip(Effect.scoped(Bulkhead.makeKeyed({ maxConcurrent: 1.5, timeout: 0 })))
      expect(zero.issues.map((issue) => issue.path)).toEqual(["maxConcurrent", "timeout"])
    }))

  it.effect("builds from a layer and from Config", () =>
    Effect.gen(function*() {
      const fromOptions = yield* Bulkhead.stats.pipe(Effect.provide(Bulkhead.layer({ name: "l", maxConcurrent: 3 })))
      expect(fromOptions).toMatchObject({ name: "l", maxConcurrent: 3, queueSize: 0 })
      const config = Config.all({
        name: Config.string("NAME"),
        maxConcurrent: Config.integer("MAX"),
        queueSize: Config.integer("QUEUE"),
        timeout: Config.duration("TIMEOUT")
      })
      const fromConfig = yield* Bulkhead.stats.pipe(
        Effect.provide(Bulkhead.layerConfig(config)),
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["NAME", "env"], ["MAX", "4"], ["QUEUE", "8"], ["TIMEOUT", "2 seconds"]]))
        )
      )
      expect(fromConfig).toMatchObject({ name: "env", maxConcurrent: 4, queueSize: 8, timeout: 2000 })
      const keyed = yield* Effect.flatMap(Bulkhead.KeyedBulkhead, (b) => b.stats).pipe(
        Effect.provide(Bulkhead.layerKeyed({ maxConcurrent: 2 }))
      )
      expect(keyed).toMatchObject({ maxConcurrent: 2, keys: 0 })
      const bad = yield* Effect.flip(
        Bulkhead.stats.pipe(
          Effect.provide(Bulkhead.layerConfig(config)),
          Effect.withConfigProvider(
            ConfigProvider.fromMap(new Map([["NAME", "env"], ["MAX", "0"], ["QUEUE", "1"], ["TIMEOUT", "1 second"]]))
          )
        )
      )
      expect(bad._tag).toBe("InvalidConfigError")
    }))

  it.scoped("publishes queued and rejected events while someone listens", () =>
    Effect.gen(function*() {
      const bus = yield* PatternEvents.make()
      const events = yield* bus.subscribe
      const bulkhead = yield* Effect.provideService(
        Bulkhead.make({ name: "evented", maxConcurrent: 1, queueSize: 1, timeout: "1 second" }),
        PatternEvents.PatternEvents,
        bus
      )
      yield* Effect.fork(bulkhead.execute(Effect.never))
      yield* settle(() => bulkhead.unsafeStats().active === 1)
      const waiting = yield* Effect.fork(bulkhead.execute(Effect.void))
      yield* settle(() => bulkhead.unsafeStats().queued === 1)
      yield* Effect.flip(bulkhead.execute(Effect.void))
      yield* TestClock.adjust("1 second")
      yield* Effect.flip(Fiber.join(waiting))
      const received = Chunk.toReadonlyArray(yield* Queue.takeAll(events))
      expect(received).toEqual([
        { _tag: "BulkheadCallQueued", pattern: "Bulkhead", name: "evented", timestamp: 0, queued: 1 },
        { _tag: "BulkheadRejected", pattern: "Bulkhead", name: "evented", timestamp: 0, reason: "QueueFull", waited: 0 },
        {
          _tag: "BulkheadRejected",
          pattern: "Bulkhead",
          name: "evented",
          timestamp: 1000,
          reason: "QueueTimeout",
          waited: 1000
        }
      ])
    }))

  it.scoped("records active and queued gauges, queue wait and rejections by reason", () =>
    Effect.gen(function*() {
      const name = "metered"
      const base = [MetricLabel.make("pattern", "Bulkhead"), MetricLabel.make("name", name)]
      const gauge = (metric: Metric.Metric.Gauge<number>) =>
        Effect.map(Metric.value(Metric.taggedWithLabels(metric, base)), (state) => state.value)
      const bulkhead = yield* Bulkhead.make({ name, maxConcurrent: 1, queueSize: 1 })
      const gate = yield* Deferred.make<void>()
      const running = yield* Effect.fork(bulkhead.execute(Deferred.await(gate)))
      yield* settle(() => bulkhead.unsafeStats().active === 1)
      const waiting = yield* Effect.fork(bulkhead.execute(Effect.void))
      yield* settle(() => bulkhead.unsafeStats().queued === 1)
      expect([yield* gauge(Metrics.bulkheadActive), yield* gauge(Metrics.bulkheadQueued)]).toEqual([1, 1])
      yield* Effect.flip(bulkhead.execute(Effect.void))
      const rejected = yield* Metric.value(
        Metric.taggedWithLabels(Metrics.rejections, [...base, MetricLabel.make("reason", "queue_full")])
      )
      expect(rejected.count).toBe(1)
      yield* TestClock.adjust("250 millis")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(running)
      yield* Fiber.join(waiting)
      expect([yield* gauge(Metrics.bulkheadActive), yield* gauge(Metrics.bulkheadQueued)]).toEqual([0, 0])
      const wait = yield* Metric.value(Metric.taggedWithLabels(Metrics.bulkheadQueueWait, base))
      expect([wait.count, wait.sum]).toEqual([1, 0.25])
    }))

  it.scoped("reports a saturated bulkhead as degraded, and unregisters with its scope", () =>
    Effect.gen(function*() {
      const registry = new Registry()
      const health = () => registry.list().find((instance) => instance.name === "h")?.health()
      yield* Effect.gen(function*() {
        const bulkhead = yield* Bulkhead.make({ name: "h", maxConcurrent: 1, queueSize: 1 })
        expect(health()?.status).toBe("healthy")
        yield* Effect.fork(bulkhead.execute(Effect.never))
        yield* settle(() => bulkhead.unsafeStats().active === 1)
        expect(health()?.status).toBe("healthy")
        yield* Effect.fork(bulkhead.execute(Effect.never))
        yield* settle(() => bulkhead.unsafeStats().queued === 1)
        expect(health()).toEqual({ status: "degraded", reasons: ["all 1 slots are busy and 1 call(s) wait"] })
        expect(registry.list()[0]?.stats()).toMatchObject({ active: 1, queued: 1 })
      }).pipe(Effect.scoped, Effect.provideService(IntegrationPatterns.PatternRegistry, registry))
      expect(registry.list()).toEqual([])
    }))
})

// Random runs of fibers: each call is held by its own gate. The run forks the calls one
// at a time, then opens gates and interrupts fibers at random, and compares the bulkhead
// with a model that grants freed slots first in, first out.
const Step = fc.oneof(
  fc.record({ _tag: fc.constant("open" as const), pick: fc.nat() }),
  fc.record({ _tag: fc.constant("interrupt" as const), pick: fc.nat() })
)

type Status = "running" | "queued" | "rejected" | "done" | "interrupted"

class Model {
  readonly status: Array<Status> = []
  readonly open: Array<boolean> = []
  readonly starts: Array<number> = []
  constructor(readonly maxConcurrent: number, readonly queueSize: number) {}
  count(status: Status): number {
    return this.status.filter((s) => s === status).length
  }
  arrive(i: number): void {
    this.open[i] = false
    if (this.count("running") < this.maxConcurrent) this.start(i)
    else this.status[i] = this.count("queued") < this.queueSize ? "queued" : "rejected"
  }
  openGate(i: number): void {
    this.open[i] = true
    if (this.status[i] === "running") this.finish(i, "done")
  }
  interrupt(i: number): void {
    if (this.status[i] === "running") this.finish(i, "interrupted")
    else if (this.status[i] === "queued") this.status[i] = "interrupted"
  }
  private start(i: number): void {
    this.status[i] = "running"
    this.starts.push(i)
    if (this.open[i]) this.finish(i, "done")
  }
  private finish(i: number, status: Status): void {
    this.status[i] = status
    const next = this.status.indexOf("queued")
    if (next !== -1) this.start(next)
  }
}

describe("Bulkhead (properties)", () => {
  // fc.assert around Effect.runPromise rather than it.effect.prop: the latter builds a
  // fresh TestContext layer for every case, which is most of the cost of 1,000 cases.
  it("never runs more than maxConcurrent or queues more than queueSize, starts calls FIFO, and gets every slot back after random interruptions", () =>
    fc.assert(
      fc.asyncProperty(
        fc.record({
          maxConcurrent: fc.integer({ min: 1, max: 3 }),
          queueSize: fc.integer({ min: 0, max: 3 }),
          calls: fc.integer({ min: 1, max: 10 }),
          steps: fc.array(Step, { maxLength: 16 })
        }),
        ({ calls, maxConcurrent, queueSize, steps }) =>
          Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const bulkhead = yield* Bulkhead.make({ maxConcurrent, queueSize })
        const model = new Model(maxConcurrent, queueSize)
        let running = 0
        let maxRunning = 0
        const started: Array<number> = []
        const gates = yield* Effect.all(Array.from({ length: calls }, () => Deferred.make<void>()))
        const call = (i: number) =>
          Effect.acquireUseRelease(
            Effect.sync(() => {
              started.push(i)
              maxRunning = Math.max(maxRunning, ++running)
            }),
            () => Deferred.await(gates[i]!),
            () => Effect.sync(() => running--)
          )
        const matchesModel = () => {
          const s = bulkhead.unsafeStats()
          return s.active === model.count("running") && s.queued === model.count("queued") &&
            running === model.count("running") && started.length === model.starts.length
        }
        const fibers: Array<Fiber.RuntimeFiber<void, BulkheadRejectedError>> = []
        for (let i = 0; i < calls; i++) {
          model.arrive(i)
          fibers.push(yield* Effect.fork(bulkhead.execute(call(i))))
          yield* settle(() => matchesModel() && seen(bulkhead) === model.count("running") + model.count("queued") + model.count("rejected"))
        }
        for (const step of steps) {
          const live = model.status.flatMap((s, i) => (s === "running" || s === "queued" ? [i] : []))
          if (live.length === 0) break
          const i = live[step.pick % live.length]!
          if (step._tag === "open") {
            model.openGate(i)
            yield* Deferred.succeed(gates[i]!, undefined)
          } else {
            model.interrupt(i)
            yield* Fiber.interrupt(fibers[i]!)
          }
          yield* settle(matchesModel)
          expect(bulkhead.unsafeStats().active).toBeLessThanOrEqual(maxConcurrent)
          expect(bulkhead.unsafeStats().queued).toBeLessThanOrEqual(queueSize)
        }
        for (let i = 0; i < calls; i++) {
          model.openGate(i)
          yield* Deferred.succeed(gates[i]!, undefined)
        }
        yield* Effect.forEach(fibers, Fiber.await)
        expect(started).toEqual(model.starts)
        expect(maxRunning).toBeLessThanOrEqual(maxConcurrent)
        expect(running).toBe(0)
        expect(bulkhead.unsafeStats()).toMatchObject({ active: 0, queued: 0, peakConcurrency: maxRunning })
        // Every slot is free again: maxConcurrent new calls all start at once.
        const fresh = yield* Deferred.make<void>()
        const again = yield* Effect.forEach(
          Array.from({ length: maxConcurrent }),
          () => Effect.fork(bulkhead.execute(Deferred.await(fresh)))
        )
        yield* settle(() => bulkhead.unsafeStats().active === maxConcurrent)
        expect(bulkhead.unsafeStats().queued).toBe(0)
        yield* Deferred.succeed(fresh, undefined)
        yield* Fiber.joinAll(again)
      })))
      ),
      { numRuns: 1000 }
    ), 60_000)
})
