import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Saga, SagaStore } from "@integration-patterns/saga"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { median, round2, type Row, type Suite } from "../harness.js"

// Persisted steps per second in one process, against a SQLite file. Each saga has 10
// steps: 12 writes (started, 10 step outputs, finished), each one autocommitted.
// `baseline.store-append` is one store write per op with the same settings, so the
// overhead column is the engine's cost per step.
const stepsPerSaga = 10

const definition = Array.from({ length: stepsPerSaga }, (_, i) => `step-${i}`).reduce(
  (saga, name, i) =>
    saga.step(name, {
      output: Schema.Struct({ n: Schema.Number }),
      run: () => Effect.succeed({ n: i }),
      compensate: () => Effect.void
    }) as typeof saga,
  Saga.define("bench", { input: Schema.Struct({ orderId: Schema.String }) }) as Saga.SagaDefinition<
    { readonly orderId: string },
    any
  >
)

const now = (): number => Number(process.hrtime.bigint())

/** Warms up, then times rounds of `batch` runs; returns the median ns per step. */
const time = async (runBatch: (n: number) => Promise<void>, quick: boolean): Promise<number> => {
  if (quick) {
    const start = now()
    await runBatch(2)
    return (now() - start) / 2
  }
  let batch = 10
  let spent = 0
  let done = 0
  while (spent < 500e6) {
    const start = now()
    await runBatch(batch)
    spent += now() - start
    done += batch
    batch = Math.min(batch * 2, 2000)
  }
  const perRun = spent / done
  const n = Math.max(10, Math.round(1e9 / perRun))
  const samples: Array<number> = []
  for (let round = 0; round < 5; round++) {
    const start = now()
    await runBatch(n)
    samples.push((now() - start) / n)
  }
  return median(samples)
}

const row = (impl: string, nsPerStep: number, quick: boolean, note: string): Row => ({
  suite: "saga.sqlite",
  impl,
  nsPerOp: round2(nsPerStep),
  opsPerSec: Math.round(1e9 / nsPerStep),
  samples: quick ? 1 : 5,
  note
})

const sagaRow = async (dir: string, synchronous: "NORMAL" | "FULL", quick: boolean): Promise<Row> => {
  const runtime = ManagedRuntime.make(
    Saga.layer({ name: "bench", workerId: "bench" }).pipe(
      Layer.provide(SagaStore.layerSqlite({ filename: join(dir, `saga-${synchronous}.db`), synchronous }))
    )
  )
  try {
    const saga = await runtime.runPromise(Saga.Saga)
    const nsPerSaga = await time(
      (n) =>
        runtime.runPromise(Effect.gen(function*() {
          for (let i = 0; i < n; i++) yield* saga.execute(definition, { orderId: `o-${i}` })
        })),
      quick
    )
    return row(
      synchronous === "NORMAL" ? "integration-patterns" : "integration-patterns.synchronous-full",
      nsPerSaga / stepsPerSaga,
      quick,
      `WAL, synchronous=${synchronous}; ns per persisted step (${stepsPerSaga} steps, ${stepsPerSaga + 2} writes per saga)`
    )
  } finally {
    await runtime.dispose()
  }
}

const appendRow = async (dir: string, quick: boolean): Promise<Row> => {
  const runtime = ManagedRuntime.make(SagaStore.layerSqlite({ filename: join(dir, "append.db") }))
  try {
    const store = await runtime.runPromise(SagaStore.SagaStore)
    await runtime.runPromise(
      store.create({ id: "s", name: "bench", input: null, owner: "b", incarnation: "b", leaseUntil: 0, at: 0 })
    )
    let seq = 0
    const ns = await time(
      (n) =>
        runtime.runPromise(Effect.gen(function*() {
          for (let i = 0; i < n; i++) {
            yield* store.append("s", { seq: seq++, step: "step-0", kind: "completed", payload: { n: i }, at: 0 })
          }
        })),
      quick
    )
    return row("baseline.store-append", ns, quick, "WAL, synchronous=NORMAL; one store write")
  } finally {
    await runtime.dispose()
  }
}

const suites: ReadonlyArray<Suite> = [
  {
    name: "saga.sqlite",
    run: async (ctx) => {
      const dir = mkdtempSync(join(tmpdir(), "saga-bench-"))
      try {
        return [
          await appendRow(dir, ctx.quick),
          await sagaRow(dir, "NORMAL", ctx.quick),
          await sagaRow(dir, "FULL", ctx.quick)
        ]
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
]

export default suites
