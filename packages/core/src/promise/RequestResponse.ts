/**
 * Request-response for Promise code: handlers registered by type on one object, and
 * requests sent to them in the same process. It makes the same decisions as the Effect
 * service (same queue, same priorities, same duplicate detection) and rejects with the
 * same error classes.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidConfigError, isIntegrationPatternsError, RequestError, TimeoutError } from "../Errors.js"
import { processSettings } from "../IntegrationPatterns.js"
import * as Admission from "../internal/requestResponse/admission.js"
import * as Dedup from "../internal/requestResponse/dedup.js"
import * as Stats from "../internal/requestResponse/stats.js"
import * as Envelope from "../internal/requestResponse/envelope.js"
import { globalRegistry } from "../internal/registry.js"
import { readSetting } from "../internal/settingDefault.js"
import { decodeOptionsSync } from "../internal/validation.js"
import * as Metrics from "../Metrics.js"
import * as PatternEvents from "../PatternEvents.js"
import type * as RR from "../RequestResponse.js"

/**
 * Options of {@link RequestResponsePattern}. Durations are milliseconds.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RequestResponseOptions {
  /** Defaults to `"request-response"`. */
  readonly name?: string | undefined
  /** Handlers running at once. Defaults to 10. */
  readonly concurrency?: number | undefined
  /** Requests that may wait for a slot. Defaults to 100. */
  readonly queueSize?: number | undefined
  /** How long a finished result answers duplicates of its request id; 0 turns this off. Defaults to 60,000. */
  readonly dedupWindow?: number | undefined
  /** The most finished results remembered at once. Defaults to 10,000. */
  readonly dedupCapacity?: number | undefined
  /** The budget of requests without `metadata.timeout`. Defaults to the global `defaultTimeout`. */
  readonly defaultTimeout?: number | undefined
}

/**
 * A request as sent: `{ id, type, payload, metadata }`, the timeout in milliseconds.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RequestMessage<P = unknown> {
  readonly id: string
  readonly type: string
  readonly payload: P
  readonly metadata?: {
    readonly timeout?: number | undefined
    readonly priority?: RR.Priority | undefined
    readonly correlationId?: string | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
  } | undefined
}

/**
 * A request as its handler sees it, every metadata field filled in.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ReceivedRequest<P = unknown> {
  readonly id: string
  readonly type: string
  readonly payload: P
  readonly metadata: {
    /** Milliseconds. */
    readonly timeout: number
    readonly priority: RR.Priority
    readonly correlationId: string
    readonly headers: Readonly<Record<string, string>>
  }
}

/**
 * @since 0.1.0
 * @category Models
 */
export type ResponseMessage<A = unknown> = RR.Response<A>

/**
 * A handler. `signal` aborts when the request runs out of time; the handler keeps its
 * slot until its promise settles.
 *
 * @since 0.1.0
 * @category Models
 */
export type RequestHandler<P = any, R = unknown> = (
  request: ReceivedRequest<P>,
  context: { readonly signal: AbortSignal }
) => R | Promise<R>

/**
 * Schemas that the payload and the response must satisfy.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RequestHandlerSchemas<P, R> {
  readonly payload?: Schema.Schema<P, any> | undefined
  readonly response?: Schema.Schema<R, any> | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export type RequestResponseStats = RR.Stats

type Settled =
  | { readonly _tag: "Done"; readonly response: RR.Response<unknown> }
  | { readonly _tag: "Failed"; readonly error: unknown }

type Outcome = Settled | { readonly _tag: "Cancelled" }

const cancelled: Outcome = { _tag: "Cancelled" }

/** A request in flight: the callers waiting for its outcome, the first one and any duplicates. */
class InFlight {
  private waiters: Array<(outcome: Outcome) => void> = []
  private outcome: Outcome | undefined

  wait(waiter: (outcome: Outcome) => void): void {
    if (this.outcome === undefined) this.waiters.push(waiter)
    else waiter(this.outcome)
  }

  settle(outcome: Outcome): void {
    if (this.outcome !== undefined) return
    this.outcome = outcome
    const waiters = this.waiters
    this.waiters = []
    for (const waiter of waiters) waiter(outcome)
  }
}

/** The handler's second argument; the AbortController is made only if the handler asks for the signal. */
class HandlerContext {
  private controller: AbortController | undefined

  get signal(): AbortSignal {
    this.controller ??= new AbortController()
    return this.controller.signal
  }

  abort(reason: unknown): void {
    this.controller?.abort(reason)
  }
}

type Validate = (u: unknown) => Either.Either<unknown, ParseResult.ParseError>

interface Registered {
  readonly handler: RequestHandler<unknown, unknown>
  readonly validatePayload: Validate | undefined
  readonly validateResponse: Validate | undefined
}

const validator = (schema: Schema.Schema<any, any> | undefined): Validate | undefined =>
  schema === undefined ? undefined : Schema.validateEither(schema as Schema.Schema<unknown>, { errors: "all" })

/**
 * @example
 * ```ts
 * import { RequestResponsePattern } from "@integration-patterns/core/promise"
 *
 * const rr = new RequestResponsePattern()
 * rr.registerHandler("data-request", async (request) => ({ rows: [], query: (request.payload as { query: string }).query }))
 * const response = await rr.sendRequest({
 *   id: "req-1",
 *   type: "data-request",
 *   payload: { query: "SELECT * FROM users" },
 *   metadata: { timeout: 5000, priority: "high" }
 * })
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export class RequestResponsePattern {
  readonly name: string
  private readonly handlers = new Map<string, Registered>()
  private readonly admission: Admission.Admission<() => void>
  private readonly dedup: Dedup.Dedup<InFlight, Settled>
  private readonly metrics: Metrics.PatternMetrics
  private readonly bus: PatternEvents.PatternEventsService
  private readonly defaultTimeout: number | undefined
  private readonly counts = new Stats.DispatchCounters()

  constructor(options: RequestResponseOptions = {}) {
    const resolved = Envelope.resolveOptions(
      decodeOptionsSync("RequestResponse", Envelope.OptionsSchema, Envelope.definedOptions(options))
    )
    this.name = resolved.name
    this.admission = Admission.make(resolved.concurrency, resolved.queueSize)
    this.dedup = Dedup.make(resolved.dedupWindow, resolved.dedupCapacity)
    this.defaultTimeout = resolved.defaultTimeout === undefined ? undefined : Duration.toMillis(resolved.defaultTimeout)
    this.metrics = new Metrics.PatternMetrics("RequestResponse", this.name, processSettings.current.enableMetrics)
    this.bus = Context.get(Context.empty(), PatternEvents.PatternEvents)
    globalRegistry.registerWeak(this, "RequestResponse", this.name, {
      stats: (self) => ({ ...self.getStats() }),
      health: (self) => Admission.health(self.admission)
    })
  }

  /**
   * Serves requests of `type` with `handler`; registering a type again replaces its
   * handler. Returns a function that removes it.
   */
  registerHandler<P = any, R = unknown>(type: string, handler: RequestHandler<P, R>, schemas: RequestHandlerSchemas<P, R> = {}): () => void {
    const issues = [
      ...(typeof type === "string" && type.length > 0 ? [] : [{ path: "type", message: "expected a non-empty string" }]),
      ...(typeof handler === "function" ? [] : [{ path: "handler", message: "expected a function" }])
    ]
    if (issues.length > 0) throw new InvalidConfigError({ pattern: "RequestResponse", issues })
    const entry: Registered = {
      handler: handler as RequestHandler<unknown, unknown>,
      validatePayload: validator(schemas.payload),
      validateResponse: validator(schemas.response)
    }
    this.handlers.set(type, entry)
    return () => {
      if (this.handlers.get(type) === entry) this.handlers.delete(type)
    }
  }

  /**
   * Sends a request to the handler of its type. Resolves with the response; rejects with
   * `RequestError` (no handler, invalid request or response, queue full, handler crash),
   * `TimeoutError`, or the toolkit error the handler threw.
   */
  sendRequest<R = unknown>(request: RequestMessage): Promise<ResponseMessage<R>> {
    this.counts.sent++
    return this.dispatch(request, Date.now()) as Promise<ResponseMessage<R>>
  }

  /** A snapshot of this instance. */
  getStats(): RequestResponseStats {
    return Stats.dispatcherStats(this.handlers, this.admission, this.counts, this.dedup)
  }

  private dispatch(request: RequestMessage, start: number): Promise<ResponseMessage<unknown>> {
    const decoded = Envelope.decodeSendRequest(request)
    if (Either.isLeft(decoded)) {
      const { id, type } = Envelope.describeMalformed(request)
      return this.reject(
        start,
        id,
        type,
        "InvalidRequest",
        Envelope.invalid(id, type, "InvalidRequest", "malformed request", decoded.left)
      )
    }
    const { id, type, payload } = decoded.right
    const metadata = decoded.right.metadata
    const timeout = metadata?.timeout === undefined
      ? this.defaultTimeout ?? Duration.toMillis(readSetting(Envelope.defaults.defaultTimeout, processSettings.current))
      : Duration.toMillis(metadata.timeout)
    const entry = this.handlers.get(type)
    if (entry === undefined) {
      return this.reject(
        start,
        id,
        type,
        "NoHandler",
        Envelope.requestError(id, type, "NoHandler", `no handler for "${type}"`)
      )
    }
    const key = Envelope.dedupKey(type, id)
    const seen = Dedup.lookup(this.dedup, key, start)
    if (seen._tag !== "Miss") {
      this.counts.duplicates++
      this.metrics.count(Metrics.requestsServed, "duplicate")
      if (this.bus.active) {
        this.bus.unsafePublish({
          _tag: "RequestDeduplicated",
          pattern: "RequestResponse",
          name: this.name,
          timestamp: start,
          requestId: id,
          type,
          inFlight: seen._tag === "InFlight"
        })
      }
      if (seen._tag === "Done") {
        return new Promise((resolve, reject) => this.deliver(request, start, seen.value, resolve, reject))
      }
      return this.await(request, start, timeout, seen.pending, undefined)
    }
    if (entry.validatePayload !== undefined) {
      const valid = entry.validatePayload(payload)
      if (Either.isLeft(valid)) {
        return this.reject(
          start,
          id,
          type,
          "InvalidRequest",
          Envelope.invalid(id, type, "InvalidRequest", "payload", valid.left)
        )
      }
    }
    const priority = metadata?.priority ?? "normal"
    const received: ReceivedRequest = {
      id,
      type,
      payload,
      metadata: { timeout, priority, correlationId: metadata?.correlationId ?? id, headers: metadata?.headers ?? {} }
    }
    const pending = new InFlight()
    const context = new HandlerContext()
    // Set once the request has an answer, or has run out of time; a late answer is dropped.
    let finished = false
    const run = () =>
      this.execute(entry, received, context, start, (outcome, result) => {
        if (finished) return
        finished = true
        this.recordServed(received, start, outcome)
        Dedup.complete(this.dedup, key, result, Date.now())
        pending.settle(result)
      })
    const decision = Admission.admit(this.admission, priority, () => run)
    if (decision._tag === "Full") {
      return this.reject(
        start,
        id,
        type,
        "QueueFull",
        Envelope.requestError(id, type, "QueueFull", `${this.admission.running} running and ${this.admission.queued} queued`)
      )
    }
    Dedup.begin(this.dedup, key, pending)
    this.metrics.set(Metrics.requestQueueDepth, this.admission.queued)
    if (decision._tag === "Run") run()
    else if (this.bus.active) {
      this.bus.unsafePublish({
        _tag: "RequestQueued",
        pattern: "RequestResponse",
        name: this.name,
        timestamp: start,
        requestId: id,
        type,
        priority,
        queued: this.admission.queued
      })
    }
    return this.await(request, start, timeout, pending, () => {
      if (finished) return
      finished = true
      if (decision._tag === "Queued" && Admission.cancel(this.admission, decision.ticket)) {
        this.metrics.set(Metrics.requestQueueDepth, this.admission.queued)
      }
      context.abort(new TimeoutError({ timeout: this.name, duration: timeout, phase: "Operation" }))
      Dedup.forget(this.dedup, key)
      pending.settle(cancelled)
    })
  }

  /** Runs the handler in a slot it owns, and hands the slot on when its promise settles. */
  private execute(
    entry: Registered,
    request: ReceivedRequest,
    context: HandlerContext,
    start: number,
    done: (outcome: RR.RequestServed["outcome"], result: Settled) => void
  ): void {
    let result: Promise<unknown>
    try {
      result = Promise.resolve(entry.handler(request, context))
    } catch (error) {
      result = Promise.reject(error)
    }
    result.then(
      (value) => {
        this.releaseSlot()
        const valid = entry.validateResponse === undefined ? undefined : entry.validateResponse(value)
        if (valid !== undefined && Either.isLeft(valid)) {
          return done("invalid_response", {
            _tag: "Failed",
            error: Envelope.invalid(request.id, request.type, "InvalidResponse", "handler response", valid.left)
          })
        }
        done("success", {
          _tag: "Done",
          response: {
            id: request.id,
            correlationId: request.metadata.correlationId,
            status: "success",
            payload: value,
            metadata: { duration: Math.max(0, Date.now() - start), attempts: 1 }
          }
        })
      },
      (error: unknown) => {
        this.releaseSlot()
        const typed = isIntegrationPatternsError(error)
        done(typed ? "failure" : "handler_error", {
          _tag: "Failed",
          error: typed
            ? error
            : new RequestError({
              requestId: request.id,
              type: request.type,
              reason: "Handler",
              detail: `handler failed: ${error instanceof Error ? error.message : String(error)}`,
              cause: error
            })
        })
      }
    )
  }

  private recordServed(request: ReceivedRequest, start: number, outcome: RR.RequestServed["outcome"]): void {
    this.counts.served++
    this.metrics.count(Metrics.requestsServed, outcome)
    if (this.bus.active) {
      const now = Date.now()
      this.bus.unsafePublish({
        _tag: "RequestServed",
        pattern: "RequestResponse",
        name: this.name,
        timestamp: now,
        requestId: request.id,
        type: request.type,
        correlationId: request.metadata.correlationId,
        outcome,
        duration: now - start
      })
    }
  }

  private releaseSlot(): void {
    const next = Admission.release(this.admission)
    this.metrics.set(Metrics.requestQueueDepth, this.admission.queued)
    if (next !== undefined) next.value()
  }

  /** Hands a known outcome to the caller. */
  private deliver(
    request: RequestMessage,
    start: number,
    outcome: Settled,
    resolve: (response: ResponseMessage<unknown>) => void,
    reject: (error: unknown) => void
  ): void {
    if (outcome._tag === "Done") {
      this.received(start, request, "success")
      resolve(outcome.response)
    } else {
      this.received(start, request, Envelope.clientOutcome(outcome.error))
      reject(outcome.error)
    }
  }

  /** The caller's side: its own deadline, raced against the (possibly shared) outcome. */
  private await(
    request: RequestMessage,
    start: number,
    timeout: number,
    pending: InFlight,
    onTimeout: (() => void) | undefined
  ): Promise<ResponseMessage<unknown>> {
    return new Promise<ResponseMessage<unknown>>((resolve, reject) => {
      let open = true
      const timer = setTimeout(() => {
        open = false
        onTimeout?.()
        this.received(start, request, "timeout")
        reject(new TimeoutError({ timeout: this.name, duration: timeout, phase: "Operation" }))
      }, timeout)
      pending.wait((outcome) => {
        if (!open) return
        clearTimeout(timer)
        if (outcome._tag !== "Cancelled") return this.deliver(request, start, outcome, resolve, reject)
        // The request this one duplicated ran out of time: run this one on what is left of its budget.
        const left = start + timeout - Date.now()
        if (left > 0) return this.dispatch({ ...request, metadata: { ...request.metadata, timeout: left } }, start).then(resolve, reject)
        this.received(start, request, "timeout")
        reject(new TimeoutError({ timeout: this.name, duration: timeout, phase: "Operation" }))
      })
    })
  }

  private reject(
    start: number,
    id: string,
    type: string,
    reason: "NoHandler" | "InvalidRequest" | "QueueFull",
    error: RequestError
  ): Promise<never> {
    Stats.recordRejection(this.counts, this.metrics, this.bus, this.name, { id, type }, reason, start)
    this.received(start, { id, type } as RequestMessage, reason === "InvalidRequest" ? "invalid" : "rejected")
    return Promise.reject(error)
  }

  private received(start: number, request: Pick<RequestMessage, "id" | "type">, outcome: string): void {
    const now = Date.now()
    if (outcome === "success") this.counts.succeeded++
    else this.counts.failed++
    if (outcome === "timeout") this.counts.timedOut++
    this.metrics.count(Metrics.calls, outcome)
    this.metrics.observe(Metrics.callDuration, (now - start) / 1000)
    if (this.bus.active) {
      this.bus.unsafePublish({
        _tag: "ResponseReceived",
        pattern: "RequestResponse",
        name: this.name,
        timestamp: now,
        requestId: request.id,
        type: request.type,
        outcome,
        duration: now - start
      })
    }
  }
}
