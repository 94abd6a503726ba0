import type * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { type InvalidConfigError, RequestError } from "../../Errors.js"
import type * as RR from "../../RequestResponse.js"
import { decodeOptions } from "../validation.js"
import * as Envelope from "./envelope.js"
import { RequestResponseTag, TransportTag } from "./service.js"

const encodeRequestError = Schema.encodeSync(RequestError)

const bodyErrorDetail = (error: HttpBody.HttpBodyError): string =>
  error.reason._tag === "JsonError" && error.reason.error instanceof Error
    ? error.reason.error.message
    : error.reason._tag

const HttpTransportOptions = Schema.Struct({
  url: Schema.Union(
    Schema.String.pipe(
      Schema.filter((s) => URL.canParse(s) || `expected an absolute URL such as "http://127.0.0.1:8080/requests"`)
    ),
    Schema.instanceOf(URL)
  )
})

const Path = Schema.declare((u: unknown): u is `/${string}` => typeof u === "string" && u.startsWith("/"), {
  message: (issue) => `expected a path starting with "/", got ${JSON.stringify(issue.actual)}`
})

const HttpServerOptions = Schema.Struct({ path: Schema.optional(Path) })

/** @internal */
export const defaultPath: `/${string}` = "/requests"

/**
 * A transport that POSTs each request envelope as JSON to `url` and reads the response
 * envelope from the JSON body. Only a failure to reach the server (or a reply that is not
 * an envelope at all) is a `Transport` error; the server's own answers, failures
 * included, come back as envelopes.
 *
 * @internal
 */
export const makeHttpTransport = (client: HttpClient.HttpClient, url: string | URL): RR.Transport => ({
  send: (request) => {
    const fail = (reason: "InvalidRequest" | "Transport", detail: string) =>
      new RequestError({ requestId: request.id, type: request.type, reason, detail })
    return HttpClientRequest.post(url).pipe(
      HttpClientRequest.bodyJson(request),
      Effect.mapError((error) => fail("InvalidRequest", `the request cannot be sent as JSON: ${bodyErrorDetail(error)}`)),
      Effect.flatMap((httpRequest) =>
        client.execute(httpRequest).pipe(
          Effect.flatMap((response): Effect.Effect<unknown, HttpClientError.HttpClientError | string> =>
            response.status === 200 || response.status === 400
              ? response.json
              : Effect.fail(`the server answered HTTP ${response.status}`)
          ),
          Effect.mapError((error) => fail("Transport", typeof error === "string" ? error : error.message))
        )
      )
    )
  }
})

/** @internal */
export const layerTransportHttp = (
  options: { readonly url: string | URL }
): Layer.Layer<RR.Transport, InvalidConfigError, HttpClient.HttpClient> =>
  Layer.effect(
    TransportTag,
    Effect.zipWith(
      decodeOptions("RequestResponse.Transport", HttpTransportOptions, options),
      HttpClient.HttpClient,
      (decoded, client) => makeHttpTransport(client, decoded.url)
    )
  )

const notJson = (detail: string): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.succeed(HttpServerResponse.unsafeJson(
    {
      id: "",
      correlationId: "",
      status: "failure",
      error: encodeRequestError(new RequestError({ requestId: "", type: "", reason: "InvalidRequest", detail })),
      metadata: { duration: 0, attempts: 1 }
    } satisfies Envelope.ResponseEnvelope,
    { status: 400 }
  ))

/**
 * The HTTP handler for one instance: reads a request envelope from the JSON body and
 * answers with the response envelope. Mount it at any route of your own router.
 *
 * @internal
 */
export const toHttpApp = (service: RR.RequestResponse): HttpApp.Default =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.matchEffect(request.json, {
      onFailure: (error) => notJson(`the body is not JSON: ${error.message}`),
      onSuccess: (body) =>
        Effect.flatMap(service.serve(body), (response) =>
          HttpServerResponse.json(response).pipe(
            Effect.catchAll((error) =>
              Effect.succeed(HttpServerResponse.unsafeJson(
                {
                  id: response.id,
                  correlationId: response.correlationId,
                  status: "failure",
                  error: encodeRequestError(
                    new RequestError({
                      requestId: response.id,
                      type: Envelope.describeMalformed(body).type,
                      reason: "InvalidResponse",
                      detail: `the response cannot be sent as JSON: ${bodyErrorDetail(error)}`
                    })
                  ),
                  metadata: response.metadata
                } satisfies Envelope.ResponseEnvelope
              ))
            )
          ))
    }))

/** @internal */
export const httpApp: Effect.Effect<HttpApp.Default, never, RR.RequestResponse> = Effect.map(
  RequestResponseTag,
  toHttpApp
)

/** @internal */
export const layerHttpServer = (
  options: { readonly path?: string | undefined } = {}
): Layer.Layer<never, InvalidConfigError, HttpServer.HttpServer | RR.RequestResponse> =>
  Layer.unwrapEffect(
    Effect.zipWith(
      decodeOptions("RequestResponse.HttpServer", HttpServerOptions, options),
      RequestResponseTag,
      (decoded, service) =>
        HttpServer.serve(HttpRouter.empty.pipe(HttpRouter.post(decoded.path ?? defaultPath, toHttpApp(service))))
    )
  )
