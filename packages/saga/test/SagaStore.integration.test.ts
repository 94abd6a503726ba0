import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Saga, SagaStore } from "../src/index.js"
import { storeContract } from "./storeContract.js"

// Integration tests fail, never skip, without their server.
const databaseUrl = (): string => {
  const url = process.env.DATABASE_URL
  if (url === undefined || url === "") {
    throw new Error("DATABASE_URL is not set: run `bash scripts/services.sh start && source .services/env`")
  }
  return url
}

const uniquePrefix = () => `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`

describe("SagaStore.layerPg", () => {
  storeContract(() => SagaStore.layerPg({ url: databaseUrl(), tablePrefix: uniquePrefix(), maxConnections: 2 }))

  it.live("two recovery workers never take the same saga, and every saga is compensated exactly once", () =>
    Effect.gen(function*() {
      const prefix = uniquePrefix()
      const store = (max = 4) => SagaStore.layerPg({ url: databaseUrl(), tablePrefix: prefix, maxConnections: max })
      const compensations: Array<{ readonly worker: string; readonly key: string }> = []
      const definition = (worker: string) =>
        Saga.define("transfer", { input: Schema.Number }).step("debit", {
          output: Schema.Number,
          run: ({ input }) => Effect.succeed(input),
          compensate: ({ idempotencyKey }) =>
            Effect.zipRight(Effect.sleep("5 millis"), Effect.sync(() => void compensations.push({ worker, key: idempotencyKey })))
        })
      const ids = Array.from({ length: 40 }, (_, i) => `saga-${String(i).padStart(2, "0")}`)
      yield* Effect.gen(function*() {
        const s = yield* SagaStore.SagaStore
        for (const id of ids) {
          yield* s.create({ id, name: "transfer", input: 1, owner: "dead-node", incarnation: "x", leaseUntil: 0, at: 1 })
          yield* s.append(id, { seq: 0, step: "debit", kind: "completed", payload: 1, at: 1 })
        }
      }).pipe(Effect.provide(store(1)))

      const worker = (workerId: string) =>
        Saga.layer({ workerId, definitions: [definition(workerId)], recoveryBatchSize: 4, recoveryConcurrency: 2 })
          .pipe(Layer.provide(store()))
      const [a, b] = yield* Effect.all([
        Effect.flatMap(Saga.Saga, (saga) => saga.recover).pipe(Effect.provide(worker("worker-a"))),
        Effect.flatMap(Saga.Saga, (saga) => saga.recover).pipe(Effect.provide(worker("worker-b")))
      ], { concurrency: 2 })

      const takenByA = a.recovered.map((r) => r.sagaId)
      const takenByB = b.recovered.map((r) => r.sagaId)
      expect(takenByA.filter((id) => takenByB.includes(id))).toEqual([])
      expect([...takenByA, ...takenByB].sort()).toEqual(ids)
      expect(takenByA.length).toBeGreaterThan(0)
      expect(takenByB.length).toBeGreaterThan(0)
      expect(compensations.map((c) => c.key).sort()).toEqual(ids.map((id) => `${id}:debit`))
      for (const c of compensations) {
        const id = c.key.split(":")[0]!
        expect(c.worker === "worker-a" ? takenByA : takenByB).toContain(id)
      }
      const left = yield* Effect.flatMap(SagaStore.SagaStore, (s) => s.count("running")).pipe(Effect.provide(store(1)))
      expect(left).toBe(0)
    }), 60_000)

  it.live("skips a saga whose row another worker holds locked, instead of waiting for it", () =>
    Effect.gen(function*() {
      const prefix = uniquePrefix()
      const layer = SagaStore.layerPg({ url: databaseUrl(), tablePrefix: prefix, maxConnections: 2 })
      yield* Effect.gen(function*() {
        const s = yield* SagaStore.SagaStore
        for (const id of ["locked", "free"]) {
          yield* s.create({ id, name: "n", input: null, owner: "dead", incarnation: "x", leaseUntil: 0, at: 1 })
        }
      }).pipe(Effect.provide(layer))
      const locked = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        yield* sql.withTransaction(Effect.gen(function*() {
          yield* sql`SELECT id FROM ${sql(`${prefix}_instances`)} WHERE id = 'locked' FOR UPDATE`
          yield* Deferred.succeed(locked, undefined)
          yield* Deferred.await(release)
        }))
      }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl()) })), Effect.fork)
      yield* Deferred.await(locked)
      const claimed = yield* Effect.flatMap(
        SagaStore.SagaStore,
        (s) => s.claim({ names: ["n"], owner: "w", incarnation: "i", now: 10, leaseUntil: 1e12, limit: 10 })
      ).pipe(Effect.provide(layer), Effect.timeout("5 seconds"))
      expect(claimed.map((c) => Either.getOrThrow(c).id)).toEqual(["free"])
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
    }), 30_000)

  it.live("gives a typed Decode error for a saga whose stored record is corrupt, and reads the others", () =>
    Effect.gen(function*() {
      const prefix = uniquePrefix()
      const layer = SagaStore.layerPg({ url: databaseUrl(), tablePrefix: prefix, maxConnections: 2 })
      yield* Effect.gen(function*() {
        const s = yield* SagaStore.SagaStore
        for (const id of ["good", "bad"]) {
          yield* s.create({ id, name: "n", input: { id }, owner: "w", incarnation: "i", leaseUntil: 0, at: 1 })
          yield* s.append(id, { seq: 0, step: "s", kind: "completed", payload: 1, at: 1 })
        }
      }).pipe(Effect.provide(layer))
      yield* Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        yield* sql`UPDATE ${sql(`${prefix}_log`)} SET payload = '{not json' WHERE saga_id = 'bad'`
      }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl()) })))
      const claimed = yield* Effect.flatMap(
        SagaStore.SagaStore,
        (s) => s.claim({ names: ["n"], owner: "w2", incarnation: "j", now: 10, leaseUntil: 20, limit: 10 })
      ).pipe(Effect.provide(layer))
      expect(claimed.map((c) => Either.isLeft(c) ? `left ${c.left.reason} ${c.left.key}` : `right ${c.right.id}`))
        .toEqual(["left Decode bad", "right good"])
    }), 30_000)

  it.live("fails with PersistenceError (Unavailable) when the server cannot be reached", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.provide(SagaStore.SagaStore, SagaStore.layerPg({ url: "postgres://postgres@127.0.0.1:1/none" }))
      )
      expect(error).toMatchObject({ _tag: "PersistenceError", reason: "Unavailable", store: "SagaStore.pg" })
    }), 30_000)
})
