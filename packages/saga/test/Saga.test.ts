import { describe, expect, it } from "@effect/vitest"
import {
  InvalidConfigError,
  PersistenceError,
  SagaCompensationError,
  SagaStepError
} from "@integration-patterns/core/Errors"
import * as IntegrationPatterns from "@integration-patterns/core/IntegrationPatterns"
import { Registry } from "@integration-patterns/core/internal/registry"
import { sagaCompensations, sagaExecutions } from "@integration-patterns/core/Metrics"
import * as PatternEvents from "@integration-patterns/core/PatternEvents"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { Saga, SagaStore } from "../src/index.js"

const Input = Schema.Struct({ productId: Schema.String })

const journal = () => {
  const entries: Array<string> = []
  return { entries, record: (entry: string) => Effect.sync(() => void entries.push(entry)) }
}
type Journal = ReturnType<typeof journal>

const order = (log: Journal, failAt?: string, name = "order") =>
  Saga.define(name, { input: Input })
    .step("reserve", {
      output: Schema.Struct({ reservationId: Schema.String }),
      run: ({ input }) => Effect.as(log.record(`reserve ${input.productId}`), { reservationId: `r-${input.productId}` }),
      compensate: ({ output }) => log.record(`release ${output.reservationId}`)
    })
    .step("charge", {
      output: Schema.Number,
      run: ({ results }) =>
        failAt === "charge"
          ? Effect.fail(new Error("card declined"))
          : Effect.as(log.record(`charge for ${results.reserve.reservationId}`), 42),
      compensate: ({ output }) => log.record(`refund ${output}`)
    })
    .step("ship", {
      output: Schema.String,
      run: ({ results }) =>
        failAt === "ship" ? Effect.fail("no courier" as const) : Effect.as(log.record(`ship ${results.charge}`), "s-1")
    })

const testLayer = (options: Saga.Options = {}) =>
  Saga.layer({ name: "test", compensationRetry: Schedule.recurs(2), workerId: "w1", ...options }).pipe(
    Layer.provideMerge(SagaStore.layerMemory)
  )

const statusOf = (sagaId: string) =>
  Effect.flatMap(SagaStore.SagaStore, (store) => store.get(sagaId)).pipe(
    Effect.map(Option.map((record) => record.status)),
    Effect.map(Option.getOrUndefined)
  )

describe("Saga", () => {
  it.effect("returns the outputs of every step, by name, and compensates nothing on success", () =>
    Effect.gen(function*() {
      const log = journal()
      const result = yield* order(log).pipe(Saga.execute({ productId: "123" }))
      expect(result).toEqual({ reserve: { reservationId: "r-123" }, charge: 42, ship: "s-1" })
      expect(log.entries).toEqual(["reserve 123", "charge for r-123", "ship 42"])
      const stats = yield* Effect.flatMap(Saga.Saga, (saga) => saga.stats)
      expect(stats).toMatchObject({ started: 1, completed: 1, compensated: 0, running: 0 })
    }).pipe(Effect.provide(testLayer())))

  it.effect("compensates completed steps in reverse order and fails with SagaStepError naming the step", () =>
    Effect.gen(function*() {
      const log = journal()
      const error = yield* Effect.flip(Saga.execute(order(log, "ship"), { productId: "9" }))
      expect(error).toBeInstanceOf(SagaStepError)
      if (!(error instanceof SagaStepError)) return
      expect(error.step).toBe("ship")
      const cause: Error | "no courier" = error.cause
      expect(cause).toBe("no courier")
      expect(error.compensated).toEqual(["charge", "reserve"])
      expect(error.message).toContain("failed at step \"ship\"")
      expect(error.message).toContain("compensation completed for [charge, reserve]")
      expect(log.entries).toEqual(["reserve 9", "charge for r-9", "refund 42", "release r-9"])
      const store = yield* SagaStore.SagaStore
      const record = Option.getOrThrow(yield* store.get(error.sagaId))
      expect(record.status).toBe("compensated")
      expect(record.log.map((e) => `${e.kind} ${e.step}`)).toEqual([
        "completed reserve",
        "completed charge",
        "failed ship",
        "compensated charge",
        "compensated reserve"
      ])
      expect(record.log[0]!.payload).toEqual({ reservationId: "r-9" })
    }).pipe(Effect.provide(testLayer())))

  it.effect("does not compensate the step that failed, nor the steps after it", () =>
    Effect.gen(function*() {
      const log = journal()
      const error = yield* Effect.flip(Saga.execute(order(log, "charge"), { productId: "1" }))
      expect(error).toMatchObject({ _tag: "SagaStepError", step: "charge", compensated: ["reserve"] })
      expect(log.entries).toEqual(["reserve 1", "release r-1"])
    }).pipe(Effect.provide(testLayer())))

  it.effect("passes the same idempotency key, saga id + step name, to an action and its compensation", () =>
    Effect.gen(function*() {
      const keys: Array<string> = []
      const saga = Saga.define("keys", { input: Schema.Void })
        .step("a", {
          output: Schema.Void,
          run: ({ idempotencyKey }) => Effect.sync(() => void keys.push(`run ${idempotencyKey}`)),
          compensate: ({ idempotencyKey }) => Effect.sync(() => void keys.push(`undo ${idempotencyKey}`))
        })
        .step("b", { output: Schema.Void, run: () => Effect.fail("stop") })
      const error = yield* Effect.flip(Saga.execute(saga, undefined))
      if (error._tag !== "SagaStepError") throw error
      expect(keys).toEqual([`run ${error.sagaId}:a`, `undo ${error.sagaId}:a`])
    }).pipe(Effect.provide(testLayer())))

  it.effect("retries a failing compensation on the schedule, driven by TestClock", () =>
    Effect.gen(function*() {
      let attempts = 0
      const saga = Saga.define("retrying", { input: Schema.Void })
        .step("a", {
          output: Schema.Void,
          run: () => Effect.void,
          compensate: () =>
            Effect.suspend(() => ++attempts < 3 ? Effect.fail(new Error(`attempt ${attempts}`)) : Effect.void)
        })
        .step("b", { output: Schema.Void, run: () => Effect.fail("stop") })
      const fiber = yield* Effect.fork(Effect.flip(Saga.execute(saga, undefined)))
      yield* TestClock.adjust("999 millis")
      expect(attempts).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(attempts).toBe(2)
      yield* TestClock.adjust("1999 millis")
      expect(attempts).toBe(2)
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      expect(attempts).toBe(3)
      expect(error).toMatchObject({ _tag: "SagaStepError", compensated: ["a"] })
    }).pipe(Effect.provide(testLayer({ compensationRetry: Schedule.exponential("1 second") }))))

  it.effect("ends as SagaCompensationError and needs attention when a compensation keeps failing", () =>
    Effect.gen(function*() {
      const log = journal()
      const registry = new Registry()
      const saga = Saga.define("stuck", { input: Schema.Void })
        .step("a", { output: Schema.Void, run: () => log.record("a"), compensate: () => log.record("undo a") })
        .step("b", {
          output: Schema.Void,
          run: () => log.record("b"),
          compensate: () => Effect.zipRight(log.record("undo b attempt"), Effect.fail(new Error("refund service down")))
        })
        .step("c", { output: Schema.Void, run: () => log.record("c"), compensate: () => log.record("undo c") })
        .step("d", { output: Schema.Void, run: () => Effect.fail("boom") })
      const program = Effect.gen(function*() {
        const service = yield* Saga.Saga
        const fiber = yield* Effect.fork(Effect.flip(service.execute(saga, undefined)))
        yield* TestClock.adjust("10 seconds")
        const error = yield* Fiber.join(fiber)
        expect(error).toBeInstanceOf(SagaCompensationError)
        if (!(error instanceof SagaCompensationError)) return
        expect(error.failedStep).toBe("d")
        expect(error.compensated).toEqual(["c"])
        expect(error.notCompensated).toEqual(["b", "a"])
        expect((error.cause as Error).message).toBe("refund service down")
        expect(error.message).toContain("needs attention")
        // Three attempts: the first and two retries (Schedule.recurs(2)); "a" is left alone.
        expect(log.entries).toEqual(["a", "b", "c", "undo c", "undo b attempt", "undo b attempt", "undo b attempt"])
        expect(yield* statusOf(error.sagaId)).toBe("needs_attention")
        const [health] = registry.list().map((instance) => instance.health())
        expect(health).toEqual({ status: "unhealthy", reasons: ["1 saga(s) need attention"] })
        const waiting = yield* service.needsAttention()
        expect(waiting.map((s) => s.id)).toEqual([error.sagaId])
        expect(yield* service.resolve(error.sagaId, "refunded by hand")).toBe(true)
        expect(yield* service.resolve(error.sagaId)).toBe(false)
        expect(yield* statusOf(error.sagaId)).toBe("resolved")
        expect(registry.list()[0]!.health().status).toBe("healthy")
      })
      yield* program.pipe(
        Effect.provide(testLayer()),
        Effect.provideService(IntegrationPatterns.PatternRegistry, registry)
      )
    }))

  it.effect("compensates completed steps, exactly once, when the saga is interrupted mid-step", () =>
    Effect.gen(function*() {
      const log = journal()
      const saga = Saga.define("interrupted", { input: Schema.Void })
        .step("a", { output: Schema.Void, run: () => log.record("a"), compensate: () => log.record("undo a") })
        .step("b", {
          output: Schema.Void,
          run: () => Effect.zipRight(Effect.sleep("1 minute"), log.record("b")),
          compensate: () => log.record("undo b")
        })
      const service = yield* Saga.Saga
      const fiber = yield* Effect.fork(service.execute(saga, undefined))
      yield* TestClock.adjust("10 seconds")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(log.entries).toEqual(["a", "undo a"])
      const stats = yield* service.stats
      expect(stats).toMatchObject({ compensated: 1, running: 0 })
    }).pipe(Effect.provide(testLayer())))

  it.effect("a step that dies is compensated for, and the defect stays a defect", () =>
    Effect.gen(function*() {
      const log = journal()
      const saga = Saga.define("dies", { input: Schema.Void })
        .step("a", { output: Schema.Void, run: () => log.record("a"), compensate: () => log.record("undo a") })
        .step("b", { output: Schema.Void, run: () => Effect.dieMessage("bug") })
      const exit = yield* Effect.exit(Saga.execute(saga, undefined))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die").toBe(true)
      expect(log.entries).toEqual(["a", "undo a"])
    }).pipe(Effect.provide(testLayer())))

  it.effect("runs a parallel group concurrently and compensates the completed members when one fails", () =>
    Effect.gen(function*() {
      const log = journal()
      const saga = Saga.define("fan-out", { input: Schema.Void })
        .step("first", { output: Schema.Number, run: () => Effect.as(log.record("first"), 1), compensate: () => log.record("undo first") })
        .parallel({
          slow: {
            output: Schema.String,
            run: ({ results }) => Effect.as(Effect.zipRight(Effect.sleep("3 seconds"), log.record("slow")), `s${results.first}`),
            compensate: ({ output }) => log.record(`undo slow ${output}`)
          },
          fast: {
            output: Schema.Boolean,
            run: () => Effect.as(Effect.zipRight(Effect.sleep("1 second"), log.record("fast")), true),
            compensate: ({ output }) => log.record(`undo fast ${output}`)
          },
          failing: {
            output: Schema.Void,
            run: () => Effect.zipRight(Effect.sleep("2 seconds"), Effect.fail("declined"))
          }
        })
        .step("never", { output: Schema.Void, run: () => log.record("never") })
      const fiber = yield* Effect.fork(Effect.flip(Saga.execute(saga, undefined)))
      yield* TestClock.adjust("2 seconds")
      // The failure does not cut the slow sibling off: it finishes, then is compensated.
      expect(log.entries).toEqual(["first", "fast"])
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "SagaStepError", step: "failing", compensated: ["slow", "fast", "first"] })
      expect(log.entries).toEqual(["first", "fast", "slow", "undo slow s1", "undo fast true", "undo first"])
    }).pipe(Effect.provide(testLayer())))

  it.effect("gives later steps the typed outputs of a parallel group", () =>
    Effect.gen(function*() {
      const saga = Saga.define("typed", { input: Schema.Number })
        .parallel({
          double: { output: Schema.Number, run: ({ input }) => Effect.succeed(input * 2) },
          text: { output: Schema.String, run: ({ input }) => Effect.succeed(`n=${input}`) }
        })
        .step("sum", {
          output: Schema.String,
          run: ({ results }) => Effect.succeed(`${results.text}:${results.double.toFixed(1)}`)
        })
      const result = yield* Saga.execute(saga, 21)
      expect(result).toEqual({ double: 42, text: "n=21", sum: "n=21:42.0" })
    }).pipe(Effect.provide(testLayer())))

  it.effect("publishes SagaStarted, StepCompleted, StepFailed, CompensationRan and SagaFinished in order", () =>
    Effect.gen(function*() {
      const bus = yield* PatternEvents.PatternEvents
      const seen: Array<string> = []
      const stop = bus.listen((event) => {
        if (event.pattern === "Saga") seen.push(`${event._tag}${"step" in event ? ` ${event.step}` : ""}`)
      })
      yield* Effect.flip(Saga.execute(order(journal(), "ship"), { productId: "1" }))
      stop()
      expect(seen).toEqual([
        "SagaStarted",
        "StepCompleted reserve",
        "StepCompleted charge",
        "StepFailed ship",
        "CompensationRan charge",
        "CompensationRan reserve",
        "SagaFinished"
      ])
    }).pipe(Effect.provide(testLayer()), Effect.provide(PatternEvents.layer())))

  it.effect("counts executions and compensations in the saga metrics, tagged with the saga's name", () =>
    Effect.gen(function*() {
      const tags = (outcome: string) => [
        MetricLabel.make("pattern", "Saga"),
        MetricLabel.make("name", "metered"),
        MetricLabel.make("outcome", outcome)
      ]
      const count = (metric: Metric.Metric.Counter<number>, outcome: string) =>
        Effect.map(Metric.value(Metric.taggedWithLabels(metric, tags(outcome))), (state) => state.count)
      const before = yield* count(sagaExecutions, "compensated")
      const compensationsBefore = yield* count(sagaCompensations, "success")
      yield* Effect.flip(Saga.execute(order(journal(), "ship", "metered"), { productId: "1" }))
      yield* Saga.execute(order(journal(), undefined, "metered"), { productId: "2" })
      expect((yield* count(sagaExecutions, "compensated")) - before).toBe(1)
      expect((yield* count(sagaCompensations, "success")) - compensationsBefore).toBe(2)
      expect(yield* count(sagaExecutions, "completed")).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("fails with PersistenceError, after compensating, when the store cannot record a step", () =>
    Effect.gen(function*() {
      const log = journal()
      const memory = SagaStore.makeMemory()
      const broken: SagaStore.SagaStore = {
        ...memory,
        append: (sagaId, entry) =>
          entry.step === "charge" && entry.kind === "completed"
            ? Effect.fail(new PersistenceError({ store: "test", reason: "Unavailable", detail: "disk full" }))
            : memory.append(sagaId, entry)
      }
      const error = yield* Effect.flip(Saga.execute(order(log), { productId: "5" })).pipe(
        Effect.provide(Saga.layer({ workerId: "w1" })),
        Effect.provideService(SagaStore.SagaStore, broken)
      )
      expect(error).toBeInstanceOf(PersistenceError)
      expect(log.entries).toEqual(["reserve 5", "charge for r-5", "refund 42", "release r-5"])
    }))

  describe("definitions", () => {
    it.effect("rejects duplicate step names with InvalidConfigError", () =>
      Effect.gen(function*() {
        const saga = Saga.define("dup", { input: Schema.Void })
          .step("a", { output: Schema.Void, run: () => Effect.void })
          .parallel({
            a: { output: Schema.Void, run: () => Effect.void },
            b: { output: Schema.Void, run: () => Effect.void }
          })
          .step("b", { output: Schema.Void, run: () => Effect.void })
        const error = yield* Effect.flip(Saga.execute(saga, undefined))
        expect(error).toBeInstanceOf(InvalidConfigError)
        expect(error.message).toBe(
          "Invalid Saga options (2 problems):\n  - steps.a: duplicate step name \"a\"\n  - steps.b: duplicate step name \"b\""
        )
      }).pipe(Effect.provide(testLayer())))

    it.effect("rejects a step without an output Schema, a bad name and an empty saga", () =>
      Effect.gen(function*() {
        const noSchema = Saga.define("x", { input: Schema.Void }).step("a", {
          output: "string" as unknown as Schema.Schema<string>,
          run: () => Effect.succeed("a")
        })
        expect((yield* Effect.flip(Saga.validate(noSchema))).issues).toEqual([
          { path: "steps.a.output", message: "expected a Schema" }
        ])
        const badName = Saga.define("", { input: Schema.Void, recovery: "sideways" as "forward" })
        expect((yield* Effect.flip(Saga.validate(badName))).issues).toEqual([
          { path: "name", message: "expected a non-empty name" },
          { path: "recovery", message: "Expected \"compensate\" | \"forward\", actual \"sideways\"" }
        ])
        const empty = Saga.define("empty", { input: Schema.Void })
        expect((yield* Effect.flip(Saga.validate(empty))).issues).toEqual([
          { path: "steps", message: "saga \"empty\" has no steps" }
        ])
      }))

    it.effect("rejects bad service options, listing every problem", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          Effect.scoped(Saga.make({ name: "", leaseDuration: -1, recoveryConcurrency: 0, compensationRetry: 3 as never }))
        ).pipe(Effect.provide(SagaStore.layerMemory))
        expect(error).toBeInstanceOf(InvalidConfigError)
        if (!(error instanceof InvalidConfigError)) return
        expect(error.issues.map((issue) => issue.path)).toEqual([
          "name",
          "compensationRetry",
          "leaseDuration",
          "recoveryConcurrency"
        ])
      }))

    it.effect("rejects registering an invalid definition", () =>
      Effect.gen(function*() {
        const service = yield* Saga.Saga
        const bad = Saga.define("bad", { input: Schema.Void })
          .step("a", { output: Schema.Void, run: () => Effect.void })
          .step("a", { output: Schema.Void, run: () => Effect.void })
        const error = yield* Effect.flip(service.register(bad))
        expect(error.issues).toEqual([{ path: "steps.a", message: "duplicate step name \"a\"" }])
      }).pipe(Effect.provide(testLayer())))
  })

  describe("lease", () => {
    it.effect("renews the lease of a running saga in the background", () =>
      Effect.gen(function*() {
        const saga = Saga.define("long", { input: Schema.Void }).step("wait", {
          output: Schema.Void,
          run: () => Effect.sleep("2 minutes")
        })
        const store = yield* SagaStore.SagaStore
        const fiber = yield* Effect.fork(Saga.execute(saga, undefined))
        yield* TestClock.adjust("1 minute")
        const [running] = yield* store.list("running", 10)
        expect(running!.leaseUntil).toBeGreaterThanOrEqual(Duration.toMillis("1 minute") + Duration.toMillis("20 seconds"))
        yield* TestClock.adjust("1 minute")
        yield* Fiber.join(fiber)
      }).pipe(Effect.provide(testLayer({ leaseDuration: "30 seconds" }))))
  })
})
