import * as Duration from "effect/Duration"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { RequestError, TimeoutError } from "../../Errors.js"
import { fromSetting } from "../settingDefault.js"
import * as V from "../validation.js"

/** @internal */
export const Priority = Schema.Literal("high", "normal", "low")

const NonEmptyString = Schema.String.pipe(Schema.filter((s) => s.length > 0 || "expected a non-empty string"))

const Headers = Schema.Record({ key: Schema.String, value: Schema.String })

/** Milliseconds, on the wire. @internal */
export const TimeoutMillis = Schema.Number.pipe(
  Schema.filter((n) => (Number.isFinite(n) && n > 0) || `expected a finite number of milliseconds above 0, got ${n}`)
)

/** @internal */
export const RequestEnvelope = Schema.Struct({
  id: NonEmptyString,
  type: NonEmptyString,
  payload: Schema.Unknown,
  metadata: Schema.optional(Schema.Struct({
    timeout: Schema.optional(TimeoutMillis),
    priority: Schema.optional(Priority),
    correlationId: Schema.optional(Schema.String),
    headers: Schema.optional(Headers)
  }))
})

/** @internal */
export type RequestEnvelope = typeof RequestEnvelope.Type

const ResponseMetadata = Schema.Struct({
  duration: Schema.Number.pipe(Schema.filter((n) => n >= 0 || "expected a duration of 0 ms or more")),
  attempts: V.PositiveInt
})

/** @internal */
export const SuccessEnvelope = Schema.Struct({
  id: Schema.String,
  correlationId: Schema.String,
  status: Schema.Literal("success"),
  payload: Schema.Unknown,
  metadata: ResponseMetadata
})

/** @internal */
export const FailureEnvelope = Schema.Struct({
  id: Schema.String,
  correlationId: Schema.String,
  status: Schema.Literal("failure"),
  error: Schema.Unknown,
  metadata: ResponseMetadata
})

/** @internal */
export const ResponseEnvelope = Schema.Union(SuccessEnvelope, FailureEnvelope)

/** @internal */
export type ResponseEnvelope = typeof ResponseEnvelope.Type

/**
 * What a sender may put in `metadata`; the timeout is a duration (milliseconds in the
 * Promise API).
 *
 * @internal
 */
export const SendMetadata = Schema.Struct({
  timeout: Schema.optional(V.PositiveDuration),
  priority: Schema.optional(Priority),
  correlationId: Schema.optional(Schema.String),
  headers: Schema.optional(Headers)
})

/** @internal */
export const SendRequest = Schema.Struct({
  id: NonEmptyString,
  type: NonEmptyString,
  payload: Schema.Unknown,
  metadata: Schema.optional(Schema.Union(SendMetadata, Schema.Undefined))
})

/** @internal */
export const decodeRequestEnvelope = Schema.decodeUnknownEither(RequestEnvelope, { errors: "all" })

/** @internal */
export const decodeResponseEnvelope = Schema.decodeUnknownEither(ResponseEnvelope, { errors: "all" })

/** @internal */
export const decodeSendRequest = Schema.decodeUnknownEither(SendRequest, { errors: "all" })

/** @internal */
export const formatParseError = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`)
    .join("; ")

/** The id and type of a request that failed to decode, as far as they can be read. @internal */
export const describeMalformed = (raw: unknown): { readonly id: string; readonly type: string } => ({
  id: Predicate.hasProperty(raw, "id") && typeof raw.id === "string" ? raw.id : "",
  type: Predicate.hasProperty(raw, "type") && typeof raw.type === "string" ? raw.type : ""
})

/** @internal */
export const requestError = (
  requestId: string,
  type: string,
  reason: RequestError["reason"],
  detail: string
): RequestError => new RequestError({ requestId, type, reason, detail })

/** @internal */
export const invalid = (
  requestId: string,
  type: string,
  reason: "InvalidRequest" | "InvalidResponse",
  what: string,
  error: ParseResult.ParseError
): RequestError => requestError(requestId, type, reason, `${what}: ${formatParseError(error)}`)

/** @internal */
export const defaultName = "request-response"

/**
 * Options of both shells. Durations are milliseconds, duration strings or Durations.
 *
 * @internal
 */
export const OptionsSchema = Schema.Struct({
  name: Schema.optionalWith(V.Name, { exact: true }),
  concurrency: Schema.optionalWith(V.PositiveInt, { exact: true }),
  queueSize: Schema.optionalWith(V.NonNegativeInt, { exact: true }),
  dedupWindow: Schema.optionalWith(V.DurationInput, { exact: true }),
  dedupCapacity: Schema.optionalWith(V.PositiveInt, { exact: true }),
  defaultTimeout: Schema.optionalWith(V.PositiveDuration, { exact: true })
})

/**
 * Options with their `undefined` fields dropped. The schema's fields are exact
 * (`undefined` is not a value of them), which keeps each problem message about the
 * field's own type.
 *
 * @internal
 */
export const definedOptions = (options: unknown): unknown =>
  Predicate.isRecord(options)
    ? Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
    : options

/** Durations in milliseconds. @internal */
export const defaults = {
  name: defaultName,
  concurrency: 10,
  queueSize: 100,
  dedupWindow: 60_000,
  dedupCapacity: 10_000,
  defaultTimeout: fromSetting("defaultTimeout")
} as const

/** @internal */
export interface Resolved {
  readonly name: string
  readonly concurrency: number
  readonly queueSize: number
  readonly dedupWindow: number
  readonly dedupCapacity: number
  readonly defaultTimeout: Duration.Duration | undefined
}

/** @internal */
export const resolveOptions = (options: typeof OptionsSchema.Type): Resolved => ({
  name: options.name ?? defaults.name,
  concurrency: options.concurrency ?? defaults.concurrency,
  queueSize: options.queueSize ?? defaults.queueSize,
  dedupWindow: options.dedupWindow === undefined
    ? defaults.dedupWindow
    : Duration.toMillis(options.dedupWindow),
  dedupCapacity: options.dedupCapacity ?? defaults.dedupCapacity,
  defaultTimeout: options.defaultTimeout
})

/** Requests are the same when their type and id are. @internal */
export const dedupKey = (type: string, id: string): string => `${type}\u0000${id}`

/** The sender's outcome for a failed request, as counted in `calls`. @internal */
export const clientOutcome = (error: unknown): string => {
  if (error instanceof TimeoutError) return "timeout"
  if (error instanceof RequestError) {
    switch (error.reason) {
      case "NoHandler":
      case "QueueFull":
        return "rejected"
      case "InvalidRequest":
      case "InvalidResponse":
        return "invalid"
      case "Transport":
        return "transport"
      case "Handler":
        return "failure"
    }
  }
  return "failure"
}
