/**
 * The demo's simulated services: a product catalogue, inventory, payment and shipping,
 * each its own request-response server on a free loopback port. Each is flaky in a way
 * fixed by a seed: a request's fate (answer, fail, hang) and latency are a hash of the
 * seed, the service and the request id, so a run does not depend on timing.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { RequestResponse } from "@integration-patterns/core"
import { Context, Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"

// ---------------------------------------------------------------------------
// Contracts, shared by the services and the shop
// ---------------------------------------------------------------------------

export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", {
  service: Schema.String
}) {}

export class PaymentDeclined extends Schema.TaggedError<PaymentDeclined>()("PaymentDeclined", {
  orderId: Schema.String,
  reason: Schema.String
}) {}

export class ProductNotFound extends Schema.TaggedError<ProductNotFound>()("ProductNotFound", {
  sku: Schema.String
}) {}

export const Product = Schema.Struct({ sku: Schema.String, name: Schema.String, price: Schema.Number })
export type Product = typeof Product.Type

const Sku = Schema.Struct({ sku: Schema.String })

export const GetProduct = RequestResponse.endpoint("catalogue.get-product", {
  payload: Sku,
  response: Product,
  error: Schema.Union(ServiceUnavailable, ProductNotFound)
})

export const CheckStock = RequestResponse.endpoint("inventory.check-stock", {
  payload: Sku,
  response: Schema.Struct({ sku: Schema.String, available: Schema.Number }),
  error: ServiceUnavailable
})

export const ReserveStock = RequestResponse.endpoint("inventory.reserve", {
  payload: Schema.Struct({ orderId: Schema.String, sku: Schema.String, quantity: Schema.Number }),
  response: Schema.Struct({ reservationId: Schema.String }),
  error: ServiceUnavailable
})

export const ReleaseStock = RequestResponse.endpoint("inventory.release", {
  payload: Schema.Struct({ reservationId: Schema.String }),
  response: Schema.Boolean,
  error: ServiceUnavailable
})

export const Charge = RequestResponse.endpoint("payment.charge", {
  payload: Schema.Struct({ orderId: Schema.String, card: Schema.String, amount: Schema.Number }),
  response: Schema.Struct({ chargeId: Schema.String }),
  error: Schema.Union(ServiceUnavailable, PaymentDeclined)
})

export const Refund = RequestResponse.endpoint("payment.refund", {
  payload: Schema.Struct({ chargeId: Schema.String }),
  response: Schema.Boolean,
  error: ServiceUnavailable
})

export const QuoteDelivery = RequestResponse.endpoint("shipping.quote", {
  payload: Sku,
  response: Schema.Struct({ sku: Schema.String, days: Schema.Number }),
  error: ServiceUnavailable
})

export const BookCourier = RequestResponse.endpoint("shipping.book", {
  payload: Schema.Struct({ orderId: Schema.String, sku: Schema.String }),
  response: Schema.Struct({ parcelId: Schema.String }),
  error: ServiceUnavailable
})

export const CancelCourier = RequestResponse.endpoint("shipping.cancel", {
  payload: Schema.Struct({ parcelId: Schema.String }),
  response: Schema.Boolean,
  error: ServiceUnavailable
})

/** Answered at once by every service, never flaky: the shop's warm-up call. */
export const Ping = RequestResponse.endpoint("ping", { payload: Schema.Null, response: Schema.Literal("pong") })

export const catalogue: ReadonlyArray<Product> = [
  { sku: "kettle", name: "Kettle", price: 39 },
  { sku: "teapot", name: "Teapot", price: 24 },
  { sku: "mug", name: "Mug", price: 9 },
  { sku: "grinder", name: "Coffee grinder", price: 89 },
  { sku: "scale", name: "Kitchen scale", price: 29 },
  { sku: "whisk", name: "Whisk", price: 7 },
  { sku: "toaster", name: "Toaster", price: 49 },
  { sku: "blender", name: "Blender", price: 119 },
  { sku: "pan", name: "Frying pan", price: 45 },
  { sku: "knife", name: "Chef's knife", price: 79 }
]

// ---------------------------------------------------------------------------
// Flakiness
// ---------------------------------------------------------------------------

/** A number in [0, 1) from a string: FNV-1a, then murmur3's finaliser. */
export const unitHash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return (h >>> 0) / 0x100000000
}

export interface Behaviour {
  /** Share of requests that fail with `ServiceUnavailable`. */
  readonly failureRate: number
  /** Share of requests that hang for three seconds before answering. */
  readonly hangRate: number
  /** Latency of a normal answer, in milliseconds. */
  readonly latency: readonly [min: number, max: number]
}

/** A simulated service: its behaviour, and a switch to take it down. */
export interface Simulated extends Behaviour {
  readonly name: string
  down: boolean
}

const simulate = <A, E>(
  seed: number,
  service: Simulated,
  requestId: string,
  answer: Effect.Effect<A, E>
): Effect.Effect<A, E | ServiceUnavailable> =>
  Effect.suspend((): Effect.Effect<A, E | ServiceUnavailable> => {
    const unavailable = new ServiceUnavailable({ service: service.name })
    if (service.down) return Effect.delay(Effect.fail(unavailable), "5 millis")
    const roll = unitHash(`${seed}/${service.name}/${requestId}`)
    const [min, max] = service.latency
    const latency = min + Math.floor(unitHash(`${seed}/${service.name}/${requestId}/latency`) * (max - min))
    if (roll < service.hangRate) return Effect.delay(answer, "3 seconds")
    if (roll < service.hangRate + service.failureRate) return Effect.delay(Effect.fail(unavailable), `${latency} millis`)
    return Effect.delay(answer, `${latency} millis`)
  })

// ---------------------------------------------------------------------------
// The servers
// ---------------------------------------------------------------------------

const serve = (
  name: string,
  handlers: Layer.Layer<never, never, RequestResponse.RequestResponse>
) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      Layer.mergeAll(
        RequestResponse.layerHttpServer({ path: "/requests" }),
        RequestResponse.layerHandler(Ping, () => Effect.succeed("pong" as const)),
        handlers
      ).pipe(
        Layer.provideMerge(RequestResponse.layer({ name: `${name}-service`, concurrency: 64, queueSize: 256 })),
        Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" }))
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return `http://127.0.0.1:${port}/requests`
  })

export interface Services {
  readonly urls: {
    readonly catalogue: string
    readonly inventory: string
    readonly payment: string
    readonly shipping: string
  }
  readonly simulated: ReadonlyArray<Simulated>
  readonly shipping: Simulated
}

/**
 * Starts the four services for the lifetime of the scope. Payment declines every card
 * ending in 0002.
 */
export const start = (seed: number) =>
  Effect.gen(function*() {
    const make = (name: string, behaviour: Behaviour): Simulated => ({ name, ...behaviour, down: false })
    const catalogueService = make("catalogue", { failureRate: 0.15, hangRate: 0.08, latency: [20, 60] })
    const inventoryService = make("inventory", { failureRate: 0.1, hangRate: 0, latency: [30, 60] })
    const paymentService = make("payment", { failureRate: 0.2, hangRate: 0.05, latency: [30, 80] })
    const shippingService = make("shipping", { failureRate: 0.05, hangRate: 0, latency: [10, 30] })

    const stock = new Map(catalogue.map((product, i) => [product.sku, 5 + (i * 7) % 20]))
    // Keyed by order: a repeated reservation or charge (a retry after a lost answer) is answered again, not made twice.
    const reservations = new Map<string, { readonly sku: string; readonly quantity: number }>()
    const charges = new Set<string>()
    const parcels = new Set<string>()

    const catalogueUrl = yield* serve(
      "catalogue",
      RequestResponse.layerHandler(GetProduct, (request) =>
        simulate(
          seed,
          catalogueService,
          request.id,
          Effect.suspend(() => {
            const product = catalogue.find((p) => p.sku === request.payload.sku)
            return product === undefined
              ? Effect.fail(new ProductNotFound({ sku: request.payload.sku }))
              : Effect.succeed(product)
          })
        ))
    )

    const inventoryUrl = yield* serve(
      "inventory",
      Layer.mergeAll(
        RequestResponse.layerHandler(CheckStock, (request) =>
          simulate(
            seed,
            inventoryService,
            request.id,
            Effect.sync(() => ({ sku: request.payload.sku, available: stock.get(request.payload.sku) ?? 0 }))
          )),
        RequestResponse.layerHandler(ReserveStock, (request) =>
          simulate(
            seed,
            inventoryService,
            request.id,
            Effect.sync(() => {
              const { orderId, quantity, sku } = request.payload
              const reservationId = `r-${orderId}`
              if (!reservations.has(reservationId)) {
                reservations.set(reservationId, { sku, quantity })
                stock.set(sku, (stock.get(sku) ?? 0) - quantity)
              }
              return { reservationId }
            })
          )),
        RequestResponse.layerHandler(ReleaseStock, (request) =>
          simulate(
            seed,
            inventoryService,
            request.id,
            Effect.sync(() => {
              const reservation = reservations.get(request.payload.reservationId)
              if (reservation === undefined) return false
              reservations.delete(request.payload.reservationId)
              stock.set(reservation.sku, (stock.get(reservation.sku) ?? 0) + reservation.quantity)
              return true
            })
          ))
      )
    )

    const paymentUrl = yield* serve(
      "payment",
      Layer.merge(
        RequestResponse.layerHandler(Charge, (request) =>
          simulate(
            seed,
            paymentService,
            request.id,
            Effect.suspend(() => {
              const { card, orderId } = request.payload
              if (card.endsWith("0002")) return Effect.fail(new PaymentDeclined({ orderId, reason: "insufficient funds" }))
              charges.add(`c-${orderId}`)
              return Effect.succeed({ chargeId: `c-${orderId}` })
            })
          )),
        RequestResponse.layerHandler(Refund, (request) =>
          simulate(seed, paymentService, request.id, Effect.sync(() => charges.delete(request.payload.chargeId))))
      )
    )

    const shippingUrl = yield* serve(
      "shipping",
      Layer.mergeAll(
        RequestResponse.layerHandler(QuoteDelivery, (request) =>
          simulate(
            seed,
            shippingService,
            request.id,
            Effect.succeed({ sku: request.payload.sku, days: 1 + request.payload.sku.length % 3 })
          )),
        RequestResponse.layerHandler(BookCourier, (request) =>
          simulate(
            seed,
            shippingService,
            request.id,
            Effect.sync(() => {
              parcels.add(`p-${request.payload.orderId}`)
              return { parcelId: `p-${request.payload.orderId}` }
            })
          )),
        RequestResponse.layerHandler(CancelCourier, (request) =>
          simulate(seed, shippingService, request.id, Effect.sync(() => parcels.delete(request.payload.parcelId))))
      )
    )

    const services: Services = {
      urls: { catalogue: catalogueUrl, inventory: inventoryUrl, payment: paymentUrl, shipping: shippingUrl },
      simulated: [catalogueService, inventoryService, paymentService, shippingService],
      shipping: shippingService
    }
    return services
  })
