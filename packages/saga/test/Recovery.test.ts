import { describe, expect, it } from "@effect/vitest"
import { PersistenceError } from "@integration-patterns/core/Errors"
import * as IntegrationPatterns from "@integration-patterns/core/IntegrationPatterns"
import { Registry } from "@integration-patterns/core/internal/registry"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { Saga, SagaStore } from "../src/index.js"

const journal = () => {
  const entries: Array<string> = []
  return { entries, record: (entry: string) => Effect.sync(() => void entries.push(entry)) }
}
type Journal = ReturnType<typeof journal>

const Input = Schema.Struct({ orderId: Schema.String })

const booking = (log: Journal, recovery: Saga.Recovery = "compensate", failAt?: string) =>
  Saga.define("booking", { input: Input, recovery })
    .step("flight", {
      output: Schema.Struct({ seat: Schema.String, at: Schema.Date }),
      run: ({ idempotencyKey }) => Effect.as(log.record(`book flight ${idempotencyKey}`), { seat: "12A", at: new Date(0) }),
      compensate: ({ idempotencyKey, output }) =>
        log.record(`cancel flight ${output.seat} ${output.at.toISOString()} ${idempotencyKey}`)
    })
    .parallel({
      hotel: {
        output: Schema.Number,
        run: () => Effect.as(log.record("book hotel"), 7),
        compensate: ({ output, results }) => log.record(`cancel hotel ${output} after ${results.flight.seat}`)
      },
      car: {
        output: Schema.String,
        run: () => failAt === "car" ? Effect.fail("no cars") : Effect.as(log.record("book car"), "c-1"),
        compensate: ({ output }) => log.record(`cancel car ${output}`)
      }
    })
    .step("notify", {
      output: Schema.Void,
      run: ({ input, results }) => log.record(`notify ${input.orderId} ${results.hotel} ${results.car}`)
    })

/** Writes what a process that died mid-saga leaves in its store. */
const leaveBehind = (
  store: SagaStore.SagaStore,
  saga: {
    readonly id: string
    readonly name?: string
    readonly owner?: string
    readonly leaseUntil?: number
    readonly input?: unknown
    readonly log: ReadonlyArray<readonly [SagaStore.LogKind, string, unknown?]>
  }
) =>
  Effect.gen(function*() {
    yield* store.create({
      id: saga.id,
      name: saga.name ?? "booking",
      input: saga.input ?? { orderId: "o-1" },
      owner: saga.owner ?? "node-a",
      incarnation: "dead-process",
      leaseUntil: saga.leaseUntil ?? 30_000,
      at: 0
    })
    let seq = 0
    for (const [kind, step, payload] of saga.log) yield* store.append(saga.id, { seq: seq++, step, kind, payload, at: 0 })
  })

const flightOutput = { seat: "12A", at: "1970-01-01T00:00:00.000Z" }

const withStore = <A, E>(
  f: (store: SagaStore.SagaStore) => Effect.Effect<A, E, Saga.Saga>,
  options: Saga.Options = {},
  log: Journal = journal()
) =>
  Effect.gen(function*() {
    const store = SagaStore.makeMemory()
    return yield* f(store).pipe(
      Effect.provide(
        Saga.layer({
          workerId: "node-a",
          compensationRetry: Schedule.recurs(1),
          definitions: [booking(log), other],
          ...options
        })
      ),
      Effect.provideService(SagaStore.SagaStore, store)
    )
  })

const other = Saga.define("other", { input: Schema.Void }).step("x", { output: Schema.Void, run: () => Effect.void })

describe("Saga.recover", () => {
  it.effect("compensates a saga left running, in reverse order of completion, with decoded outputs and the same keys", () => {
    const log = journal()
    return withStore((store) =>
      Effect.gen(function*() {
        yield* leaveBehind(store, {
          id: "s1",
          log: [["completed", "flight", flightOutput], ["completed", "car", "c-9"], ["completed", "hotel", 7]]
        })
        const report = yield* Saga.recover
        expect(report).toEqual({
          recovered: [{ sagaId: "s1", saga: "booking", action: "compensated", outcome: "compensated" }],
          failed: []
        })
        expect(log.entries).toEqual([
          "cancel hotel 7 after 12A",
          "cancel car c-9",
          "cancel flight 12A 1970-01-01T00:00:00.000Z s1:flight"
        ])
        const record = Option.getOrThrow(yield* store.get("s1"))
        expect(record.status).toBe("compensated")
        expect(record.log.slice(3).map((e) => `${e.kind} ${e.step} ${e.seq}`)).toEqual([
          "compensated hotel 3",
          "compensated car 4",
          "compensated flight 5"
        ])
        expect(yield* Saga.recover).toEqual({ recovered: [], failed: [] })
        expect(log.entries.length).toBe(3)
      }), { definitions: [booking(log)] }, log)
  })

  it.effect("compensates nothing for a saga that only started, and still finishes it", () =>
    withStore((store) =>
      Effect.gen(function*() {
        yield* leaveBehind(store, { id: "s1", log: [] })
        const report = yield* Saga.recover
        expect(report.recovered).toEqual([{ sagaId: "s1", saga: "booking", action: "compensated", outcome: "compensated" }])
        expect(Option.getOrThrow(yield* store.get("s1")).status).toBe("compensated")
      })
    ))

  it.effect("resumes forward when the definition says so, with the stored outputs as results", () => {
    const log = journal()
    return withStore((store) =>
      Effect.gen(function*() {
        yield* leaveBehind(store, { id: "s1", log: [["completed", "flight", flightOutput], ["completed", "hotel", 7]] })
        const report = yield* Saga.recover
        expect(report.recovered).toEqual([{ sagaId: "s1", saga: "booking", action: "resumed", outcome: "completed" }])
        expect(log.entries).toEqual(["book car", "notify o-1 7 c-1"])
        expect(Option.getOrThrow(yield* store.get("s1")).status).toBe("completed")
      }), { definitions: [booking(log, "forward")] }, log)
  })

  it.effect("compensates restored and new steps in reverse order when a resumed step fails", () => {
    const log = journal()
    return withStore((store) =>
      Effect.gen(function*() {
        yield* leaveBehind(store, { id: "s1", log: [["completed", "flight", flightOutput]] })
        const report = yield* Saga.recover
        expect(report.recovered).toEqual([
          { sagaId: "s1", saga: "booking", action: "resumed", outcome: "compensated", error: "no cars" }
        ])
        expect(log.entries).toEqual([
          "book hotel",
          "cancel hotel 7 after 12A",
          "cancel flight 12A 1970-01-01T00:00:00.000Z s1:flight"
        ])
      }), { definitions: [booking(log, "forward", "car")] }, log)
  })

  it.effect("finishes compensating a saga that died while compensating, without compensating anything twice", () => {
    const log = journal()
    return withStore((store) =>
      Effect.gen(function*() {
        yield* leaveBehind(store, {
          id: "s1",
          log: [
            ["completed", "flight", flightOutput],
            ["completed", "hotel", 7],
            ["completed", "car", "c-1"],
            ["failed", "notify", "mail server down"],
            ["compensated", "car"]
          ]
        })
        yield* Saga.recover
        expect(log.entries).toEqual(["cancel hotel 7 after 12A", "cancel flight 12A 1970-01-01T00:00:00.000Z s1:flight"])
      }), { definitions: [booking(log, "forward")] }, log)
  })

  it.effect("reports an undecodable saga as PersistenceError, marks it as needing attention, and recovers the others", () => {
    const log = journal()
    const registry = new Registry()
    return withStore((store) =>
      Effect.gen(function*() {
        yield* leaveBehind(store, { id: "bad-input", input: { orderId: 42 }, log: [] })
        yield* leaveBehind(store, { id: "bad-output", log: [["completed", "flight", { seat: 1 }]] })
        yield* leaveBehind(store, { id: "bad-step", log: [["completed", "boat", null]] })
        yield* leaveBehind(store, { id: "good", log: [["completed", "flight", flightOutput]] })
        const report = yield* Saga.recover
        expect(report.recovered.map((r) => r.sagaId)).toEqual(["good"])
        expect(report.failed.map((e) => [e._tag, e.reason, e.key])).toEqual([
          ["PersistenceError", "Decode", "bad-input"],
          ["PersistenceError", "Decode", "bad-output"],
          ["PersistenceError", "Decode", "bad-step"]
        ])
        expect(report.failed[0]).toBeInstanceOf(PersistenceError)
        expect(report.failed[2]!.detail).toBe("the log names an unknown step \"boat\"")
        expect(log.entries).toEqual(["cancel flight 12A 1970-01-01T00:00:00.000Z good:flight"])
        const waiting = yield* Effect.flatMap(Saga.Saga, (saga) => saga.needsAttention())
        expect(waiting.map((s) => s.id)).toEqual(["bad-input", "bad-output", "bad-step"])
        expect(registry.list()[0]!.health().status).toBe("unhealthy")
        expect(yield* Saga.recover).toEqual({ recovered: [], failed: [] })
      }), { definitions: [booking(log)] }, log).pipe(Effect.provideService(IntegrationPatterns.PatternRegistry, registry))
  })

  it.effect("leaves the sagas of another live worker alone until their lease runs out", () => {
    const log = journal()
    return withStore((store) =>
      Effect.gen(function*() {
        yield* leaveBehind(store, { id: "s1", owner: "node-b", leaseUntil: 30_000, log: [] })
        expect((yield* Saga.recover).recovered).toEqual([])
        yield* TestClock.adjust("30 seconds")
        expect((yield* Saga.recover).recovered.map((r) => r.sagaId)).toEqual(["s1"])
      }), { definitions: [booking(log)] }, log)
  })

  it.effect("leaves sagas of definitions it does not know, and sagas this process is running", () => {
    const log = journal()
    return withStore((store) =>
      Effect.gen(function*() {
        yield* leaveBehind(store, { id: "unknown", name: "not-registered", log: [] })
        const slow = Saga.define("booking", { input: Input }).step("flight", {
          output: Schema.Void,
          run: () => Effect.sleep("1 minute")
        })
        const fiber = yield* Effect.fork(Saga.execute(slow, { orderId: "o-2" }))
        yield* TestClock.adjust("1 second")
        expect(yield* Saga.recover).toEqual({ recovered: [], failed: [] })
        const stats = yield* Effect.flatMap(Saga.Saga, (saga) => saga.stats)
        expect(stats.running).toBe(1)
        yield* TestClock.adjust("1 minute")
        yield* Fiber.join(fiber)
        expect(Option.getOrThrow(yield* store.get("unknown")).status).toBe("running")
      }), { definitions: [booking(log)] }, log)
  })

  it.effect("recovers in the background every recoveryInterval when asked to", () => {
    const log = journal()
    return withStore((store) =>
      Effect.gen(function*() {
        yield* leaveBehind(store, { id: "s1", owner: "node-b", leaseUntil: 30_000, log: [["completed", "flight", flightOutput]] })
        yield* TestClock.adjust("59 seconds")
        expect(log.entries).toEqual([])
        yield* TestClock.adjust("1 second")
        expect(log.entries).toEqual(["cancel flight 12A 1970-01-01T00:00:00.000Z s1:flight"])
        expect(Option.getOrThrow(yield* store.get("s1")).status).toBe("compensated")
        const stats = yield* Effect.flatMap(Saga.Saga, (saga) => saga.stats)
        expect(stats.recovered).toBe(1)
      }), { definitions: [booking(log)], recoveryInterval: "1 minute" }, log)
  })

  it.effect("registers definitions at runtime, with the services they need", () => {
    const log = journal()
    class Mailer extends Effect.Tag("Mailer")<Mailer, { readonly send: (to: string) => Effect.Effect<void> }>() {}
    const mailing = Saga.define("mailing", { input: Schema.String }).step("send", {
      output: Schema.Void,
      run: ({ input }) => Mailer.send(input),
      compensate: ({ input }) => Mailer.send(`sorry ${input}`)
    })
    return withStore((store) =>
      Effect.gen(function*() {
        const saga = yield* Saga.Saga
        yield* saga.register(mailing).pipe(
          Effect.provideService(Mailer, { send: (to) => log.record(`mail ${to}`) })
        )
        yield* leaveBehind(store, { id: "m1", name: "mailing", input: "ann", log: [["completed", "send", null]] })
        yield* Saga.recover
        expect(log.entries).toEqual(["mail sorry ann"])
      }), { definitions: [] }, log)
  })

  it.effect("builds the service from Config with layerConfig", () =>
    Effect.gen(function*() {
      const { Config } = yield* Effect.promise(() => import("effect"))
      const stats = yield* Effect.flatMap(Saga.Saga, (saga) => saga.stats).pipe(
        Effect.provide(
          Saga.layerConfig(Config.map(Config.string("SAGA_WORKER"), (workerId) => ({ workerId, name: "configured" })))
            .pipe(Layer.provide(SagaStore.layerMemory))
        ),
        Effect.withConfigProvider((yield* Effect.promise(() => import("effect/ConfigProvider"))).fromMap(
          new Map([["SAGA_WORKER", "node-z"]])
        ))
      )
      expect(stats).toMatchObject({ name: "configured", workerId: "node-z" })
    }))
})
