import { describe, expect, it } from "@effect/vitest"
import { InvalidConfigError, PersistenceError, SagaCompensationError, SagaStepError } from "@integration-patterns/core/Errors"
import * as IntegrationPatterns from "@integration-patterns/core/IntegrationPatterns"
import * as PatternEvents from "@integration-patterns/core/PatternEvents"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { Saga, SagaStore } from "../src/index.js"

const Input = Schema.Struct({ productId: Schema.String })

const journal = () => {
  const entries: Array<string> = []
  return {
    entries,
    record: (entry: string) => Effect.sync(() => void entries.push(entry))
  }
}

const order = (log: ReturnType<typeof journal>, failAt?: string) =>
  Saga.define("order", { input: Input })
    .step("reserve", {
      output: Schema.Struct({ reservationId: Schema.String }),
      run: ({ input, idempotencyKey }) =>
        Effect.as(log.record(`reserve ${input.productId} ${idempotencyKey.endsWith(":reserve")}`), {
          reservationId: `r-${input.productId}`
        }),
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

const TestLayer = Saga.layer({ name: "test", compensationRetry: Schedule.recurs(2) }).pipe(
  Layer.provideMerge(SagaStore.layerMemory)
)

describe("Saga", () => {
  it.effect("returns the outputs of every step and compensates nothing on success", () =>
    Effect.gen(function*() {
      const log = journal()
      const result = yield* Saga.execute(order(log), { productId: "123" })
      expect(result).toEqual({ reserve: { reservationId: "r-123" }, charge: 42, ship: "s-1" })
      expect(log.entries).toEqual(["reserve 123 true", "charge for r-123", "ship 42"])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("compensates completed steps in reverse order and fails with SagaStepError", () =>
    Effect.gen(function*() {
      const log = journal()
      const error = yield* Effect.flip(Saga.execute(order(log, "ship"), { productId: "9" }))
      expect(error).toBeInstanceOf(SagaStepError)
      expect(error._tag).toBe("SagaStepError")
      if (error._tag !== "SagaStepError") return
      expect(error.step).toBe("ship")
      expect(error.cause).toBe("no courier")
      expect(error.compensated).toEqual(["charge", "reserve"])
      expect(log.entries).toEqual(["reserve 9 true", "charge for r-9", "ship 42".replace("ship 42", "refund 42"), "release r-9"])
      const store = yield* SagaStore.SagaStore
      const record = yield* store.get(error.sagaId)
      expect(record._tag).toBe("Some")
      if (record._tag === "Some") {
        expect(record.value.status).toBe("compensated")
        expect(record.value.log.map((e) => `${e.kind} ${e.step}`)).toEqual([
          "completed reserve",
          "completed charge",
          "failed ship",
          "compensated charge",
          "compensated reserve"
        ])
      }
    }).pipe(Effect.provide(TestLayer)))
})
