/**
 * Where sagas keep their log. Every transition of a saga (started, step completed,
 * step failed, compensation done, finished) is written through this service before
 * the saga moves on, so that `Saga.recover` can finish the sagas of a process that
 * died.
 *
 * Three backends: memory (tests, single process without durability), SQLite (the
 * embedded default, a file) and PostgreSQL (several processes and recovery workers).
 *
 * @since 0.1.0
 */
import type { InvalidConfigError, PersistenceError } from "@integration-patterns/core/Errors"
import type { SqlClient } from "@effect/sql/SqlClient"
import type * as Context from "effect/Context"
import { decodeOptions } from "@integration-patterns/core/internal/validation"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as memory from "./internal/store/memory.js"
import * as sql from "./internal/store/sql.js"
import { tag } from "./internal/store/tag.js"

/**
 * Where a saga stands. `running` sagas are the ones recovery looks for;
 * `needs_attention` sagas had a compensation that kept failing and wait for an
 * operator, who marks them `resolved`.
 *
 * @since 0.1.0
 * @category Models
 */
export type SagaStatus = "running" | "completed" | "compensated" | "needs_attention" | "resolved"

/**
 * A status that ends a saga.
 *
 * @since 0.1.0
 * @category Models
 */
export type FinalStatus = Exclude<SagaStatus, "running">

/**
 * What one log entry records: a step that completed (its payload is the
 * Schema-encoded output), a step that failed (its payload is a description of the
 * error) or a compensation that ran to completion (no payload).
 *
 * @since 0.1.0
 * @category Models
 */
export type LogKind = "completed" | "failed" | "compensated"

/**
 * One transition of a saga. `seq` orders the entries of a saga; `at` is `Clock`
 * time in milliseconds.
 *
 * @since 0.1.0
 * @category Models
 */
export interface LogEntry {
  readonly seq: number
  readonly step: string
  readonly kind: LogKind
  /** JSON-compatible: the encoded side of the step's output Schema, or an error description. */
  readonly payload: unknown
  readonly at: number
}

/**
 * A saga as stored: its header and its log, oldest entry first.
 *
 * @since 0.1.0
 * @category Models
 */
export interface SagaRecord {
  readonly id: string
  /** The name of the saga's definition. */
  readonly name: string
  readonly status: SagaStatus
  /** The encoded side of the definition's input Schema. */
  readonly input: unknown
  /** The worker that runs (or last ran) the saga. */
  readonly owner: string | null
  /** The process of that worker; a worker restarted under the same id has a new one. */
  readonly incarnation: string | null
  /** Until when the owner holds the saga, in milliseconds. */
  readonly leaseUntil: number
  readonly detail: string | null
  readonly createdAt: number
  readonly updatedAt: number
  readonly log: ReadonlyArray<LogEntry>
}

/**
 * A saga's header, without its log.
 *
 * @since 0.1.0
 * @category Models
 */
export type SagaSummary = Omit<SagaRecord, "log" | "input">

/**
 * The first record of a saga, written before its first step runs.
 *
 * @since 0.1.0
 * @category Models
 */
export interface NewSaga {
  readonly id: string
  readonly name: string
  readonly input: unknown
  readonly owner: string
  readonly incarnation: string
  readonly leaseUntil: number
  readonly at: number
}

/**
 * What a recovery worker asks for: running sagas of the given definitions whose lease
 * has run out, or that an earlier incarnation of the same worker left behind.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ClaimRequest {
  readonly names: ReadonlyArray<string>
  readonly owner: string
  readonly incarnation: string
  readonly now: number
  readonly leaseUntil: number
  readonly limit: number
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface SagaStore {
  /** Names the backend in `PersistenceError.store`. */
  readonly label: string
  /** Writes a new saga as `running`. */
  readonly create: (saga: NewSaga) => Effect.Effect<void, PersistenceError>
  /** Appends one entry to a saga's log. */
  readonly append: (sagaId: string, entry: LogEntry) => Effect.Effect<void, PersistenceError>
  /** Ends a saga (or changes the status of an ended one) and releases its lease. */
  readonly finish: (
    sagaId: string,
    status: FinalStatus,
    detail: string | null,
    at: number
  ) => Effect.Effect<void, PersistenceError>
  /** Reads one saga. A record that cannot be decoded fails with `PersistenceError` (`Decode`). */
  readonly get: (sagaId: string) => Effect.Effect<Option.Option<SagaRecord>, PersistenceError>
  /**
   * Takes up to `limit` sagas for this worker and sets their lease. Two workers never
   * take the same saga while its lease runs. A record that cannot be decoded is
   * returned as a `Left` for that saga alone.
   */
  readonly claim: (
    request: ClaimRequest
  ) => Effect.Effect<ReadonlyArray<Either.Either<SagaRecord, PersistenceError>>, PersistenceError>
  /** Extends the lease of sagas this process runs. */
  readonly renew: (
    incarnation: string,
    sagaIds: ReadonlyArray<string>,
    leaseUntil: number
  ) => Effect.Effect<void, PersistenceError>
  /** Lists sagas in a status, oldest first. */
  readonly list: (status: SagaStatus, limit: number) => Effect.Effect<ReadonlyArray<SagaSummary>, PersistenceError>
  /** Counts sagas in a status. */
  readonly count: (status: SagaStatus) => Effect.Effect<number, PersistenceError>
}

/**
 * @since 0.1.0
 * @category Tags
 */
export const SagaStore: Context.Tag<SagaStore, SagaStore> = tag

/**
 * Builds a memory store: for tests, and for sagas that need compensation but not
 * recovery after a crash.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeMemory: () => SagaStore = memory.make

/**
 * A memory store: nothing survives the process.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerMemory: Layer.Layer<SagaStore> = memory.layer

/**
 * Options of the SQL stores.
 *
 * @since 0.1.0
 * @category Models
 */
export interface SqlOptions {
  /** Prefix of the two tables (`<prefix>_instances`, `<prefix>_log`). Defaults to `saga`. */
  readonly tablePrefix?: string
}

/**
 * Options of {@link layerSqlite}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface SqliteOptions extends SqlOptions {
  /** The database file. */
  readonly filename: string
  /**
   * SQLite's `synchronous` setting; the journal is always WAL. Defaults to `NORMAL`.
   *
   * - `NORMAL`: every commit is in the WAL file (the operating system's page cache)
   *   before the write returns, so a process killed with `kill -9` loses nothing; the
   *   WAL is synced at checkpoints, so an operating-system crash or power loss may
   *   roll back the last commits, never corrupt the database. Measured here: about
   *   28,000 commits per second.
   * - `FULL`: each commit is also synced to disk, which survives power loss but
   *   costs one fsync per transition (330 to 510 commits per second on the same
   *   machine, below the 2,000 steps per second target).
   */
  readonly synchronous?: "NORMAL" | "FULL"
}

/**
 * Options of {@link layerPg}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface PgOptions extends SqlOptions {
  /** A connection URL: `postgres://user@host:port/database`. */
  readonly url: string | Redacted.Redacted
  /** Pool size. Defaults to 10. */
  readonly maxConnections?: number
}

/**
 * The defaults of the SQL stores' optional options.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly tablePrefix: string
  readonly synchronous: "NORMAL" | "FULL"
  readonly maxConnections: number
} = sql.defaults

/**
 * A store over an existing `SqlClient` (SQLite or PostgreSQL). The tables are created
 * when missing.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSql: (
  options?: SqlOptions
) => Layer.Layer<SagaStore, PersistenceError | InvalidConfigError, SqlClient> = sql.layerSql

/**
 * The embedded default: a SQLite file, in WAL mode.
 *
 * @example
 * ```ts
 * import { SagaStore } from "@integration-patterns/saga"
 *
 * const StoreLive = SagaStore.layerSqlite({ filename: "sagas.db" })
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSqlite = (
  options: SqliteOptions
): Layer.Layer<SagaStore, PersistenceError | InvalidConfigError> =>
  // The driver is loaded when the layer is built, so that PostgreSQL users do not load SQLite.
  Layer.unwrapEffect(
    Effect.zipWith(
      decodeOptions("SagaStore", sql.SqliteOptionsSchema, options),
      Effect.promise(() => import("./internal/store/sqlite.js")),
      (decoded, sqlite) => sqlite.layerSqlite(decoded)
    )
  )

/**
 * PostgreSQL, for several processes: recovery workers claim unfinished sagas with
 * `FOR UPDATE SKIP LOCKED` and a lease, so that two never take the same saga.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerPg = (
  options: PgOptions
): Layer.Layer<SagaStore, PersistenceError | InvalidConfigError> =>
  // The driver is loaded when the layer is built, so that SQLite users do not load pg.
  Layer.unwrapEffect(
    Effect.zipWith(
      decodeOptions("SagaStore", sql.PgOptionsSchema, options),
      Effect.promise(() => import("./internal/store/pg.js")),
      (decoded, pg) => pg.layerPg(decoded)
    )
  )
