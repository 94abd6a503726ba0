import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { SagaStore } from "../src/index.js"
import { killChains, runChain } from "./crash/harness.js"

// The same crash test against PostgreSQL; each chain has tables of its own.
const dir = mkdtempSync(join(tmpdir(), "saga-crash-pg-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Integration tests fail, never skip, without their server.
const databaseUrl = (): string => {
  const url = process.env.DATABASE_URL
  if (url === undefined || url === "") {
    throw new Error("DATABASE_URL is not set: run `bash scripts/services.sh start && source .services/env`")
  }
  return url
}

const run = Date.now().toString(36)

const statusOf = (prefix: string) => (sagaId: string) =>
  Effect.runPromise(
    Effect.flatMap(SagaStore.SagaStore, (store) => store.get(sagaId)).pipe(
      Effect.map((found) => Option.getOrUndefined(Option.map(found, (record) => record.status))),
      Effect.provide(SagaStore.layerPg({ url: databaseUrl(), tablePrefix: prefix, maxConnections: 1 }))
    )
  )

describe.concurrent("crash recovery with PostgreSQL (kill -9)", () => {
  killChains.forEach((killPoints, i) => {
    it(`compensates every completed step exactly once, in reverse order, after a kill at ${killPoints.join(", ")}`, () => {
      const prefix = `crash_${run}_compensate_${i}`
      return runChain({
        store: { pg: databaseUrl(), prefix },
        effects: join(dir, `compensate-${i}.effects`),
        recovery: "compensate",
        killPoints,
        statusOf: statusOf(prefix)
      })
    }, 180_000)
  })

  it("resumes forward after a kill at after:s2 when the definition says so", () => {
    const prefix = `crash_${run}_forward`
    return runChain({
      store: { pg: databaseUrl(), prefix },
      effects: join(dir, "forward.effects"),
      recovery: "forward",
      killPoints: ["after:s2"],
      statusOf: statusOf(prefix)
    })
  }, 180_000)
})
