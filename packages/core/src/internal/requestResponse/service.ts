import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { IntegrationPatternsError, type InvalidConfigError, RequestError, TimeoutError } from "../../Errors.js"
import * as IntegrationPatterns from "../../IntegrationPatterns.js"
import * as Metrics from "../../Metrics.js"
import * as PatternEvents from "../../PatternEvents.js"
import type * as RR from "../../RequestResponse.js"
import { readSetting } from "../settingDefault.js"
import { clockOf } from "../fiberEnv.js"
import { currentDeadlines } from "../timeout/deadline.js"
import { makeDeadline } from "../timeout/timeout.js"
import { decodeOptions } from "../validation.js"
import * as Admission from "./admission.js"
import * as Dedup from "./dedup.js"
import * as Stats from "./stats.js"
import * as Envelope from "./envelope.js"

/** The schemas of an endpoint, compiled once. */
interface Codecs {
  readonly encodePayload: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decodePayload: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly encodeResponse: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decodeResponse: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly encodeError: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decodeError: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
}

const codecCache = new WeakMap<RR.Endpoint<any, any, any>, Codecs>()

const parseAll = { errors: "all" } as const

const codecs = (endpoint: RR.Endpoint<any, any, any>): Codecs => {
  let found = codecCache.get(endpoint)
  if (found === undefined) {
    // A handler may fail with its own errors or with any toolkit error it passes on;
    // a client accepts its endpoint's errors and the two errors the exchange itself adds.
    const served = Schema.Union(endpoint.error, IntegrationPatternsError)
    const received = Schema.Union(endpoint.error, RequestError, TimeoutError)
    found = {
      encodePayload: Schema.encodeUnknownEither(endpoint.payload, parseAll),
      decodePayload: Schema.decodeUnknownEither(endpoint.payload, parseAll),
      encodeResponse: Schema.encodeUnknownEither(endpoint.response, parseAll),
      decodeResponse: Schema.decodeUnknownEither(endpoint.response, parseAll),
      encodeError: Schema.encodeUnknownEither(served, parseAll),
      decodeError: Schema.decodeUnknownEither(received, parseAll)
    }
    codecCache.set(endpoint, found)
  }
  return found
}

/** @internal */
export const endpoint = (
  type: string,
  schemas: {
    readonly payload?: Schema.Schema<any, any> | undefined
    readonly response?: Schema.Schema<any, any> | undefined
    readonly error?: Schema.Schema<any, any> | undefined
  } = {}
): RR.Endpoint<any, any, any> => ({
  type,
  payload: schemas.payload ?? Schema.Unknown,
  response: schemas.response ?? Schema.Unknown,
  error: schemas.error ?? (Schema.Never as unknown as Schema.Schema<any, any>)
})

interface Registered {
  readonly codecs: Codecs
  readonly handle: (request: RR.Request<any>) => Effect.Effect<unknown, unknown>
}

/**
 * A request in flight, as duplicates see it. The deferred is made only when a duplicate
 * arrives; it completes with the answer, or with None when the first request did not
 * finish (the duplicate then runs on its own).
 */
interface Pending {
  deferred: Deferred.Deferred<Option.Option<Envelope.ResponseEnvelope>> | undefined
}

const awaitPending = (pending: Pending) => {
  pending.deferred ??= Deferred.unsafeMake(FiberId.none)
  return Deferred.await(pending.deferred)
}

const completePending = (pending: Pending, answer: Option.Option<Envelope.ResponseEnvelope>): void => {
  if (pending.deferred !== undefined) Deferred.unsafeDone(pending.deferred, Exit.succeed(answer))
}

const encodeRequestError = Schema.encodeSync(RequestError)
const encodeTimeoutError = Schema.encodeSync(TimeoutError)

const defectDetail = (cause: Cause.Cause<unknown>): string => {
  const defect = Cause.squash(cause)
  return defect instanceof Error ? defect.message : String(defect)
}

class RequestResponseImpl implements RR.RequestResponse {
  readonly name: string
  private readonly handlers = new Map<string, Registered>()
  private readonly admission: Admission.Admission<Deferred.Deferred<void>>
  private readonly dedup: Dedup.Dedup<Pending, Envelope.ResponseEnvelope>
  private readonly metrics: Metrics.PatternMetrics
  private readonly loopback: (request: unknown) => Effect.Effect<Envelope.ResponseEnvelope>
  /** The Timeout pattern with a per-request budget: it nests in the caller's deadlines. */
  private readonly deadline: ReturnType<typeof makeDeadline>
  private readonly counts = new Stats.DispatchCounters()

  constructor(
    readonly options: Envelope.Resolved,
    private readonly transport: RR.Transport,
    private readonly config: { readonly get: () => IntegrationPatterns.Settings },
    private readonly bus: PatternEvents.PatternEventsService,
    private readonly clock: Clock.Clock
  ) {
    this.name = options.name
    this.admission = Admission.make(options.concurrency, options.queueSize)
    this.dedup = Dedup.make(options.dedupWindow, options.dedupCapacity)
    this.metrics = new Metrics.PatternMetrics("RequestResponse", options.name, config.get().enableMetrics)
    this.loopback = (request) => this.dispatch(request, false)
    this.deadline = makeDeadline(options.name)
  }

  private now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  private defaultTimeout(): Duration.Duration {
    return this.options.defaultTimeout ?? readSetting(Envelope.defaults.defaultTimeout, this.config.get())
  }

  private publish(event: RR.RequestResponseEvent): void {
    this.bus.unsafePublish(event)
  }

  // ---- serving ----------------------------------------------------------------

  register = <P, R, E, Env>(
    endpoint: RR.Endpoint<P, R, E>,
    handle: (request: RR.Request<P>) => Effect.Effect<R, E, Env>
  ): Effect.Effect<void, never, Scope.Scope | Env> =>
    Effect.contextWith((context: Context.Context<Env>) => {
      const entry: Registered = {
        codecs: codecs(endpoint),
        // The handler runs with the services it was registered with (so with `Env`),
        // whichever fiber serves it.
        handle: (request) =>
          Effect.locally(
            handle(request as RR.Request<P>) as Effect.Effect<R, E>,
            FiberRef.currentContext,
            context as Context.Context<never>
          )
      }
      return entry
    }).pipe(
      Effect.flatMap((entry) =>
        Effect.acquireRelease(
          Effect.sync(() => this.handlers.set(endpoint.type, entry)),
          () =>
            Effect.sync(() => {
              if (this.handlers.get(endpoint.type) === entry) this.handlers.delete(endpoint.type)
            })
        )
      ),
      Effect.asVoid
    )

  serve = (request: unknown): Effect.Effect<Envelope.ResponseEnvelope> => this.dispatch(request, true)

  private failure(
    id: string,
    correlationId: string,
    error: unknown,
    start: number
  ): Envelope.ResponseEnvelope {
    return {
      id,
      correlationId,
      status: "failure",
      error,
      metadata: { duration: Math.max(0, this.now() - start), attempts: 1 }
    }
  }

  private reject(
    id: string,
    type: string,
    correlationId: string,
    reason: "NoHandler" | "InvalidRequest" | "QueueFull",
    detail: string,
    start: number
  ): Envelope.ResponseEnvelope {
    Stats.recordRejection(this.counts, this.metrics, this.bus, this.name, { id, type }, reason, start)
    return this.failure(id, correlationId, encodeRequestError(Envelope.requestError(id, type, reason, detail)), start)
  }

  /**
   * Answers one request envelope. With `enforce`, the request's own deadline (or the
   * default one) bounds its wait in the queue and its handler; the memory transport
   * passes false because the sender already enforces the same deadline.
   */
  private dispatch(raw: unknown, enforce: boolean): Effect.Effect<Envelope.ResponseEnvelope> {
    return Effect.suspend(() => {
      const decoded = Envelope.decodeRequestEnvelope(raw)
      if (Either.isRight(decoded)) return this.dispatchValid(decoded.right, enforce)
      const { id, type } = Envelope.describeMalformed(raw)
      return Effect.succeed(
        this.reject(id, type, id, "InvalidRequest", `malformed request: ${Envelope.formatParseError(decoded.left)}`, this.now())
      )
    })
  }

  private dispatchValid(request: Envelope.RequestEnvelope, enforce: boolean): Effect.Effect<Envelope.ResponseEnvelope> {
    return Effect.suspend(() => {
      const start = this.now()
      const correlationId = request.metadata?.correlationId ?? request.id
      const handler = this.handlers.get(request.type)
      if (handler === undefined) {
        return Effect.succeed(
          this.reject(request.id, request.type, correlationId, "NoHandler", `no handler for "${request.type}"`, start)
        )
      }
      const timeout = request.metadata?.timeout === undefined
        ? this.defaultTimeout()
        : Duration.millis(request.metadata.timeout)
      const work = this.answer(request, correlationId, handler, timeout, start)
      if (!enforce) return work
      return this.deadline(work, Duration.toMillis(timeout)).pipe(
        Effect.catchAll((error) => {
          this.counts.timedOut++
          this.metrics.count(Metrics.requestsServed, "timeout")
          this.counts.served++
          return Effect.succeed(this.failure(request.id, correlationId, encodeTimeoutError(error), start))
        })
      )
    })
  }

  /** Dedup, admission, the handler, and the encoded response. */
  private answer(
    request: Envelope.RequestEnvelope,
    correlationId: string,
    handler: Registered,
    timeout: Duration.Duration,
    start: number
  ): Effect.Effect<Envelope.ResponseEnvelope> {
    return Effect.suspend(() => {
      const key = Envelope.dedupKey(request.type, request.id)
      const seen = Dedup.lookup(this.dedup, key, this.now())
      if (seen._tag !== "Miss") {
        this.counts.duplicates++
        this.metrics.count(Metrics.requestsServed, "duplicate")
        if (this.bus.active) {
          this.publish({
            _tag: "RequestDeduplicated",
            pattern: "RequestResponse",
            name: this.name,
            timestamp: this.now(),
            requestId: request.id,
            type: request.type,
            inFlight: seen._tag === "InFlight"
          })
        }
        if (seen._tag === "Done") return Effect.succeed(seen.value)
        // The first request did not finish (it was interrupted): run this one instead.
        return Effect.flatMap(
          awaitPending(seen.pending),
          Option.match({
            onNone: () => this.answer(request, correlationId, handler, timeout, start),
            onSome: Effect.succeed
          })
        )
      }
      const payload = handler.codecs.decodePayload(request.payload)
      if (Either.isLeft(payload)) {
        return Effect.succeed(
          this.reject(
            request.id,
            request.type,
            correlationId,
            "InvalidRequest",
            `payload: ${Envelope.formatParseError(payload.left)}`,
            start
          )
        )
      }
      const priority = request.metadata?.priority ?? "normal"
      const decision = Admission.admit(this.admission, priority, () => Deferred.unsafeMake<void>(FiberId.none))
      if (decision._tag === "Full") {
        return Effect.succeed(
          this.reject(
            request.id,
            request.type,
            correlationId,
            "QueueFull",
            `${this.admission.running} running and ${this.admission.queued} queued`,
            start
          )
        )
      }
      const pending: Pending = { deferred: undefined }
      Dedup.begin(this.dedup, key, pending)
      this.metrics.set(Metrics.requestQueueDepth, this.admission.queued)
      if (decision._tag === "Queued" && this.bus.active) {
        this.publish({
          _tag: "RequestQueued",
          pattern: "RequestResponse",
          name: this.name,
          timestamp: start,
          requestId: request.id,
          type: request.type,
          priority,
          queued: this.admission.queued
        })
      }
      const received: RR.Request<unknown> = {
        id: request.id,
        type: request.type,
        payload: payload.right,
        metadata: {
          timeout,
          priority,
          correlationId,
          headers: request.metadata?.headers ?? {}
        }
      }
      return Effect.uninterruptibleMask((restore) =>
        (decision._tag === "Queued" ? this.awaitTurn(decision.ticket, restore) : Effect.void).pipe(
          Effect.zipRight(Effect.exit(restore(handler.handle(received)))),
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              Dedup.forget(this.dedup, key)
              completePending(pending, Option.none())
            })
          ),
          Effect.flatMap((exit) => {
            this.releaseSlot()
            if (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)) {
              Dedup.forget(this.dedup, key)
              completePending(pending, Option.none())
              return Effect.failCause(exit.cause as Cause.Cause<never>)
            }
            const response = this.respond(request, correlationId, handler, exit, start)
            Dedup.complete(this.dedup, key, response, this.now())
            completePending(pending, Option.some(response))
            return Effect.succeed(response)
          })
        )
      )
    })
  }

  private awaitTurn(
    ticket: Admission.Ticket<Deferred.Deferred<void>>,
    restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  ): Effect.Effect<void> {
    return restore(Deferred.await(ticket.value)).pipe(
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          // A slot handed over at the moment of the interruption is ours to give back.
          if (!Admission.cancel(this.admission, ticket)) this.releaseSlot()
          this.metrics.set(Metrics.requestQueueDepth, this.admission.queued)
        })
      )
    )
  }

  private releaseSlot(): void {
    const next = Admission.release(this.admission)
    if (next !== undefined) Deferred.unsafeDone(next.value, Exit.void)
    this.metrics.set(Metrics.requestQueueDepth, this.admission.queued)
  }

  private respond(
    request: Envelope.RequestEnvelope,
    correlationId: string,
    handler: Registered,
    exit: Exit.Exit<unknown, unknown>,
    start: number
  ): Envelope.ResponseEnvelope {
    this.counts.served++
    let outcome: "success" | "failure" | "invalid_response" | "handler_error"
    let response: Envelope.ResponseEnvelope
    if (Exit.isSuccess(exit)) {
      const encoded = handler.codecs.encodeResponse(exit.value)
      if (Either.isRight(encoded)) {
        outcome = "success"
        response = {
          id: request.id,
          correlationId,
          status: "success",
          payload: encoded.right,
          metadata: { duration: Math.max(0, this.now() - start), attempts: 1 }
        }
      } else {
        outcome = "invalid_response"
        response = this.failure(
          request.id,
          correlationId,
          encodeRequestError(
            Envelope.invalid(request.id, request.type, "InvalidResponse", "handler response", encoded.left)
          ),
          start
        )
      }
    } else {
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure)) {
        const encoded = handler.codecs.encodeError(failure.value)
        outcome = Either.isRight(encoded) ? "failure" : "invalid_response"
        response = this.failure(
          request.id,
          correlationId,
          Either.isRight(encoded)
            ? encoded.right
            : encodeRequestError(
              Envelope.invalid(request.id, request.type, "InvalidResponse", "handler error", encoded.left)
            ),
          start
        )
      } else {
        outcome = "handler_error"
        response = this.failure(
          request.id,
          correlationId,
          encodeRequestError(
            Envelope.requestError(request.id, request.type, "Handler", `handler crashed: ${defectDetail(exit.cause)}`)
          ),
          start
        )
      }
    }
    this.metrics.count(Metrics.requestsServed, outcome)
    if (this.bus.active) {
      this.publish({
        _tag: "RequestServed",
        pattern: "RequestResponse",
        name: this.name,
        timestamp: this.now(),
        requestId: request.id,
        type: request.type,
        correlationId,
        outcome,
        duration: response.metadata.duration
      })
    }
    return response
  }

  // ---- sending ----------------------------------------------------------------

  send = <P, R, E>(
    endpoint: RR.Endpoint<P, R, E>,
    request: RR.RequestInput<P>
  ): Effect.Effect<RR.Response<R>, E | RequestError | TimeoutError> =>
    Effect.withFiberRuntime((fiber) => {
      const start = this.now()
      this.counts.sent++
      const sent = Envelope.decodeSendRequest({
        id: request.id,
        type: endpoint.type,
        payload: request.payload,
        metadata: request.metadata
      })
      const id = typeof request.id === "string" ? request.id : ""
      if (Either.isLeft(sent)) {
        return this.settle(
          start,
          id,
          endpoint.type,
          Effect.fail(Envelope.invalid(id, endpoint.type, "InvalidRequest", "malformed request", sent.left))
        )
      }
      const c = codecs(endpoint)
      const encoded = c.encodePayload(request.payload)
      if (Either.isLeft(encoded)) {
        return this.settle(
          start,
          id,
          endpoint.type,
          Effect.fail(Envelope.invalid(id, endpoint.type, "InvalidRequest", "payload", encoded.left))
        )
      }
      const metadata = sent.right.metadata
      // The receiver gets the budget left: the request's own, or less when an enclosing
      // deadline comes first (the exchange fails at once if it has already passed).
      const own = Duration.toMillis(metadata?.timeout ?? this.defaultTimeout())
      const enclosing = fiber.getFiberRef(currentDeadlines).top
      const timeout = enclosing === undefined
        ? own
        : Math.min(own, Math.max(1, enclosing.deadline - clockOf(fiber).unsafeCurrentTimeMillis()))
      const envelope: Envelope.RequestEnvelope = {
        id,
        type: endpoint.type,
        payload: encoded.right,
        metadata: {
          timeout,
          priority: metadata?.priority ?? "normal",
          correlationId: metadata?.correlationId ?? id,
          headers: metadata?.headers ?? {}
        }
      }
      // In memory, the envelopes are built here and by this instance's dispatcher, so they
      // are not decoded again; payloads still go through their schemas both ways.
      const exchange = this.transport === memoryTransport
        ? Effect.flatMap(
          this.deadline(this.dispatchValid(envelope, false), own),
          (response) => this.receiveValid(endpoint, c, id, response)
        )
        : Effect.flatMap(
          this.deadline(this.transport.send(envelope, this.loopback), own),
          (raw) => this.receive(endpoint, c, id, raw)
        )
      return this.settle(start, id, endpoint.type, exchange)
    })

  private receive<P, R, E>(
    endpoint: RR.Endpoint<P, R, E>,
    c: Codecs,
    id: string,
    raw: unknown
  ): Effect.Effect<RR.Response<R>, E | RequestError | TimeoutError> {
    const decoded = Envelope.decodeResponseEnvelope(raw)
    return Either.isRight(decoded)
      ? this.receiveValid(endpoint, c, id, decoded.right)
      : Effect.fail(Envelope.invalid(id, endpoint.type, "InvalidResponse", "malformed response", decoded.left))
  }

  private receiveValid<P, R, E>(
    endpoint: RR.Endpoint<P, R, E>,
    c: Codecs,
    id: string,
    envelope: Envelope.ResponseEnvelope
  ): Effect.Effect<RR.Response<R>, E | RequestError | TimeoutError> {
    if (envelope.status === "failure") {
      const error = c.decodeError(envelope.error)
      return Either.isRight(error)
        ? Effect.fail(error.right as E | RequestError | TimeoutError)
        : Effect.fail(Envelope.invalid(id, endpoint.type, "InvalidResponse", "response error", error.left))
    }
    const payload = c.decodeResponse(envelope.payload)
    if (Either.isLeft(payload)) {
      return Effect.fail(Envelope.invalid(id, endpoint.type, "InvalidResponse", "response payload", payload.left))
    }
    return Effect.succeed({
      id: envelope.id,
      correlationId: envelope.correlationId,
      status: "success",
      payload: payload.right as R,
      metadata: envelope.metadata
    })
  }

  /** Client-side metrics and events for one exchange. */
  private settle<A, E>(start: number, id: string, type: string, exchange: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.onExit(exchange, (exit) =>
      Effect.sync(() => {
        const end = this.now()
        const outcome = Exit.isSuccess(exit)
          ? "success"
          : Option.match(Cause.failureOption(exit.cause), { onNone: () => "interrupted", onSome: Envelope.clientOutcome })
        if (outcome === "success") this.counts.succeeded++
        else this.counts.failed++
        if (outcome === "timeout") this.counts.timedOut++
        this.metrics.count(Metrics.calls, outcome)
        this.metrics.observe(Metrics.callDuration, (end - start) / 1000)
        if (this.bus.active) {
          this.publish({
            _tag: "ResponseReceived",
            pattern: "RequestResponse",
            name: this.name,
            timestamp: end,
            requestId: id,
            type,
            outcome,
            duration: end - start
          })
        }
      }))
  }

  // ---- introspection ----------------------------------------------------------

  snapshot(): RR.Stats {
    return Stats.dispatcherStats(this.handlers, this.admission, this.counts, this.dedup)
  }

  stats: Effect.Effect<RR.Stats> = Effect.sync(() => this.snapshot())

  health(): IntegrationPatterns.PatternHealth {
    return Admission.health(this.admission)
  }
}

/** @internal */
export const make = (
  options: RR.Options = {}
): Effect.Effect<RR.RequestResponse, InvalidConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const decoded = yield* decodeOptions("RequestResponse", Envelope.OptionsSchema, Envelope.definedOptions(options))
    const resolved = Envelope.resolveOptions(decoded)
    const config = yield* IntegrationPatterns.GlobalConfig
    const transport = Option.getOrElse(yield* Effect.serviceOption(TransportTag), () => memoryTransport)
    const bus = yield* PatternEvents.PatternEvents
    const clock = yield* Effect.clock
    const service = new RequestResponseImpl(resolved, transport, config, bus, clock)
    yield* IntegrationPatterns.register({
      kind: "RequestResponse",
      name: resolved.name,
      stats: () => ({ ...service.snapshot() }),
      health: () => service.health()
    })
    return service
  })

/** @internal */
export const memoryTransport: RR.Transport = { send: (request, loopback) => loopback(request) }

/** @internal */
export const TransportTag = Context.GenericTag<RR.Transport>("@integration-patterns/core/RequestResponse/Transport")

/** @internal */
export const RequestResponseTag = Context.GenericTag<RR.RequestResponse>("@integration-patterns/core/RequestResponse")
