import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { PersistenceError } from "@integration-patterns/core/Errors"
import type * as SagaStore from "../../SagaStore.js"
import { tag } from "./tag.js"

interface Entry {
  id: string
  name: string
  status: SagaStore.SagaStatus
  input: unknown
  owner: string | null
  incarnation: string | null
  leaseUntil: number
  detail: string | null
  createdAt: number
  updatedAt: number
  readonly log: Array<SagaStore.LogEntry>
}

const byAge = (a: Entry, b: Entry): number =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

const snapshot = (entry: Entry): SagaStore.SagaRecord => ({ ...entry, log: [...entry.log] })

const summary = (entry: Entry): SagaStore.SagaSummary => {
  const { input: _input, log: _log, ...rest } = entry
  return { ...rest }
}

/** @internal */
export const make = (): SagaStore.SagaStore => {
  const sagas = new Map<string, Entry>()
  return {
    label: "SagaStore.memory",
    create: (saga) =>
      Effect.sync(() => {
        sagas.set(saga.id, {
          id: saga.id,
          name: saga.name,
          status: "running",
          input: saga.input,
          owner: saga.owner,
          incarnation: saga.incarnation,
          leaseUntil: saga.leaseUntil,
          detail: null,
          createdAt: saga.at,
          updatedAt: saga.at,
          log: []
        })
      }),
    append: (sagaId, entry) =>
      Effect.sync(() => {
        const saga = sagas.get(sagaId)
        if (saga !== undefined) {
          saga.log.push(entry)
          saga.updatedAt = entry.at
        }
      }),
    finish: (sagaId, status, detail, at) =>
      Effect.sync(() => {
        const saga = sagas.get(sagaId)
        if (saga !== undefined) {
          saga.status = status
          saga.detail = detail
          saga.updatedAt = at
          saga.owner = null
          saga.incarnation = null
        }
      }),
    get: (sagaId) => Effect.sync(() => Option.map(Option.fromNullable(sagas.get(sagaId)), snapshot)),
    claim: (request) =>
      Effect.sync(() => {
        const names = new Set(request.names)
        const orphans = [...sagas.values()].filter((saga) =>
          saga.status === "running" && names.has(saga.name) &&
          (saga.leaseUntil <= request.now || (saga.owner === request.owner && saga.incarnation !== request.incarnation))
        ).sort(byAge).slice(0, Math.max(0, request.limit))
        const taken: Array<Either.Either<SagaStore.SagaRecord, PersistenceError>> = []
        for (const saga of orphans) {
          saga.owner = request.owner
          saga.incarnation = request.incarnation
          saga.leaseUntil = request.leaseUntil
          taken.push(Either.right(snapshot(saga)))
        }
        return taken
      }),
    renew: (incarnation, sagaIds, leaseUntil) =>
      Effect.sync(() => {
        for (const id of sagaIds) {
          const saga = sagas.get(id)
          if (saga !== undefined && saga.incarnation === incarnation) saga.leaseUntil = leaseUntil
        }
      }),
    list: (status, limit) =>
      Effect.sync(() => {
        return [...sagas.values()].filter((saga) => saga.status === status).sort(byAge).slice(0, limit).map(summary)
      }),
    count: (status) =>
      Effect.sync(() => {
        let n = 0
        for (const saga of sagas.values()) if (saga.status === status) n++
        return n
      })
  }
}

/** @internal */
export const layer: Layer.Layer<SagaStore.SagaStore> = Layer.sync(tag, make)
