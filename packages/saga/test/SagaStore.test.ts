import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { InvalidConfigError, PersistenceError } from "@integration-patterns/core/Errors"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Saga, SagaStore } from "../src/index.js"
import { storeContract } from "./storeContract.js"

const dir = mkdtempSync(join(tmpdir(), "saga-store-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const freshFile = () => join(dir, `store-${files++}.db`)

const raw = (filename: string) => SqliteClient.layer({ filename })

describe("SagaStore.layerMemory", () => {
  storeContract(() => SagaStore.layerMemory)
})

describe("SagaStore.layerSqlite", () => {
  storeContract(() => SagaStore.layerSqlite({ filename: freshFile() }))

  it.effect("keeps sagas in the file across layers, in WAL mode", () =>
    Effect.gen(function*() {
      const filename = freshFile()
      const saga = Saga.define("kept", { input: Schema.String }).step("a", {
        output: Schema.DateFromString,
        run: () => Effect.succeed(new Date(0))
      })
      const result = yield* Saga.execute(saga, "x").pipe(
        Effect.provide(Saga.layer({ workerId: "w" }).pipe(Layer.provide(SagaStore.layerSqlite({ filename }))))
      )
      expect(result.a).toEqual(new Date(0))
      const listed = yield* Effect.flatMap(SagaStore.SagaStore, (store) => store.list("completed", 10)).pipe(
        Effect.provide(SagaStore.layerSqlite({ filename }))
      )
      expect(listed.length).toBe(1)
      const record = yield* Effect.flatMap(SagaStore.SagaStore, (store) => store.get(listed[0]!.id)).pipe(
        Effect.provide(SagaStore.layerSqlite({ filename }))
      )
      expect(Option.getOrThrow(record).log[0]!.payload).toBe("1970-01-01T00:00:00.000Z")
      const mode = yield* Effect.flatMap(SqliteClient.SqliteClient, (sql) => sql`PRAGMA journal_mode`).pipe(
        Effect.provide(raw(filename))
      )
      expect(mode).toEqual([{ journal_mode: "wal" }])
    }))

  it.effect("gives a typed Decode error for a saga whose stored record is corrupt, and reads the others", () =>
    Effect.gen(function*() {
      const filename = freshFile()
      const layer = SagaStore.layerSqlite({ filename, tablePrefix: "orders" })
      yield* Effect.gen(function*() {
        const store = yield* SagaStore.SagaStore
        for (const id of ["good", "bad-json", "bad-kind"]) {
          yield* store.create({ id, name: "n", input: { id }, owner: "w", incarnation: "i", leaseUntil: 0, at: 1 })
          yield* store.append(id, { seq: 0, step: "s", kind: "completed", payload: 1, at: 1 })
        }
      }).pipe(Effect.provide(layer))
      yield* Effect.gen(function*() {
        const sql = yield* SqliteClient.SqliteClient
        yield* sql`UPDATE orders_log SET payload = '{not json' WHERE saga_id = 'bad-json'`
        yield* sql`UPDATE orders_log SET kind = 'exploded' WHERE saga_id = 'bad-kind'`
      }).pipe(Effect.provide(raw(filename)))
      const claimed = yield* Effect.flatMap(
        SagaStore.SagaStore,
        (store) => store.claim({ names: ["n"], owner: "w2", incarnation: "j", now: 10, leaseUntil: 20, limit: 10 })
      ).pipe(Effect.provide(layer))
      const byId = new Map(claimed.map((c) => [Either.isLeft(c) ? c.left.key : c.right.id, c]))
      expect(Either.isRight(byId.get("good")!)).toBe(true)
      for (const id of ["bad-json", "bad-kind"]) {
        const entry = byId.get(id)!
        expect(Either.isLeft(entry)).toBe(true)
        if (Either.isLeft(entry)) {
          expect(entry.left).toBeInstanceOf(PersistenceError)
          expect(entry.left).toMatchObject({ reason: "Decode", key: id, store: "SagaStore.sqlite" })
        }
      }
      const direct = yield* Effect.flip(Effect.flatMap(SagaStore.SagaStore, (store) => store.get("bad-json"))).pipe(
        Effect.provide(layer)
      )
      expect(direct).toMatchObject({ _tag: "PersistenceError", reason: "Decode", key: "bad-json" })
    }))

  it.effect("rejects bad options with InvalidConfigError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.provide(SagaStore.SagaStore, SagaStore.layerSqlite({ filename: "", synchronous: "OFF" as "FULL", tablePrefix: "x; DROP" }))
      )
      expect(error).toBeInstanceOf(InvalidConfigError)
      if (!(error instanceof InvalidConfigError)) return
      expect(error.issues.map((issue) => issue.path)).toEqual(["tablePrefix", "filename", "synchronous"])
    }))

  it.effect("fails with PersistenceError (Unavailable) when the file cannot be opened", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.provide(SagaStore.SagaStore, SagaStore.layerSqlite({ filename: join(dir, "missing-dir", "x.db") }))
      )
      expect(error).toBeInstanceOf(PersistenceError)
      expect(error).toMatchObject({ reason: "Unavailable" })
    }))
})
