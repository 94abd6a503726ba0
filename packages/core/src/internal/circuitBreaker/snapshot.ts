/**
 * The saved form of a breaker: a versioned, JSON-friendly record with a schema, so a
 * snapshot read back from a store is checked before it is trusted. A snapshot that
 * does not decode gives a `PersistenceError`, never a crash.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { PersistenceError } from "../../Errors.js"
import * as V from "../validation.js"
import type { MachineSnapshot } from "./machine.js"

const Finite = Schema.Number.pipe(Schema.filter((n) => Number.isFinite(n) || "expected a finite number"))

const PolicySnapshot = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Consecutive"), count: V.NonNegativeInt }),
  Schema.Struct({ _tag: Schema.Literal("Calls"), size: V.PositiveInt, outcomes: Schema.Array(Schema.Literal(0, 1)) }),
  Schema.Struct({
    _tag: Schema.Literal("Time"),
    duration: V.PositiveNumber,
    buckets: Schema.Array(Schema.Tuple(Schema.Int, V.NonNegativeInt, V.NonNegativeInt))
  })
)

/**
 * A breaker's saved state. A half-open breaker is saved as open with `openUntil` at
 * the time of saving (open and due), so the breaker restored from it probes at once.
 *
 * @internal
 */
export const Snapshot = Schema.Struct({
  version: Schema.Literal(1),
  name: Schema.String,
  state: Schema.Literal("Closed", "Open", "HalfOpen", "Isolated", "Disabled", "MetricsOnly"),
  openUntil: Finite,
  trips: V.NonNegativeInt,
  lastTransitionAt: Finite,
  policies: Schema.Array(PolicySnapshot)
})

/** @internal */
export type Snapshot = typeof Snapshot.Type

/** @internal */
export const toSnapshot = (name: string, machine: MachineSnapshot): Snapshot => ({ version: 1, name, ...machine })

const decode = Schema.decodeUnknownEither(Snapshot, { errors: "all", onExcessProperty: "ignore" })

/**
 * Decodes a snapshot read from a store or handed to a constructor.
 *
 * @internal
 */
export const decodeSnapshot = (store: string, key: string, input: unknown): Either.Either<Snapshot, PersistenceError> =>
  Either.mapLeft(decode(input), (error) =>
    new PersistenceError({
      store,
      reason: "Decode",
      key,
      detail: ParseResult.TreeFormatter.formatErrorSync(error),
      cause: input
    }))
