import * as HttpServer from "@effect/platform/HttpServer"
import { IntegrationPatterns, Metrics, PatternEvents } from "@integration-patterns/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as HttpEndpoints from "../src/HttpEndpoints.js"

/**
 * Publishes an event the way a pattern would. The events of the real patterns are
 * declared by their own modules; these tests use plain objects of the same shape, so
 * the event is passed through the bus's type once, here.
 */
export const publish = (
  bus: PatternEvents.PatternEventsService,
  event: PatternEvents.PatternEventBase & Readonly<Record<string, unknown>>
): void => {
  if (bus.active) bus.unsafePublish(event as unknown as PatternEvents.PatternEvent)
}

type BreakerState = "Closed" | "Open" | "HalfOpen" | "Isolated"

/**
 * A stand-in for a circuit breaker: it registers like one, records the toolkit's
 * metrics like one, and opens after `threshold` consecutive failures, publishing
 * `StateChanged`. Its health follows its state: open or isolated is unhealthy.
 */
export class FakeBreaker {
  state: BreakerState = "Closed"
  consecutiveFailures = 0
  private readonly metrics: Metrics.PatternMetrics
  readonly instance: IntegrationPatterns.PatternInstance

  constructor(
    readonly name: string,
    private readonly bus: PatternEvents.PatternEventsService,
    readonly threshold = 3,
    private readonly now: () => number = Date.now
  ) {
    this.metrics = new Metrics.PatternMetrics("CircuitBreaker", name)
    this.metrics.set(Metrics.circuitBreakerState, 0)
    this.instance = {
      kind: "CircuitBreaker",
      name,
      stats: () => ({ state: this.state, consecutiveFailures: this.consecutiveFailures }),
      health: () =>
        this.state === "Open" || this.state === "Isolated"
          ? { status: "unhealthy", reasons: [`breaker is ${this.state}`] }
          : this.state === "HalfOpen"
          ? { status: "degraded", reasons: ["probing"] }
          : { status: "healthy", reasons: [] }
    }
  }

  succeed(): void {
    if (this.state === "Open") return this.metrics.reject("open")
    this.consecutiveFailures = 0
    this.metrics.count(Metrics.calls, "success")
  }

  fail(): void {
    if (this.state === "Open") return this.metrics.reject("open")
    this.metrics.count(Metrics.calls, "failure")
    this.consecutiveFailures++
    if (this.consecutiveFailures >= this.threshold) this.transition("Open", "ConsecutiveFailures")
  }

  transition(to: BreakerState, reason: string): void {
    const from = this.state
    this.state = to
    this.metrics.set(Metrics.circuitBreakerState, ["Closed", "Open", "HalfOpen", "Isolated"].indexOf(to))
    this.metrics.count(Metrics.circuitBreakerTransitions, to)
    publish(this.bus, {
      _tag: "StateChanged",
      pattern: "CircuitBreaker",
      name: this.name,
      timestamp: this.now(),
      from,
      to,
      reason,
      retryAfter: 0
    })
  }
}

export const unique = (prefix: string): string => `${prefix}-${Math.random().toString(36).slice(2, 8)}`

/**
 * Starts the endpoints on a free port with a registry and a bus of their own, for the
 * current scope, and returns the base URL, the bus, and a way to register instances
 * in that registry.
 */
export const start = (options: HttpEndpoints.Options = {}) =>
  Effect.gen(function*() {
    const bus = PatternEvents.unsafeMake()
    const shared = yield* Layer.build(
      Layer.merge(IntegrationPatterns.layerRegistry, Layer.succeed(PatternEvents.PatternEvents, bus))
    )
    const context = yield* Layer.build(
      HttpEndpoints.layerNode({ ...options, port: 0 }).pipe(Layer.provide(Layer.succeedContext(shared)))
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const register = (instance: IntegrationPatterns.PatternInstance) =>
      IntegrationPatterns.register(instance).pipe(Effect.provide(shared))
    return { url: `http://127.0.0.1:${port}`, bus, register }
  })
