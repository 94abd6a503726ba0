import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { SagaStore } from "../src/index.js"
import { killChains, runChain } from "./crash/harness.js"

// Child processes run sagas persisted in SQLite and are killed with SIGKILL at every
// step boundary in turn, and in the middle of a step; after each kill, recovery runs
// in a new process (see crash/harness.ts). Chains run side by side, each with a
// database file of its own.
const dir = mkdtempSync(join(tmpdir(), "saga-crash-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const statusOf = (filename: string) => (sagaId: string) =>
  Effect.runPromise(
    Effect.flatMap(SagaStore.SagaStore, (store) => store.get(sagaId)).pipe(
      Effect.map((found) => Option.getOrUndefined(Option.map(found, (record) => record.status))),
      Effect.provide(SagaStore.layerSqlite({ filename }))
    )
  )

describe.concurrent("crash recovery with SQLite (kill -9)", () => {
  killChains.forEach((killPoints, i) => {
    it(`compensates every completed step exactly once, in reverse order, after a kill at ${killPoints.join(", ")}`, () => {
      const sqlite = join(dir, `compensate-${i}.db`)
      return runChain({
        store: { sqlite },
        effects: join(dir, `compensate-${i}.effects`),
        recovery: "compensate",
        killPoints,
        statusOf: statusOf(sqlite)
      })
    }, 180_000)
  })

  it("resumes forward after a kill at after:s2, during:s3 when the definition says so", () => {
    const sqlite = join(dir, "forward.db")
    return runChain({
      store: { sqlite },
      effects: join(dir, "forward.effects"),
      recovery: "forward",
      killPoints: ["after:s2", "during:s3"],
      statusOf: statusOf(sqlite)
    })
  }, 180_000)
})
