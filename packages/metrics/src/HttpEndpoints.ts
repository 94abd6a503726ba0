/**
 * The operator's HTTP endpoints, served by `@effect/platform`'s `HttpServer`:
 *
 * | route | answers |
 * |---|---|
 * | `GET /metrics` | every Effect metric as Prometheus text (`text/plain; version=0.0.4`) |
 * | `GET /health` | `IntegrationPatterns.getHealth` as JSON; 200 when healthy or degraded, 503 when unhealthy |
 * | `GET /dashboard` | a live page: one tile per pattern instance with its state, request rate, error rate, rejections and queue depth, each charted over the last minutes |
 * | `GET /events` | server-sent events: a `snapshot` event every `snapshotInterval`, and a `pattern` event for every `PatternEvents` event |
 * | `GET /` | redirects to the dashboard |
 *
 * Instances, health and events come from the `PatternRegistry`, `GlobalConfig` and
 * `PatternEvents` in the Layer's context (the process-wide ones unless a Layer provides
 * others), so the endpoints show exactly what the application's patterns register.
 *
 * @since 0.1.0
 */
import type * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import type { InvalidConfigError } from "@integration-patterns/core"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/httpEndpoints.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** How often `/events` sends a snapshot. Defaults to 1 second. */
  readonly snapshotInterval?: Duration.DurationInput
  /** The time span of the dashboard's charts. Defaults to 5 minutes. */
  readonly history?: Duration.DurationInput
  /** The dashboard's title. Defaults to "Integration patterns". */
  readonly title?: string
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface ServerOptions extends Options {
  /** The port to listen on; 0 picks a free one. Defaults to 9464. */
  readonly port?: number
  /** The address to listen on. Defaults to `127.0.0.1`; use `0.0.0.0` to accept remote scrapes. */
  readonly host?: string
}

/**
 * The defaults of optional options.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly port: number
  readonly host: string
  readonly snapshotInterval: Duration.Duration
  readonly history: Duration.Duration
  readonly title: string
} = internal.defaults

/**
 * The endpoints as a router, to mount in an application's own server. Open `/events`
 * streams end when the scope closes.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const router: (options?: Options) => Effect.Effect<HttpRouter.HttpRouter, InvalidConfigError, Scope.Scope> =
  internal.router

/**
 * Serves the endpoints on the application's `HttpServer`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: (options?: Options) => Layer.Layer<never, InvalidConfigError, HttpServer.HttpServer> =
  internal.layer

/**
 * Serves the endpoints on a Node HTTP server of their own, and provides that server.
 *
 * @example
 * ```ts
 * import { HttpEndpoints } from "@integration-patterns/metrics"
 * import { Layer } from "effect"
 *
 * // http://127.0.0.1:9464/dashboard, /metrics, /health, /events
 * const OperatorsLive = HttpEndpoints.layerNode({ port: 9464 })
 * const main = Layer.launch(OperatorsLive)
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerNode: (
  options?: ServerOptions
) => Layer.Layer<HttpServer.HttpServer, InvalidConfigError | ServeError> = internal.layerNode

/**
 * A running server started by {@link serve}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RunningServer {
  /** The base URL, for example `http://127.0.0.1:9464`. */
  readonly url: string
  readonly port: number
  /** Ends open event streams and stops the server. */
  readonly close: () => Promise<void>
}

/**
 * Starts the endpoints on a Node HTTP server, for code that does not use Effect. Bad
 * options throw `InvalidConfigError` synchronously; a port in use rejects the promise.
 *
 * @example
 * ```ts
 * import { HttpEndpoints } from "@integration-patterns/metrics"
 *
 * const server = await HttpEndpoints.serve({ port: 9464 })
 * console.log(`dashboard at ${server.url}/dashboard`)
 * // later
 * await server.close()
 * ```
 *
 * @since 0.1.0
 * @category Facade
 */
export const serve: (options?: ServerOptions) => Promise<RunningServer> = internal.serve
