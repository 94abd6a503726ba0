/**
 * The demo's shop: it calls each service over HTTP through a request-response client
 * behind the resilience patterns, one instance of each per dependency, limits each
 * user's rate, caches product lookups, and places orders with a saga.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { CacheAside } from "@integration-patterns/cache"
import { Bulkhead, CircuitBreaker, RateLimiter, RequestResponse, Retry, Timeout } from "@integration-patterns/core"
import { Saga } from "@integration-patterns/saga"
import { Effect, Layer, Predicate, Schema } from "effect"
import {
  BookCourier,
  CancelCourier,
  Charge,
  CheckStock,
  GetProduct,
  Ping,
  type Product,
  QuoteDelivery,
  Refund,
  ReleaseStock,
  ReserveStock,
  type Services
} from "./services.js"

/** Failures that say the dependency is unwell; a declined card does not. */
const isOutage = (error: unknown): boolean =>
  Predicate.isTagged(error, "ServiceUnavailable") || Predicate.isTagged(error, "TimeoutError") ||
  Predicate.isTagged(error, "RequestError")

/**
 * A client of one service, through (outermost first) a bulkhead, a retry policy, a
 * circuit breaker and a per-attempt timeout.
 */
const dependency = (name: string, url: string, limits: { readonly maxConcurrent: number; readonly queueSize: number }) =>
  Effect.gen(function*() {
    const transport = yield* Layer.build(RequestResponse.layerTransportHttp({ url }))
    const client = yield* RequestResponse.make({ name, defaultTimeout: "2 seconds" }).pipe(Effect.provide(transport))
    const timeout = yield* Timeout.make({ name, duration: "1 second" })
    // The breaker's rejections are not retried: the call fails fast instead of waiting for it.
    const retry = yield* Retry.make({
      name,
      maxAttempts: 3,
      baseDelay: "50 millis",
      maxDelay: "500 millis",
      jitter: "full",
      retryOn: ["ServiceUnavailable", "TimeoutError"]
    })
    const breaker = yield* CircuitBreaker.make({ name, failureThreshold: 5, recoveryTimeout: "1 second", isFailure: isOutage })
    const bulkhead = yield* Bulkhead.make({ name, ...limits, timeout: "2 seconds" })

    // Request ids are built from the caller's key, so that the simulated flakiness is the
    // same on every run: `<key>.<nth call with this key>#<attempt>`.
    const calls = new Map<string, number>()
    const call = <P, R, E>(endpoint: RequestResponse.Endpoint<P, R, E>, key: string, payload: P) =>
      Effect.suspend(() => {
        const nth = (calls.get(key) ?? 0) + 1
        calls.set(key, nth)
        let attempt = 0
        return Effect.suspend(() =>
          client.send(endpoint, { id: `${key}.${nth}#${++attempt}`, payload, metadata: { correlationId: key } })
        ).pipe(
          Effect.map((response) => response.payload),
          timeout.execute,
          breaker.execute,
          retry.execute,
          bulkhead.execute
        )
      })

    const stats = Effect.all({
      requests: client.stats,
      timeout: timeout.stats,
      retry: retry.stats,
      breaker: breaker.stats,
      bulkhead: bulkhead.stats
    })
    // A first call warms up the connection and both ends' code paths, outside the patterns.
    const ping = Effect.timed(client.send(Ping, { id: `ping-${name}`, payload: null }))

    return { name, url, call, ping, breaker, stats }
  })

export type Dependency = Effect.Effect.Success<ReturnType<typeof dependency>>
export type DependencyStats = Effect.Effect.Success<Dependency["stats"]>

export const Order = Schema.Struct({
  orderId: Schema.String,
  user: Schema.String,
  sku: Schema.String,
  quantity: Schema.Number,
  card: Schema.String,
  amount: Schema.Number
})
export type Order = typeof Order.Type

/** Builds the shop for the lifetime of the scope; the saga log goes to the `SagaStore` provided. */
export const make = (urls: Services["urls"]) =>
  Effect.gen(function*() {
    const http = yield* Layer.build(NodeHttpClient.layerUndici)
    const catalogue = yield* Effect.provide(dependency("catalogue", urls.catalogue, { maxConcurrent: 8, queueSize: 32 }), http)
    const inventory = yield* Effect.provide(dependency("inventory", urls.inventory, { maxConcurrent: 4, queueSize: 8 }), http)
    const payment = yield* Effect.provide(dependency("payment", urls.payment, { maxConcurrent: 4, queueSize: 16 }), http)
    const shipping = yield* Effect.provide(dependency("shipping", urls.shipping, { maxConcurrent: 4, queueSize: 16 }), http)

    const limiter = yield* RateLimiter.make({ name: "storefront", requestsPerSecond: 5, burstLimit: 10 })
    const products = yield* CacheAside.make<Product>({ name: "products", ttl: "1 minute", maxSize: 1_000 })

    // Each step passes a key of its own to the service, so a retried call is not done twice.
    const placeOrder = Saga.define("place-order", { input: Order })
      .step("reserve-stock", {
        output: Schema.Struct({ reservationId: Schema.String }),
        run: ({ input }) =>
          inventory.call(ReserveStock, `${input.orderId}:reserve`, {
            orderId: input.orderId,
            sku: input.sku,
            quantity: input.quantity
          }),
        compensate: ({ input, output }) => inventory.call(ReleaseStock, `${input.orderId}:release`, output)
      })
      .step("charge-card", {
        output: Schema.Struct({ chargeId: Schema.String }),
        run: ({ input }) =>
          payment.call(Charge, `${input.orderId}:charge`, {
            orderId: input.orderId,
            card: input.card,
            amount: input.amount
          }),
        compensate: ({ input, output }) => payment.call(Refund, `${input.orderId}:refund`, output)
      })
      .step("book-courier", {
        output: Schema.Struct({ parcelId: Schema.String }),
        run: ({ input }) => shipping.call(BookCourier, `${input.orderId}:book`, { orderId: input.orderId, sku: input.sku }),
        compensate: ({ input, output }) => shipping.call(CancelCourier, `${input.orderId}:cancel`, output)
      })
    const orders = yield* Saga.make({ name: "orders", definitions: [placeOrder] })

    return {
      /** A product page: from the cache, else from the catalogue. */
      viewProduct: (user: string, sku: string) =>
        products.get(`product:${sku}`, () => catalogue.call(GetProduct, `product:${sku}`, { sku })).pipe(
          limiter.withRateLimit(user)
        ),
      checkStock: (user: string, sku: string) =>
        inventory.call(CheckStock, `stock:${user}:${sku}`, { sku }).pipe(limiter.withRateLimit(user)),
      quoteDelivery: (user: string, sku: string) =>
        shipping.call(QuoteDelivery, `quote:${user}:${sku}`, { sku }).pipe(limiter.withRateLimit(user)),
      placeOrder: (order: Order) => orders.execute(placeOrder, order).pipe(limiter.withRateLimit(order.user)),
      dependencies: [catalogue, inventory, payment, shipping],
      shipping,
      limiter,
      products,
      orders
    }
  })

export type Shop = Effect.Effect.Success<ReturnType<typeof make>>
