import { expect, it } from "@effect/vitest"
import type { InvalidConfigError, PersistenceError } from "@integration-patterns/core/Errors"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { SagaStore } from "../src/index.js"

/**
 * The behaviour every SagaStore backend shares. `fresh` gives a layer over an empty
 * store; `prefix` keeps names apart when backends share a database.
 */
export const storeContract = (
  fresh: () => Layer.Layer<SagaStore.SagaStore, PersistenceError | InvalidConfigError>
) => {
  const withStore = <A, E>(f: (store: SagaStore.SagaStore) => Effect.Effect<A, E>) =>
    Effect.flatMap(SagaStore.SagaStore, f).pipe(Effect.provide(fresh()))

  const saga = (id: string, over: Partial<SagaStore.NewSaga> = {}): SagaStore.NewSaga => ({
    id,
    name: "contract",
    input: { orderId: id, lines: [1, 2] },
    owner: "w1",
    incarnation: "i1",
    leaseUntil: 1_000,
    at: 10,
    ...over
  })

  it.effect("stores a saga and its log, and reads them back in order", () =>
    withStore((store) =>
      Effect.gen(function*() {
        yield* store.create(saga("a"))
        yield* store.append("a", { seq: 0, step: "s1", kind: "completed", payload: { n: 1, text: "é" }, at: 11 })
        yield* store.append("a", { seq: 1, step: "s2", kind: "completed", payload: undefined, at: 12 })
        yield* store.append("a", { seq: 2, step: "s3", kind: "failed", payload: "boom", at: 13 })
        yield* store.append("a", { seq: 3, step: "s1", kind: "compensated", payload: undefined, at: 14 })
        const record = Option.getOrThrow(yield* store.get("a"))
        expect(record).toMatchObject({
          id: "a",
          name: "contract",
          status: "running",
          input: { orderId: "a", lines: [1, 2] },
          owner: "w1",
          incarnation: "i1",
          leaseUntil: 1_000,
          createdAt: 10
        })
        expect(record.log).toEqual([
          { seq: 0, step: "s1", kind: "completed", payload: { n: 1, text: "é" }, at: 11 },
          { seq: 1, step: "s2", kind: "completed", payload: undefined, at: 12 },
          { seq: 2, step: "s3", kind: "failed", payload: "boom", at: 13 },
          { seq: 3, step: "s1", kind: "compensated", payload: undefined, at: 14 }
        ])
        expect(yield* store.get("missing")).toEqual(Option.none())
      })
    ))

  it.effect("finishes a saga: status and detail set, owner released", () =>
    withStore((store) =>
      Effect.gen(function*() {
        yield* store.create(saga("a"))
        yield* store.finish("a", "needs_attention", "refund failed", 99)
        const record = Option.getOrThrow(yield* store.get("a"))
        expect(record).toMatchObject({ status: "needs_attention", detail: "refund failed", owner: null, updatedAt: 99 })
        expect(yield* store.count("needs_attention")).toBe(1)
        expect(yield* store.count("running")).toBe(0)
        expect((yield* store.list("needs_attention", 10)).map((s) => s.id)).toEqual(["a"])
      })
    ))

  it.effect("claims orphaned sagas only: expired lease, or left by an earlier incarnation of the same worker", () =>
    withStore((store) =>
      Effect.gen(function*() {
        yield* store.create(saga("expired", { owner: "w2", leaseUntil: 500, at: 1 }))
        yield* store.create(saga("same-worker", { owner: "w1", incarnation: "old", leaseUntil: 5_000, at: 2 }))
        yield* store.create(saga("live", { owner: "w2", leaseUntil: 5_000, at: 3 }))
        yield* store.create(saga("mine-now", { owner: "w1", incarnation: "new", leaseUntil: 5_000, at: 4 }))
        yield* store.create(saga("other-name", { name: "other", leaseUntil: 0, at: 5 }))
        yield* store.create(saga("done", { leaseUntil: 0, at: 6 }))
        yield* store.finish("done", "completed", null, 7)
        const request = {
          names: ["contract"],
          owner: "w1",
          incarnation: "new",
          now: 1_000,
          leaseUntil: 31_000,
          limit: 10
        }
        const claimed = yield* store.claim(request)
        expect(claimed.map((c) => Either.getOrThrow(c).id)).toEqual(["expired", "same-worker"])
        const taken = Option.getOrThrow(yield* store.get("expired"))
        expect(taken).toMatchObject({ owner: "w1", incarnation: "new", leaseUntil: 31_000 })
        // Held now: neither this worker nor another takes them again while the lease runs.
        expect(yield* store.claim(request)).toEqual([])
        expect(yield* store.claim({ ...request, owner: "w3", incarnation: "x" })).toEqual([])
        expect(yield* store.claim({ ...request, names: [] })).toEqual([])
      })
    ))

  it.effect("claims at most `limit` sagas, oldest first", () =>
    withStore((store) =>
      Effect.gen(function*() {
        for (const i of [3, 1, 2]) yield* store.create(saga(`s${i}`, { leaseUntil: 0, at: i }))
        const request = { names: ["contract"], owner: "w9", incarnation: "i9", now: 1, leaseUntil: 100, limit: 2 }
        expect((yield* store.claim(request)).map((c) => Either.getOrThrow(c).id)).toEqual(["s1", "s2"])
        expect((yield* store.claim({ ...request, incarnation: "i10", owner: "w10" })).map((c) => Either.getOrThrow(c).id))
          .toEqual(["s3"])
      })
    ))

  it.effect("renews the lease of the given sagas for the incarnation that holds them", () =>
    withStore((store) =>
      Effect.gen(function*() {
        yield* store.create(saga("a"))
        yield* store.create(saga("b", { incarnation: "other" }))
        yield* store.renew("i1", ["a", "b"], 9_000)
        expect(Option.getOrThrow(yield* store.get("a")).leaseUntil).toBe(9_000)
        expect(Option.getOrThrow(yield* store.get("b")).leaseUntil).toBe(1_000)
        yield* store.renew("i1", [], 10_000)
      })
    ))
}
