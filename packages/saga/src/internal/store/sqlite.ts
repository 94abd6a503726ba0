import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type { InvalidConfigError, PersistenceError } from "@integration-patterns/core/Errors"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as SagaStore from "../../SagaStore.js"
import { defaults, makeWith, type SqliteOptionsSchema, unavailableError } from "./sql.js"
import { tag } from "./tag.js"

const asMessage = (u: unknown): { readonly message: string } =>
  typeof u === "object" && u !== null && "message" in u && typeof u.message === "string"
    ? u as { readonly message: string }
    : { message: String(u) }

/**
 * The store owns its SQLite client, which has a single connection. It holds that
 * connection for its lifetime and runs every statement on it directly: a statement
 * through the client pays for a span, a semaphore and a statement cache lookup each
 * time, which measured here doubles the cost of a write (about 120 against 60 µs).
 *
 * @internal
 */
export const layerSqlite = (
  options: typeof SqliteOptionsSchema.Type
): Layer.Layer<SagaStore.SagaStore, PersistenceError | InvalidConfigError> => {
  const label = "SagaStore.sqlite"
  // better-sqlite3 throws (a defect) when the file cannot be opened: that is an
  // unavailable store, not a bug.
  const client = SqliteClient.layer({ filename: options.filename }).pipe(
    Layer.catchAllCause((cause) => Layer.fail(unavailableError(label)(asMessage(Cause.squash(cause)))))
  )
  const store = Layer.scoped(
    tag,
    Effect.gen(function*() {
      const sql = yield* SqliteClient.SqliteClient
      const connection = yield* Effect.mapError(sql.reserve, unavailableError(label))
      const execute = (text: string, params: ReadonlyArray<unknown>) => connection.execute(text, params, undefined)
      // WAL is set by the client; `synchronous` decides what a commit survives (see SqliteOptions).
      yield* Effect.mapError(
        Effect.zipRight(
          execute(`PRAGMA synchronous = ${options.synchronous ?? defaults.synchronous}`, []),
          execute("PRAGMA busy_timeout = 5000", [])
        ),
        unavailableError(label)
      )
      return yield* makeWith(sql, execute, options.tablePrefix === undefined ? {} : { tablePrefix: options.tablePrefix })
    })
  )
  return Layer.provide(store, client)
}
