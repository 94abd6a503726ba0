import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { createServer } from "node:http"
import { CircuitBreakerOpenError, InvalidConfigError, RequestError, TimeoutError } from "../src/Errors.js"
import * as RequestResponse from "../src/RequestResponse.js"

class OutOfStock extends Schema.TaggedError<OutOfStock>()("OutOfStock", {
  sku: Schema.String,
  available: Schema.Number
}) {}

const Reserve = RequestResponse.endpoint("reserve", {
  payload: Schema.Struct({ sku: Schema.String, quantity: Schema.Int }),
  response: Schema.Struct({ reservationId: Schema.String, at: Schema.DateFromString }),
  error: Schema.Union(OutOfStock, CircuitBreakerOpenError)
})

const Slow = RequestResponse.endpoint("slow", { payload: Schema.String, response: Schema.String })

const reservedAt = new Date("2024-05-06T07:08:09.000Z")

/**
 * Starts a server instance with handlers on a random loopback port, and returns a client
 * instance that reaches it over HTTP. Both live as long as the test's scope.
 */
const serverAndClient = (options: { readonly path?: string } = {}) =>
  Effect.gen(function*() {
    const slowStarted = yield* Deferred.make<void>()
    const handlers = Layer.mergeAll(
      RequestResponse.layerHandler(Reserve, (request) => {
        const { sku, quantity } = request.payload
        if (sku === "tripped") {
          return Effect.fail(new CircuitBreakerOpenError({ breaker: "warehouse", state: "Open", retryAfter: 2500 }))
        }
        return quantity > 3
          ? Effect.fail(new OutOfStock({ sku, available: 3 }))
          : Effect.succeed({ reservationId: `${sku}-${request.id}`, at: reservedAt })
      }),
      RequestResponse.layerHandler(Slow, () =>
        Deferred.succeed(slowStarted, undefined).pipe(Effect.zipRight(Effect.never), Effect.as("never")))
    )
    const server = yield* Layer.build(
      Layer.mergeAll(RequestResponse.layerHttpServer(options), handlers).pipe(
        Layer.provideMerge(RequestResponse.layer({ name: "http-server" })),
        Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" }))
      )
    )
    const address = Context.get(server, HttpServer.HttpServer).address
    if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
    const url = `http://127.0.0.1:${address.port}${options.path ?? "/requests"}`
    const transport = yield* Layer.build(
      RequestResponse.layerTransportHttp({ url }).pipe(Layer.provide(NodeHttpClient.layerUndici))
    )
    const client = yield* RequestResponse.make({ name: "http-client" }).pipe(Effect.provide(transport))
    return { client, server: Context.get(server, RequestResponse.RequestResponse), url, port: address.port, slowStarted }
  })

describe("RequestResponse over HTTP", () => {
  it.scoped("sends a request over loopback HTTP and decodes the typed response", () =>
    Effect.gen(function*() {
      const { client, server } = yield* serverAndClient()
      const response = yield* client.send(Reserve, {
        id: "r-1",
        payload: { sku: "apple", quantity: 2 },
        metadata: { correlationId: "order-1", priority: "high" }
      })
      expect(response).toMatchObject({
        id: "r-1",
        correlationId: "order-1",
        status: "success",
        payload: { reservationId: "apple-r-1", at: reservedAt },
        metadata: { attempts: 1 }
      })
      expect(response.payload.at).toBeInstanceOf(Date)
      expect(yield* server.stats).toMatchObject({ served: 1, sent: 0 })
      expect(yield* client.stats).toMatchObject({ served: 0, sent: 1, succeeded: 1 })
    }))

  it.scoped("delivers the handler's typed errors as the same typed errors", () =>
    Effect.gen(function*() {
      const { client } = yield* serverAndClient()
      const outOfStock = yield* Effect.flip(client.send(Reserve, { id: "r-2", payload: { sku: "pear", quantity: 9 } }))
      expect(outOfStock).toBeInstanceOf(OutOfStock)
      expect(outOfStock).toEqual(new OutOfStock({ sku: "pear", available: 3 }))
      const tripped = yield* Effect.flip(client.send(Reserve, { id: "r-3", payload: { sku: "tripped", quantity: 1 } }))
      expect(tripped).toBeInstanceOf(CircuitBreakerOpenError)
      expect(tripped).toMatchObject({ breaker: "warehouse", retryAfter: 2500 })
      const caught = yield* client.send(Reserve, { id: "r-4", payload: { sku: "plum", quantity: 7 } }).pipe(
        Effect.map(() => "reserved"),
        Effect.catchTags({
          OutOfStock: (e) => Effect.succeed(`only ${e.available} left`),
          CircuitBreakerOpenError: () => Effect.succeed("try later")
        })
      )
      expect(caught).toBe("only 3 left")
    }))

  it.scoped("answers NoHandler and InvalidRequest from the server as RequestError", () =>
    Effect.gen(function*() {
      const { client } = yield* serverAndClient()
      const noHandler = yield* Effect.flip(client.send(RequestResponse.endpoint("unknown"), { id: "u-1", payload: 1 }))
      expect(noHandler).toBeInstanceOf(RequestError)
      expect(noHandler).toMatchObject({ reason: "NoHandler", requestId: "u-1", type: "unknown" })
      const Loose = RequestResponse.endpoint("reserve")
      const invalid = yield* Effect.flip(client.send(Loose, { id: "u-2", payload: { sku: 1 } }))
      expect(invalid).toMatchObject({ _tag: "RequestError", reason: "InvalidRequest" })
      expect((invalid as RequestError).detail).toContain("sku")
    }))

  it.scoped("times out on the client and on the server under TestClock", () =>
    Effect.gen(function*() {
      const { client, server, slowStarted } = yield* serverAndClient()
      const fiber = yield* Effect.fork(
        Effect.flip(client.send(Slow, { id: "s-1", payload: "x", metadata: { timeout: "2 seconds" } }))
      )
      yield* Deferred.await(slowStarted)
      yield* TestClock.adjust("2 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toBeInstanceOf(TimeoutError)
      expect(error).toMatchObject({ duration: 2000 })
      yield* Effect.yieldNow()
      expect(yield* server.stats).toMatchObject({ running: 0 })
    }))

  it.scoped("reports an unreachable server as a Transport error", () =>
    Effect.gen(function*() {
      const transport = yield* Layer.build(
        RequestResponse.layerTransportHttp({ url: "http://127.0.0.1:1/requests" }).pipe(
          Layer.provide(NodeHttpClient.layerUndici)
        )
      )
      const client = yield* RequestResponse.make({ name: "nowhere" }).pipe(Effect.provide(transport))
      const error = yield* Effect.flip(client.send(Slow, { id: "n-1", payload: "x" }))
      expect(error).toMatchObject({ _tag: "RequestError", reason: "Transport", requestId: "n-1" })
    }))

  it.scoped("reports a wrong path as a Transport error naming the HTTP status", () =>
    Effect.gen(function*() {
      const { port } = yield* serverAndClient({ path: "/rr" })
      const transport = yield* Layer.build(
        RequestResponse.layerTransportHttp({ url: `http://127.0.0.1:${port}/elsewhere` }).pipe(
          Layer.provide(NodeHttpClient.layerUndici)
        )
      )
      const client = yield* RequestResponse.make({ name: "wrong-path" }).pipe(Effect.provide(transport))
      const error = yield* Effect.flip(client.send(Slow, { id: "p-1", payload: "x" }))
      expect(error).toMatchObject({ _tag: "RequestError", reason: "Transport", detail: "the server answered HTTP 404" })
    }))

  it.scoped("answers a body that is not JSON with 400 and an InvalidRequest envelope", () =>
    Effect.gen(function*() {
      const { url } = yield* serverAndClient()
      const reply = yield* Effect.promise(() =>
        fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" })
      )
      expect(reply.status).toBe(400)
      const body = yield* Effect.promise(() => reply.json())
      expect(body).toMatchObject({ status: "failure", error: { _tag: "RequestError", reason: "InvalidRequest" } })
    }))

  it.effect("rejects a bad URL or path with InvalidConfigError", () =>
    Effect.gen(function*() {
      const badUrl = yield* Effect.flip(
        Layer.build(
          RequestResponse.layerTransportHttp({ url: "not a url" }).pipe(Layer.provide(NodeHttpClient.layerUndici))
        ).pipe(Effect.scoped)
      )
      expect(badUrl).toBeInstanceOf(InvalidConfigError)
      expect(badUrl).toMatchObject({ issues: [{ path: "url" }] })
      const badPath = yield* Effect.flip(
        Layer.build(
          RequestResponse.layerHttpServer({ path: "requests" }).pipe(
            Layer.provide(RequestResponse.layer()),
            Layer.provide(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" }))
          )
        ).pipe(Effect.scoped)
      )
      expect(badPath).toMatchObject({ _tag: "InvalidConfigError", issues: [{ path: "path" }] })
    }))
})
