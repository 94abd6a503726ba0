/**
 * Request-response: handlers registered by request type, each with a Schema for its
 * payload, its response and (optionally) its typed errors, reached through a
 * {@link Transport}: in memory, in the same process, or over HTTP with JSON bodies.
 *
 * - Both sides validate: a malformed request or response becomes a `RequestError`
 *   (`InvalidRequest` / `InvalidResponse`), never a crash.
 * - A handler's typed errors cross the transport and arrive as the same typed errors.
 * - `metadata.timeout` bounds each request (the global `defaultTimeout` otherwise),
 *   on the sending side and on the serving side, with the Timeout pattern: inside an
 *   enclosing `Timeout` whose deadline comes first, that deadline wins, and the
 *   receiver is sent the budget left rather than the request's own.
 * - Handlers run at most `concurrency` at a time; the others wait in a bounded queue,
 *   ordered by `metadata.priority`.
 * - A request id seen again within `dedupWindow` is answered from the first result
 *   (in flight or finished) instead of running twice.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpServer from "@effect/platform/HttpServer"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { InvalidConfigError, RequestError, TimeoutError } from "./Errors.js"
import type { SettingDefault } from "./IntegrationPatterns.js"
import * as Envelope from "./internal/requestResponse/envelope.js"
import * as http from "./internal/requestResponse/http.js"
import * as internal from "./internal/requestResponse/service.js"
import type { PatternEventBase } from "./PatternEvents.js"

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

/**
 * The order in which queued requests get a handler slot.
 *
 * @since 0.1.0
 * @category Models
 */
export type Priority = "high" | "normal" | "low"

/**
 * What a sender may attach to a request.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RequestMetadata {
  /** The request's budget, end to end. Defaults to the instance's `defaultTimeout`, else the global one. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Defaults to `"normal"`. */
  readonly priority?: Priority | undefined
  /** Carried through to the response. Defaults to the request id. */
  readonly correlationId?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * A request as a sender builds it. The type comes from the {@link Endpoint}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RequestInput<P> {
  /** Unique per request: a request sent again with the same id is answered from the first. */
  readonly id: string
  readonly payload: P
  readonly metadata?: RequestMetadata | undefined
}

/**
 * A request as its handler sees it: the payload decoded with the endpoint's schema and
 * every metadata field filled in.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Request<P> {
  readonly id: string
  readonly type: string
  readonly payload: P
  readonly metadata: {
    /** The budget this request is served under. */
    readonly timeout: Duration.Duration
    readonly priority: Priority
    readonly correlationId: string
    readonly headers: Readonly<Record<string, string>>
  }
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface ResponseMetadata {
  /** Milliseconds from the server receiving the request to its answer, queueing included. */
  readonly duration: number
  /** How many times the handler ran to produce this answer. */
  readonly attempts: number
}

/**
 * A successful answer. Failures arrive in the error channel of `send`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Response<A> {
  readonly id: string
  readonly correlationId: string
  readonly status: "success"
  readonly payload: A
  readonly metadata: ResponseMetadata
}

/**
 * A request on the wire: `{ id, type, payload, metadata: { timeout, priority,
 * correlationId, headers } }`, with the payload encoded by its endpoint's schema and the
 * timeout in milliseconds. Every field is JSON.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const RequestEnvelope = Envelope.RequestEnvelope

/**
 * @since 0.1.0
 * @category Schemas
 */
export type RequestEnvelope = Envelope.RequestEnvelope

/**
 * A response on the wire: `{ id, correlationId, status, payload | error, metadata:
 * { duration, attempts } }`. `status` is `"success"` (with the encoded `payload`) or
 * `"failure"` (with the encoded typed `error`).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ResponseEnvelope = Envelope.ResponseEnvelope

/**
 * @since 0.1.0
 * @category Schemas
 */
export type ResponseEnvelope = Envelope.ResponseEnvelope

/**
 * The contract of one request type, shared by its handler and its senders: the schemas
 * of its payload, its response and its typed errors.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Endpoint<P, R, E = never> {
  readonly type: string
  readonly payload: Schema.Schema<P, any>
  readonly response: Schema.Schema<R, any>
  readonly error: Schema.Schema<E, any>
}

/**
 * Declares a request type. Schemas left out accept anything (`Schema.Unknown`); without
 * an `error` schema the handler has no typed errors of its own.
 *
 * @example
 * ```ts
 * import { RequestResponse } from "@integration-patterns/core"
 * import { Schema } from "effect"
 *
 * class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", { id: Schema.String }) {}
 *
 * const GetUser = RequestResponse.endpoint("get-user", {
 *   payload: Schema.Struct({ id: Schema.String }),
 *   response: Schema.Struct({ id: Schema.String, name: Schema.String }),
 *   error: UserNotFound
 * })
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const endpoint: <P = unknown, PI = P, R = unknown, RI = R, E = never, EI = E>(
  type: string,
  schemas?: {
    readonly payload?: Schema.Schema<P, PI> | undefined
    readonly response?: Schema.Schema<R, RI> | undefined
    readonly error?: Schema.Schema<E, EI> | undefined
  }
) => Endpoint<P, R, E> = internal.endpoint

/**
 * Options for {@link make}. Durations take milliseconds, strings such as `"5 seconds"`,
 * or Durations.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** Tags metrics, events and the registry entry. Defaults to `"request-response"`. */
  readonly name?: string | undefined
  /** Handlers running at once. Defaults to 10. */
  readonly concurrency?: number | undefined
  /** Requests that may wait for a slot; one more is rejected with `QueueFull`. Defaults to 100. */
  readonly queueSize?: number | undefined
  /** How long a finished result answers duplicates of its request id; 0 turns this off. Defaults to 1 minute. */
  readonly dedupWindow?: Duration.DurationInput | undefined
  /** The most finished results remembered at once (the oldest go first). Defaults to 10,000. */
  readonly dedupCapacity?: number | undefined
  /** The budget of requests without `metadata.timeout`. Defaults to the global `defaultTimeout` (30 seconds). */
  readonly defaultTimeout?: Duration.DurationInput | undefined
}

/**
 * A snapshot of one instance.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Stats {
  /** Request types with a handler. */
  readonly handlers: ReadonlyArray<string>
  readonly concurrency: number
  readonly queueSize: number
  /** Handler slots in use. */
  readonly running: number
  /** Requests waiting for a slot. */
  readonly queued: number
  /** Requests answered by this instance's handlers (with a server transport, deadlines that passed included). */
  readonly served: number
  /** Requests answered from an earlier request with the same id. */
  readonly duplicates: number
  /** Requests turned away before a handler ran (no handler, invalid, queue full). */
  readonly rejected: number
  /** Requests that ran out of time: sent from here, or served here through a server transport. */
  readonly timedOut: number
  /** Requests this instance sent. */
  readonly sent: number
  readonly succeeded: number
  readonly failed: number
  /** Request ids remembered for duplicate detection. */
  readonly remembered: number
}

/**
 * One instance: it serves the handlers registered on it, and sends requests through
 * its {@link Transport}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RequestResponse {
  readonly name: string
  /**
   * Serves requests of `endpoint.type` with `handle` for the lifetime of the current
   * scope. Registering a type again replaces its handler.
   */
  readonly register: <P, R, E, Env>(
    endpoint: Endpoint<P, R, E>,
    handle: (request: Request<P>) => Effect.Effect<R, E, Env>
  ) => Effect.Effect<void, never, Scope.Scope | Env>
  /** Sends a request and decodes its answer. */
  readonly send: <P, R, E>(
    endpoint: Endpoint<P, R, E>,
    request: RequestInput<P>
  ) => Effect.Effect<Response<R>, E | RequestError | TimeoutError>
  /**
   * Answers one request envelope with this instance's handlers, under the request's
   * deadline. This is what a server transport calls; it never fails.
   */
  readonly serve: (envelope: unknown) => Effect.Effect<ResponseEnvelope>
  readonly stats: Effect.Effect<Stats>
}

/**
 * The defaults of optional options, as an instance applies them (durations in
 * milliseconds). `defaultTimeout` is the setting of the same name in force.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly name: string
  readonly concurrency: number
  readonly queueSize: number
  readonly dedupWindow: number
  readonly dedupCapacity: number
  readonly defaultTimeout: SettingDefault<"defaultTimeout">
} = Envelope.defaults

/**
 * @since 0.1.0
 * @category Tags
 */
export const RequestResponse: Context.Tag<RequestResponse, RequestResponse> = internal.RequestResponseTag

/**
 * How a sender reaches the handlers. `loopback` answers from the sending instance's own
 * handlers; the memory transport is just that. A transport fails only with a
 * `RequestError` of reason `Transport` (or `InvalidRequest` when the request cannot be
 * sent); the server's answers, failures included, are response envelopes.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Transport {
  readonly send: (
    request: RequestEnvelope,
    loopback: (request: RequestEnvelope) => Effect.Effect<ResponseEnvelope>
  ) => Effect.Effect<unknown, RequestError>
}

/**
 * The transport used by {@link make}. Without one, requests go to the instance's own
 * handlers, in memory.
 *
 * @since 0.1.0
 * @category Tags
 */
export const Transport: Context.Tag<Transport, Transport> = internal.TransportTag

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/**
 * A request waits for a handler slot. `queued` counts the waiting requests, this one included.
 *
 * @since 0.1.0
 * @category Events
 */
export interface RequestQueued extends PatternEventBase {
  readonly _tag: "RequestQueued"
  readonly pattern: "RequestResponse"
  readonly requestId: string
  readonly type: string
  readonly priority: Priority
  readonly queued: number
}

/**
 * A request was turned away before any handler ran.
 *
 * @since 0.1.0
 * @category Events
 */
export interface RequestRejected extends PatternEventBase {
  readonly _tag: "RequestRejected"
  readonly pattern: "RequestResponse"
  readonly requestId: string
  readonly type: string
  readonly reason: "NoHandler" | "InvalidRequest" | "QueueFull"
}

/**
 * A request id was seen again and answered from the first request (`inFlight`: the
 * first had not finished yet).
 *
 * @since 0.1.0
 * @category Events
 */
export interface RequestDeduplicated extends PatternEventBase {
  readonly _tag: "RequestDeduplicated"
  readonly pattern: "RequestResponse"
  readonly requestId: string
  readonly type: string
  readonly inFlight: boolean
}

/**
 * A handler answered (server side). `duration` is in milliseconds.
 *
 * @since 0.1.0
 * @category Events
 */
export interface RequestServed extends PatternEventBase {
  readonly _tag: "RequestServed"
  readonly pattern: "RequestResponse"
  readonly requestId: string
  readonly type: string
  readonly correlationId: string
  readonly outcome: "success" | "failure" | "invalid_response" | "handler_error"
  readonly duration: number
}

/**
 * A sender got its answer (client side). `outcome` is `success`, `failure`, `timeout`,
 * `rejected`, `invalid`, `transport` or `interrupted`; `duration` is in milliseconds.
 *
 * @since 0.1.0
 * @category Events
 */
export interface ResponseReceived extends PatternEventBase {
  readonly _tag: "ResponseReceived"
  readonly pattern: "RequestResponse"
  readonly requestId: string
  readonly type: string
  readonly outcome: string
  readonly duration: number
}

/**
 * @since 0.1.0
 * @category Events
 */
export type RequestResponseEvent =
  | RequestQueued
  | RequestRejected
  | RequestDeduplicated
  | RequestServed
  | ResponseReceived

declare module "./PatternEvents.js" {
  interface PatternEventRegistry {
    readonly RequestResponse: RequestResponseEvent
  }
}

// ---------------------------------------------------------------------------
// Constructors and layers
// ---------------------------------------------------------------------------

/**
 * Builds an instance. It registers itself for health reporting for the lifetime of the
 * scope, and sends through the {@link Transport} in context (in memory without one).
 *
 * @example
 * ```ts
 * import { RequestResponse } from "@integration-patterns/core"
 * import { Effect, Schema } from "effect"
 *
 * const Echo = RequestResponse.endpoint("echo", { payload: Schema.String, response: Schema.String })
 *
 * const program = Effect.gen(function*() {
 *   const rr = yield* RequestResponse.make({ name: "echo", concurrency: 4 })
 *   yield* rr.register(Echo, (request) => Effect.succeed(request.payload))
 *   const response = yield* rr.send(Echo, { id: "req-1", payload: "hello", metadata: { timeout: "1 second" } })
 *   return response.payload
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: (options?: Options) => Effect.Effect<RequestResponse, InvalidConfigError, Scope.Scope> =
  internal.make

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<RequestResponse, InvalidConfigError> =>
  Layer.scoped(RequestResponse, make(options))

/**
 * Reads the options from Effect `Config` (environment variables, by default).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  config: Config.Config<Options>
): Layer.Layer<RequestResponse, ConfigError.ConfigError | InvalidConfigError> =>
  Layer.scoped(RequestResponse, Effect.flatMap(config, make))

/**
 * Registers a handler on the {@link RequestResponse} in context for the lifetime of the layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerHandler = <P, R, E, Env>(
  endpoint: Endpoint<P, R, E>,
  handle: (request: Request<P>) => Effect.Effect<R, E, Env>
): Layer.Layer<never, never, RequestResponse | Exclude<Env, Scope.Scope>> =>
  Layer.scopedDiscard(Effect.flatMap(RequestResponse, (rr) => rr.register(endpoint, handle)))

/**
 * Sends a request with the {@link RequestResponse} in context.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const send = <P, R, E>(
  endpoint: Endpoint<P, R, E>,
  request: RequestInput<P>
): Effect.Effect<Response<R>, E | RequestError | TimeoutError, RequestResponse> =>
  Effect.flatMap(RequestResponse, (rr) => rr.send(endpoint, request))

/**
 * The in-memory transport: requests go to the sending instance's own handlers, through
 * the same validation, queueing and encoding as over HTTP. This is also what an
 * instance uses when no transport is provided.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerTransportMemory: Layer.Layer<Transport> = Layer.succeed(Transport, internal.memoryTransport)

/**
 * The HTTP transport: each request is POSTed as JSON to `url` (a server built with
 * {@link layerHttpServer}), through the `HttpClient` in context (for example
 * `NodeHttpClient.layerUndici` from `@effect/platform-node`).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerTransportHttp: (
  options: { readonly url: string | URL }
) => Layer.Layer<Transport, InvalidConfigError, HttpClient.HttpClient> = http.layerTransportHttp

/**
 * Serves the {@link RequestResponse} in context on the `HttpServer` in context (for
 * example `NodeHttpServer.layer` from `@effect/platform-node`), answering
 * `POST {path}` (default `/requests`) with JSON bodies.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerHttpServer: (
  options?: { readonly path?: string | undefined }
) => Layer.Layer<never, InvalidConfigError, HttpServer.HttpServer | RequestResponse> = http.layerHttpServer

/**
 * The HTTP handler of the {@link RequestResponse} in context, to mount on a route of
 * your own router.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const httpApp: Effect.Effect<HttpApp.Default, never, RequestResponse> = http.httpApp
