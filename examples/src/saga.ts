// A saga with the Effect API, persisted in SQLite: reserve stock, then charge the card
// and book the courier concurrently. Run: node --conditions=source --import tsx examples/src/saga.ts
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { Saga, SagaStore } from "@integration-patterns/saga"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

class PaymentDeclined extends Schema.TaggedError<PaymentDeclined>()("PaymentDeclined", { amount: Schema.Number }) {}

const placeOrder = Saga.define("place-order", {
  input: Schema.Struct({ productId: Schema.String, amount: Schema.Number })
})
  .step("reserve-inventory", {
    output: Schema.Struct({ reservationId: Schema.String }),
    run: ({ idempotencyKey, input }) =>
      Effect.as(Effect.log(`reserve ${input.productId} (key ${idempotencyKey})`), { reservationId: `r-${input.productId}` }),
    compensate: ({ output }) => Effect.log(`release ${output.reservationId}`)
  })
  .parallel({
    "charge-card": {
      output: Schema.Struct({ chargeId: Schema.String }),
      run: ({ input }) =>
        input.amount > 100
          ? Effect.fail(new PaymentDeclined({ amount: input.amount }))
          : Effect.as(Effect.log(`charge ${input.amount}`), { chargeId: "c-1" }),
      compensate: ({ output }) => Effect.log(`refund ${output.chargeId}`)
    },
    "book-courier": {
      output: Schema.String,
      run: ({ results }) =>
        Effect.as(Effect.log(`book courier for ${results["reserve-inventory"].reservationId}`), "courier-7"),
      compensate: ({ output }) => Effect.log(`cancel ${output}`)
    }
  })

const program = Effect.gen(function*() {
  // At start-up: finish the sagas a crashed process left running.
  const report = yield* Saga.recover
  yield* Effect.log(`recovered ${report.recovered.length} saga(s)`)

  const done = yield* Saga.execute(placeOrder, { productId: "123", amount: 40 })
  yield* Effect.log(`order placed: charge ${done["charge-card"].chargeId}, courier ${done["book-courier"]}`)

  const failed = yield* Effect.flip(Saga.execute(placeOrder, { productId: "456", amount: 500 }))
  if (failed._tag === "SagaStepError") {
    yield* Effect.log(`${failed.step} failed (${failed.cause._tag}); compensated [${failed.compensated.join(", ")}]`)
  }
})

export const main = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), "saga-example-"))
  try {
    const SagaLive = Saga.layer({ name: "orders", definitions: [placeOrder] }).pipe(
      Layer.provide(SagaStore.layerSqlite({ filename: join(dir, "sagas.db") }))
    )
    await Effect.runPromise(Effect.provide(program, SagaLive))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
