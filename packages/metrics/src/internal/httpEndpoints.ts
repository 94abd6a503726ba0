import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { IntegrationPatterns, PatternEvents } from "@integration-patterns/core"
import type { InvalidConfigError } from "@integration-patterns/core"
import { decodeOptions, decodeOptionsSync, Name, PositiveDuration } from "@integration-patterns/core/internal/validation"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import type { Options, ServerOptions } from "../HttpEndpoints.js"
import * as dashboard from "./dashboard.js"
import * as page from "./dashboardPage.js"
import * as prometheus from "./prometheus.js"

const endpointFields = {
  snapshotInterval: Schema.optionalWith(PositiveDuration, { exact: true }),
  history: Schema.optionalWith(PositiveDuration, { exact: true }),
  title: Schema.optionalWith(Name, { exact: true })
}

const OptionsSchema = Schema.Struct(endpointFields)

const Port = Schema.Int.pipe(
  Schema.filter((n) => (n >= 0 && n <= 65535) || `expected a port number from 0 to 65535, got ${n}`)
)

const ServerOptionsSchema = Schema.Struct({
  ...endpointFields,
  port: Schema.optionalWith(Port, { exact: true }),
  host: Schema.optionalWith(Name, { exact: true })
})

type Decoded = typeof OptionsSchema.Type

/** @internal */
export const defaults = {
  port: 9464,
  host: "127.0.0.1",
  snapshotInterval: Duration.seconds(1),
  history: Duration.minutes(5),
  title: "Integration patterns"
} as const

const snapshot: Effect.Effect<dashboard.Snapshot> = Effect.map(
  Effect.all([IntegrationPatterns.getMetrics, IntegrationPatterns.getHealth, Metric.snapshot]),
  ([metrics, health, pairs]) => dashboard.snapshot(metrics, health, pairs)
)

const encoder = new TextEncoder()

const events = (interval: Duration.Duration, closed: Deferred.Deferred<void>) =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const bus = yield* PatternEvents.PatternEvents
    // Subscribe before the first snapshot goes out, so that no event published after it is lost.
    const queue = yield* bus.subscribe
    const snapshots = Stream.repeatEffectWithSchedule(snapshot, Schedule.spaced(interval)).pipe(
      Stream.map((s) => dashboard.sseMessage("snapshot", s))
    )
    const patternEvents = Stream.fromQueue(queue).pipe(Stream.map((e) => dashboard.sseMessage("pattern", e)))
    return Stream.make(`retry: 2000\n\n`).pipe(
      Stream.concat(Stream.merge(snapshots, patternEvents)),
      Stream.map((chunk) => encoder.encode(chunk))
    )
  })).pipe(Stream.interruptWhen(Deferred.await(closed)))

const makeRouter = (options: Decoded) =>
  Effect.gen(function*() {
    // Open event streams would keep the HTTP server from closing; end them with the scope.
    const closed = yield* Deferred.make<void>()
    yield* Effect.addFinalizer(() => Deferred.succeed(closed, undefined))
    const interval = options.snapshotInterval ?? defaults.snapshotInterval
    const html = page.render({
      title: options.title ?? defaults.title,
      events: "events",
      historyMillis: Duration.toMillis(options.history ?? defaults.history)
    })
    return HttpRouter.empty.pipe(
      HttpRouter.get(
        "/metrics",
        Effect.map(Metric.snapshot, (pairs) =>
          HttpServerResponse.text(prometheus.format(pairs), { contentType: prometheus.contentType }))
      ),
      HttpRouter.get(
        "/health",
        Effect.map(IntegrationPatterns.getHealth, (report) =>
          HttpServerResponse.unsafeJson(report, {
            status: report.status === "unhealthy" ? 503 : 200,
            headers: { "cache-control": "no-store" }
          }))
      ),
      HttpRouter.get("/dashboard", Effect.succeed(HttpServerResponse.html(html))),
      HttpRouter.get("/", Effect.succeed(HttpServerResponse.redirect("dashboard", { status: 302 }))),
      HttpRouter.get(
        "/events",
        Effect.succeed(HttpServerResponse.stream(events(interval, closed), {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "connection": "close", "x-accel-buffering": "no" }
        }))
      )
    )
  })

/** @internal */
export const router = (
  options: Options = {}
): Effect.Effect<HttpRouter.HttpRouter, InvalidConfigError, Scope.Scope> =>
  Effect.flatMap(decodeOptions("HttpEndpoints", OptionsSchema, options), makeRouter)

/** @internal */
export const layer = (options: Options = {}): Layer.Layer<never, InvalidConfigError, HttpServer.HttpServer> =>
  Layer.scopedDiscard(Effect.flatMap(router(options), (app) => HttpServer.serveEffect(app)))

/** @internal */
export const layerNode = (
  options: ServerOptions = {}
): Layer.Layer<HttpServer.HttpServer, InvalidConfigError | ServeError> =>
  Layer.unwrapEffect(Effect.map(decodeOptions("HttpEndpoints", ServerOptionsSchema, options), (decoded) => {
    const { host, port, ...endpoints } = decoded
    return layer(endpoints).pipe(
      Layer.provideMerge(NodeHttpServer.layerServer(createServer, {
        port: port ?? defaults.port,
        host: host ?? defaults.host
      }))
    )
  }))

/** @internal */
export interface RunningServer {
  readonly url: string
  readonly port: number
  readonly close: () => Promise<void>
}

/** @internal */
export const serve = (options: ServerOptions = {}): Promise<RunningServer> => {
  decodeOptionsSync("HttpEndpoints", ServerOptionsSchema, options)
  const runtime = ManagedRuntime.make(layerNode(options))
  return runtime.runPromiseExit(HttpServer.HttpServer).then(async (exit) => {
    if (Exit.isFailure(exit)) {
      await runtime.dispose()
      throw Cause.squash(exit.cause)
    }
    const address = exit.value.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const host = options.host ?? defaults.host
    return {
      url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
      port,
      close: () => runtime.dispose()
    }
  })
}
