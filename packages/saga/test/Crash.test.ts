import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { SagaStore } from "../src/index.js"
import { crashChain, killPoints } from "./crash/harness.js"

// Child processes run sagas persisted in SQLite and are killed with SIGKILL at every
// step boundary in turn, and in the middle of a step; after each kill, recovery runs
// in a new process (see crash/harness.ts).
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
  describe.sequential("compensating recovery (the default)", () => {
    const sqlite = join(dir, "compensate.db")
    crashChain({
      store: { sqlite },
      effects: join(dir, "compensate.effects"),
      recovery: "compensate",
      killPoints,
      statusOf: statusOf(sqlite)
    })
  })

  describe.sequential("forward recovery", () => {
    const sqlite = join(dir, "forward.db")
    crashChain({
      store: { sqlite },
      effects: join(dir, "forward.effects"),
      recovery: "forward",
      killPoints: ["after:s2", "during:s3"],
      statusOf: statusOf(sqlite)
    })
  })
})
