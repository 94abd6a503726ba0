import * as PgClient from "@effect/sql-pg/PgClient"
import type { InvalidConfigError, PersistenceError } from "@integration-patterns/core/Errors"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as SagaStore from "../../SagaStore.js"
import { defaults, layerSql, type PgOptionsSchema, unavailableError } from "./sql.js"

/** @internal */
export const layerPg = (
  options: typeof PgOptionsSchema.Type
): Layer.Layer<SagaStore.SagaStore, PersistenceError | InvalidConfigError> => {
  const client = PgClient.layer({
    url: typeof options.url === "string" ? Redacted.make(options.url) : options.url,
    maxConnections: options.maxConnections ?? defaults.maxConnections
  }).pipe(Layer.mapError(unavailableError("SagaStore.pg")))
  return Layer.provide(layerSql(options.tablePrefix === undefined ? {} : { tablePrefix: options.tablePrefix }), client)
}
