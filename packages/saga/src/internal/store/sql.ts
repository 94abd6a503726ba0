import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { type InvalidConfigError, PersistenceError } from "@integration-patterns/core/Errors"
import { decodeOptions, Name, PositiveInt } from "@integration-patterns/core/internal/validation"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as SagaStore from "../../SagaStore.js"
import { tag } from "./tag.js"

const Millis = Schema.Union(Schema.Number, Schema.NumberFromString)
const Json = Schema.parseJson()
const Status = Schema.Literal("running", "completed", "compensated", "needs_attention", "resolved")

const InstanceRow = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  status: Status,
  owner: Schema.NullOr(Schema.String),
  incarnation: Schema.NullOr(Schema.String),
  lease_until: Millis,
  detail: Schema.NullOr(Schema.String),
  created_at: Millis,
  updated_at: Millis
})

const FullInstanceRow = Schema.Struct({ ...InstanceRow.fields, input: Json })

const LogRow = Schema.Struct({
  saga_id: Schema.String,
  seq: Millis,
  step: Schema.String,
  kind: Schema.Literal("completed", "failed", "compensated"),
  payload: Schema.NullOr(Json),
  at: Millis
})

const decodeInstance = Schema.decodeUnknownEither(FullInstanceRow)
const decodeSummary = Schema.decodeUnknownEither(InstanceRow)
const decodeLog = Schema.decodeUnknownEither(LogRow)

const Identifier = Name.pipe(
  Schema.filter((s) => /^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(s) || "expected a SQL identifier: letters, digits and _")
)

/** The defaults of the SQL stores' options. @internal */
export const defaults = { tablePrefix: "saga", synchronous: "NORMAL", maxConnections: 10 } as const

const SqlOptionsSchema = Schema.Struct({ tablePrefix: Schema.optional(Identifier) })

/** @internal */
export const SqliteOptionsSchema = Schema.Struct({
  ...SqlOptionsSchema.fields,
  filename: Name,
  synchronous: Schema.optional(Schema.Literal("NORMAL", "FULL"))
})

/** @internal */
export const PgOptionsSchema = Schema.Struct({
  ...SqlOptionsSchema.fields,
  url: Schema.Union(Schema.String, Schema.Redacted(Schema.String)),
  maxConnections: Schema.optional(PositiveInt)
})

const toJson = (label: string, sagaId: string, value: unknown): Either.Either<string | null, PersistenceError> => {
  if (value === undefined) return Either.right(null)
  try {
    return Either.right(JSON.stringify(value))
  } catch (cause) {
    return Either.left(
      new PersistenceError({ store: label, reason: "Encode", key: sagaId, detail: "value is not JSON", cause })
    )
  }
}

const decodeError = (label: string, sagaId: string, error: ParseResult.ParseError): PersistenceError =>
  new PersistenceError({
    store: label,
    reason: "Decode",
    key: sagaId,
    detail: ParseResult.TreeFormatter.formatErrorSync(error)
  })

const assemble = (
  label: string,
  sagaId: string,
  instance: unknown,
  logRows: ReadonlyArray<unknown>
): Either.Either<SagaStore.SagaRecord, PersistenceError> =>
  Either.gen(function*() {
    const row = yield* Either.mapLeft(decodeInstance(instance), (e) => decodeError(label, sagaId, e))
    const log: Array<SagaStore.LogEntry> = []
    for (const raw of logRows) {
      const entry = yield* Either.mapLeft(decodeLog(raw), (e) => decodeError(label, sagaId, e))
      log.push({
        seq: entry.seq,
        step: entry.step,
        kind: entry.kind,
        payload: entry.payload === null ? undefined : entry.payload,
        at: entry.at
      })
    }
    return {
      id: row.id,
      name: row.name,
      status: row.status,
      input: row.input,
      owner: row.owner,
      incarnation: row.incarnation,
      leaseUntil: row.lease_until,
      detail: row.detail,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      log
    }
  })

const rowId = (row: unknown): string => String((row as { readonly id?: unknown; readonly saga_id?: unknown }).id)

/**
 * Runs SQL text with its parameters: through the client (each statement takes a
 * pooled connection), or on one connection the store holds for its lifetime.
 *
 * @internal
 */
export type Execute = (text: string, params: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<any>, SqlError>

/** @internal */
export const throughClient = (sql: SqlClient.SqlClient): Execute => (text, params) => sql.unsafe(text, params)

/**
 * A store over any `SqlClient`. Every write is one autocommitted statement, so each
 * transition is durable when the write returns (as durable as the database's own
 * settings make a commit).
 *
 * @internal
 */
export const makeWith = (
  sql: SqlClient.SqlClient,
  execute: Execute,
  options: SagaStore.SqlOptions = {}
): Effect.Effect<SagaStore.SagaStore, PersistenceError | InvalidConfigError> =>
  Effect.gen(function*() {
    const decoded = yield* decodeOptions("SagaStore", SqlOptionsSchema, options)
    const prefix = decoded.tablePrefix ?? defaults.tablePrefix
    const dialect = sql.onDialectOrElse({ pg: () => "pg" as const, sqlite: () => "sqlite" as const, orElse: () => "sql" })
    const label = `SagaStore.${dialect}`
    const instances = sql(`${prefix}_instances`)
    const logTable = sql(`${prefix}_log`)

    // Statements are built with the client's templates (identifiers and placeholders in
    // its dialect) and run through `execute`.
    const run = <A extends object>(statement: Statement.Statement<A>): Effect.Effect<ReadonlyArray<A>, SqlError> =>
      Effect.suspend(() => {
        const [text, params] = statement.compile()
        return execute(text, params)
      })
    // The writes of every transition are compiled once; only their parameters change.
    const textOf = (statement: Statement.Statement<object>): string => statement.compile()[0]
    const createText = textOf(sql`INSERT INTO ${instances}
      (id, name, status, input, owner, incarnation, lease_until, detail, created_at, updated_at)
      VALUES (${""}, ${""}, 'running', ${""}, ${""}, ${""}, ${0}, NULL, ${0}, ${0})`)
    const appendText = textOf(sql`INSERT INTO ${logTable} (saga_id, seq, step, kind, payload, at)
      VALUES (${""}, ${0}, ${""}, ${""}, ${""}, ${0})`)
    const finishText = textOf(sql`UPDATE ${instances} SET status = ${""}, detail = ${""}, updated_at = ${0},
      owner = NULL, incarnation = NULL WHERE id = ${""}`)

    const unavailable = (key?: string) => (error: SqlError): PersistenceError =>
      new PersistenceError({
        store: label,
        reason: "Unavailable",
        ...(key === undefined ? {} : { key }),
        detail: error.message,
        cause: error
      })

    const ddl = Effect.all([
      run(sql`CREATE TABLE IF NOT EXISTS ${instances} (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        input TEXT NOT NULL,
        owner TEXT,
        incarnation TEXT,
        lease_until BIGINT NOT NULL,
        detail TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`),
      run(sql`CREATE INDEX IF NOT EXISTS ${sql(`${prefix}_instances_status`)} ON ${instances} (status, name, created_at)`),
      run(sql`CREATE TABLE IF NOT EXISTS ${logTable} (
        saga_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        step TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT,
        at BIGINT NOT NULL,
        PRIMARY KEY (saga_id, seq)
      )`)
    ], { discard: true })
    // Several processes may start at once against one PostgreSQL database; an advisory
    // lock serialises their CREATE TABLE IF NOT EXISTS, which is not atomic there.
    yield* (dialect === "pg"
      ? sql.withTransaction(
        Effect.zipRight(run(sql`SELECT pg_advisory_xact_lock(hashtext(${`integration-patterns:${prefix}`}))`), ddl)
      )
      : ddl).pipe(Effect.mapError(unavailable()))

    const load = (
      ids: ReadonlyArray<string>
    ): Effect.Effect<ReadonlyArray<Either.Either<SagaStore.SagaRecord, PersistenceError>>, PersistenceError> =>
      ids.length === 0 ? Effect.succeed([]) : Effect.gen(function*() {
        const rows = yield* run(sql`SELECT * FROM ${instances} WHERE ${sql.in("id", ids)} ORDER BY created_at, id`)
        const logRows = yield* run(
          sql`SELECT * FROM ${logTable} WHERE ${sql.in("saga_id", ids)} ORDER BY saga_id, seq`
        )
        const logs = new Map<string, Array<unknown>>()
        for (const row of logRows) {
          const id = String((row as { readonly saga_id?: unknown }).saga_id)
          const list = logs.get(id)
          if (list === undefined) logs.set(id, [row])
          else list.push(row)
        }
        return rows.map((row) => assemble(label, rowId(row), row, logs.get(rowId(row)) ?? []))
      }).pipe(Effect.mapError(unavailable()))

    const store: SagaStore.SagaStore = {
      label,
      create: (saga) =>
        Effect.flatMap(toJson(label, saga.id, saga.input), (input) =>
          execute(createText, [
            saga.id,
            saga.name,
            input ?? "null",
            saga.owner,
            saga.incarnation,
            saga.leaseUntil,
            saga.at,
            saga.at
          ]).pipe(Effect.asVoid, Effect.mapError(unavailable(saga.id)))),
      append: (sagaId, entry) =>
        Effect.flatMap(toJson(label, sagaId, entry.payload), (payload) =>
          execute(appendText, [sagaId, entry.seq, entry.step, entry.kind, payload, entry.at]).pipe(
            Effect.asVoid,
            Effect.mapError(unavailable(sagaId))
          )),
      finish: (sagaId, status, detail, at) =>
        execute(finishText, [status, detail, at, sagaId]).pipe(Effect.asVoid, Effect.mapError(unavailable(sagaId))),
      get: (sagaId) =>
        Effect.flatMap(load([sagaId]), (found) =>
          found.length === 0
            ? Effect.succeed(Option.none())
            : Either.match(found[0]!, { onLeft: Effect.fail, onRight: (record) => Effect.succeed(Option.some(record)) })),
      claim: (request) => {
        if (request.names.length === 0 || request.limit <= 0) return Effect.succeed([])
        const candidates = sql`SELECT id FROM ${instances}
          WHERE status = 'running' AND ${sql.in("name", request.names)}
            AND (lease_until <= ${request.now}
              OR (owner = ${request.owner} AND COALESCE(incarnation, '') <> ${request.incarnation}))
          ORDER BY created_at, id LIMIT ${request.limit}${
          sql.literal(dialect === "pg" ? " FOR UPDATE SKIP LOCKED" : "")
        }`
        return run(sql`UPDATE ${instances} SET owner = ${request.owner}, incarnation = ${request.incarnation},
          lease_until = ${request.leaseUntil} WHERE id IN (${candidates}) RETURNING id`).pipe(
          Effect.mapError(unavailable()),
          Effect.flatMap((rows) => load(rows.map(rowId)))
        )
      },
      renew: (incarnation, sagaIds, leaseUntil) =>
        sagaIds.length === 0
          ? Effect.void
          : run(sql`UPDATE ${instances} SET lease_until = ${leaseUntil}
              WHERE incarnation = ${incarnation} AND ${sql.in("id", sagaIds)}`).pipe(
            Effect.asVoid,
            Effect.mapError(unavailable())
          ),
      list: (status, limit) =>
        run(sql`SELECT id, name, status, owner, incarnation, lease_until, detail, created_at, updated_at
          FROM ${instances} WHERE status = ${status} ORDER BY created_at, id LIMIT ${limit}`).pipe(
          Effect.mapError(unavailable()),
          Effect.flatMap((rows) =>
            Effect.forEach(rows, (row) =>
              Either.match(decodeSummary(row), {
                onLeft: (e) => Effect.fail(decodeError(label, rowId(row), e)),
                onRight: (r) =>
                  Effect.succeed<SagaStore.SagaSummary>({
                    id: r.id,
                    name: r.name,
                    status: r.status,
                    owner: r.owner,
                    incarnation: r.incarnation,
                    leaseUntil: r.lease_until,
                    detail: r.detail,
                    createdAt: r.created_at,
                    updatedAt: r.updated_at
                  })
              }))
          )
        ),
      count: (status) =>
        run(sql<{ readonly n: number | string }>`SELECT COUNT(*) AS n FROM ${instances} WHERE status = ${status}`).pipe(
          Effect.map((rows) => Number(rows[0]?.n ?? 0)),
          Effect.mapError(unavailable())
        )
    }
    return store
  })

/** @internal */
export const make = (
  options: SagaStore.SqlOptions = {}
): Effect.Effect<SagaStore.SagaStore, PersistenceError | InvalidConfigError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => makeWith(sql, throughClient(sql), options))

/** @internal */
export const layerSql = (
  options: SagaStore.SqlOptions = {}
): Layer.Layer<SagaStore.SagaStore, PersistenceError | InvalidConfigError, SqlClient.SqlClient> =>
  Layer.effect(tag, make(options))

/** @internal */
export const unavailableError = (label: string) => (error: { readonly message: string }): PersistenceError =>
  new PersistenceError({ store: label, reason: "Unavailable", detail: error.message, cause: error })
