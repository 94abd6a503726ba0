import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import type { InvalidConfigError, PersistenceError } from "@integration-patterns/core/Errors"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as SagaStore from "../../SagaStore.js"
import { layerSql, type SqliteOptionsSchema, unavailableError } from "./sql.js"

const asMessage = (u: unknown): { readonly message: string } =>
  typeof u === "object" && u !== null && "message" in u && typeof u.message === "string"
    ? u as { readonly message: string }
    : { message: String(u) }

/** @internal */
export const layerSqlite = (
  options: typeof SqliteOptionsSchema.Type
): Layer.Layer<SagaStore.SagaStore, PersistenceError | InvalidConfigError> => {
  const label = "SagaStore.sqlite"
  // better-sqlite3 throws (a defect) when the file cannot be opened: that is an
  // unavailable store, not a bug.
  const client = SqliteClient.layer({ filename: options.filename }).pipe(
    Layer.catchAllCause((cause) => Layer.fail(unavailableError(label)(asMessage(Cause.squash(cause)))))
  )
  // WAL is set by the client; `synchronous` decides what a commit survives (see SqliteOptions).
  const pragmas = Layer.effectDiscard(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`)
    yield* sql.unsafe("PRAGMA busy_timeout = 5000")
  }).pipe(Effect.mapError(unavailableError(label))))
  const store = layerSql(options.tablePrefix === undefined ? {} : { tablePrefix: options.tablePrefix })
  return Layer.provide(Layer.merge(store, pragmas), client)
}
