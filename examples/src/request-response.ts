/**
 * Request-response with the Effect API: a catalog service served over real loopback
 * HTTP, and a storefront that calls it with typed requests, typed errors, priorities,
 * timeouts and duplicate detection.
 *
 * Run: node --conditions=source --import tsx examples/src/request-response.ts
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { RequestResponse } from "@integration-patterns/core"
import { Console, Context, Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"
import { pathToFileURL } from "node:url"

class ProductNotFound extends Schema.TaggedError<ProductNotFound>()("ProductNotFound", { sku: Schema.String }) {}

const Product = Schema.Struct({ sku: Schema.String, name: Schema.String, price: Schema.Number })

// The contract, shared by the server and its clients.
const GetProduct = RequestResponse.endpoint("get-product", {
  payload: Schema.Struct({ sku: Schema.String }),
  response: Product,
  error: ProductNotFound
})

const BuildReport = RequestResponse.endpoint("build-report", { payload: Schema.String, response: Schema.String })

const catalog: ReadonlyArray<typeof Product.Type> = [
  { sku: "apple", name: "Apple", price: 0.5 },
  { sku: "pear", name: "Pear", price: 0.75 }
]

// The server side: one instance with its handlers, served on a random loopback port.
const CatalogServer = Layer.mergeAll(
  RequestResponse.layerHttpServer({ path: "/requests" }),
  RequestResponse.layerHandler(GetProduct, (request) => {
    const product = catalog.find((p) => p.sku === request.payload.sku)
    return product === undefined ? Effect.fail(new ProductNotFound({ sku: request.payload.sku })) : Effect.succeed(product)
  }),
  RequestResponse.layerHandler(BuildReport, (request) => Effect.as(Effect.sleep("1 second"), `report ${request.payload}`))
).pipe(
  Layer.provideMerge(RequestResponse.layer({ name: "catalog", concurrency: 4, queueSize: 50 })),
  Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" }))
)

export const program = Effect.gen(function*() {
  const server = yield* Layer.build(CatalogServer)
  const address = Context.get(server, HttpServer.HttpServer).address
  const url = address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}/requests` : ""

  // The client side: another instance whose transport is HTTP.
  const transport = yield* Layer.build(
    RequestResponse.layerTransportHttp({ url }).pipe(Layer.provide(NodeHttpClient.layerUndici))
  )
  const storefront = yield* RequestResponse.make({ name: "storefront" }).pipe(Effect.provide(transport))

  const apple = yield* storefront.send(GetProduct, {
    id: "req-1",
    payload: { sku: "apple" },
    metadata: { priority: "high", correlationId: "order-42", timeout: "2 seconds" }
  })
  yield* Console.log(`${apple.payload.name} costs ${apple.payload.price} (correlation ${apple.correlationId})`)

  // The handler's typed error arrives as the same class, ready for catchTag.
  const missing = yield* storefront.send(GetProduct, { id: "req-2", payload: { sku: "kiwi" } }).pipe(
    Effect.map((response) => response.payload.name),
    Effect.catchTag("ProductNotFound", (error) => Effect.succeed(`no product "${error.sku}"`))
  )
  yield* Console.log(missing)

  // The same request id again is answered from the first result; the handler ran once.
  yield* storefront.send(GetProduct, { id: "req-1", payload: { sku: "apple" } })
  const served = yield* Context.get(server, RequestResponse.RequestResponse).stats
  yield* Console.log(`catalog ran its handlers ${served.served} times and answered ${served.duplicates} duplicate`)

  // A request whose budget runs out fails with TimeoutError.
  const late = yield* storefront.send(BuildReport, { id: "req-3", payload: "daily", metadata: { timeout: "100 millis" } })
    .pipe(
      Effect.map((response) => response.payload),
      Effect.catchTag("TimeoutError", (error) => Effect.succeed(`timed out after ${error.duration} ms`))
    )
  yield* Console.log(late)

  const stats = yield* storefront.stats
  yield* Console.log(`storefront: sent ${stats.sent}, succeeded ${stats.succeeded}, failed ${stats.failed}`)
}).pipe(Effect.scoped)

export const main = (): Promise<void> => Effect.runPromise(program)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
