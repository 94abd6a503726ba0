/**
 * `pnpm demo`: an online shop on four flaky services, with every pattern at work.
 *
 * The catalogue, inventory, payment and shipping services run on free loopback ports
 * and fail or hang now and then (decided by a seed, so every run tells the same story).
 * The shop calls them over HTTP through request-response, each behind a bulkhead, a
 * retry policy, a circuit breaker and a timeout; it limits each user's rate, caches
 * product pages, and places orders with a saga logged in SQLite (in a temporary
 * directory). It prints each phase as it runs, then what each pattern did.
 *
 * `pnpm demo --dashboard` also serves the live dashboard (and /metrics, /health) on a
 * local port (`--port=N`, a free one by default), and keeps shopping slowly until Ctrl-C.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { PatternEvents } from "@integration-patterns/core"
import { HttpEndpoints } from "@integration-patterns/metrics"
import { SagaStore } from "@integration-patterns/saga"
import { Console, Context, Duration, Effect, Either, Layer, Predicate, Random } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { patternTable, serviceTable, summarize } from "./demo/report.js"
import * as Services from "./demo/services.js"
import * as Shop from "./demo/shop.js"

export type { Summary } from "./demo/report.js"

export interface Options {
  /** Decides which requests fail or hang. Defaults to 7. */
  readonly seed?: number
  /** Serve the dashboard on this port (0 for a free one) and keep shopping until interrupted. */
  readonly dashboard?: { readonly port: number }
}

const shoppers = ["ada", "grace", "linus", "barbara", "alan", "margaret", "edsger", "donald"]
const skus = Services.catalogue.map((product) => product.sku)

const phase = (n: number, title: string) => Console.log(`\n[${n}/6] ${title}`)
const say = (line: string) => Console.log(`      ${line}`)

/** Short words for what went wrong. */
const describe = (error: unknown): string => {
  if (!Predicate.hasProperty(error, "_tag")) return String(error)
  switch (error._tag) {
    case "CacheLoadError":
    case "SagaStepError":
      return Predicate.hasProperty(error, "cause") ? describe(error.cause) : error._tag
    case "RetryExhaustedError":
      return Predicate.hasProperty(error, "attempts") ? `gave up after ${error.attempts} attempts` : error._tag
    case "CircuitBreakerOpenError":
      return "breaker open, not called"
    case "BulkheadRejectedError":
      return "too busy, turned away"
    case "RateLimitExceededError":
      return "rate limited"
    default:
      return String(error._tag)
  }
}

const count = <A, E>(results: ReadonlyArray<Either.Either<A, E>>, f: (e: E) => boolean = () => true) =>
  results.filter((result) => Either.isLeft(result) && f(result.left)).length

/** The demo: six phases, then the summary (and, with a dashboard, traffic until interrupted). */
export const demo = (options: Options = {}) =>
  Effect.gen(function*() {
    const seed = options.seed ?? 7
    yield* Console.log(`Integration patterns demo: an online shop on four flaky services (seed ${seed})`)

    if (options.dashboard !== undefined) {
      const endpoints = yield* Layer.build(HttpEndpoints.layerNode({ port: options.dashboard.port, title: "Demo shop" }))
      const address = Context.get(endpoints, HttpServer.HttpServer).address
      const port = address._tag === "TcpAddress" ? address.port : options.dashboard.port
      yield* Console.log(`Dashboard: http://127.0.0.1:${port}/dashboard  (also /metrics and /health)`)
    }

    // Breaker transitions and compensations are printed as they happen, and counted.
    const trips = new Map<string, number>()
    const recoveries = new Map<string, number>()
    let compensations = 0
    const bus = yield* PatternEvents.PatternEvents
    const stopListening = bus.listen((event) => {
      if (event._tag === "StateChanged") {
        console.log(`      ! circuit breaker "${event.name}": ${event.from} -> ${event.to} (${event.reason})`)
        if (event.to === "Open") trips.set(event.name, (trips.get(event.name) ?? 0) + 1)
        if (event.from === "HalfOpen" && event.to === "Closed") {
          recoveries.set(event.name, (recoveries.get(event.name) ?? 0) + 1)
        }
      }
      if (event._tag === "CompensationRan" && event.outcome === "success") {
        compensations++
        console.log(`      ! saga compensated step "${event.step}"`)
      }
    })
    yield* Effect.addFinalizer(() => Effect.sync(stopListening))

    // ---- 1. the services ------------------------------------------------------
    yield* phase(1, "Starting the simulated services on loopback HTTP")
    const services = yield* Services.start(seed)
    const directory = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "integration-patterns-demo-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const database = join(directory, "orders.db")
    const store = yield* Layer.build(SagaStore.layerSqlite({ filename: database }))
    const shop = yield* Effect.provide(Shop.make(services.urls), store)
    for (const dependency of shop.dependencies) {
      const service = services.simulated.find((simulated) => simulated.name === dependency.name)!
      const [took] = yield* dependency.ping
      yield* say(
        `${service.name.padEnd(10)} ${dependency.url}  fails ${service.failureRate * 100}%, hangs ${
          service.hangRate * 100
        }%; first call ${Math.round(Duration.toMillis(took))} ms`
      )
    }
    yield* say(`orders are logged in ${database}`)

    // ---- 2. browsing ----------------------------------------------------------
    yield* phase(2, "Eight shoppers browse the catalogue (cache-aside, rate limit, timeout, retry)")
    const views = shoppers.flatMap((user) =>
      Array.from({ length: 8 }, (_, j) => ({
        user,
        sku: skus[Math.floor(Services.unitHash(`${seed}/browse/${user}/${j}`) * skus.length)]!
      }))
    )
    const browsed = yield* Effect.forEach(
      shoppers,
      (user) =>
        Effect.forEach(views.filter((view) => view.user === user), (view) =>
          Effect.either(shop.viewProduct(view.user, view.sku))),
      { concurrency: "unbounded" }
    ).pipe(Effect.map((perUser) => perUser.flat()))
    const afterBrowsing = yield* shop.products.stats
    yield* say(
      `${views.length} product pages, ${views.length - count(browsed)} shown: ${afterBrowsing.hits} from the cache, ` +
        `${afterBrowsing.misses} misses sharing ${afterBrowsing.loads} catalogue loads` +
        (count(browsed) === 0 ? "" : `; ${count(browsed)} failed`)
    )

    // ---- 3. a scraper ---------------------------------------------------------
    yield* phase(3, "A scraper asks for 25 pages at once (per-user rate limit: burst of 10, then 5 a second)")
    const scraped = yield* Effect.forEach(
      Array.from({ length: 25 }, (_, i) => skus[i % skus.length]!),
      (sku) => Effect.either(shop.viewProduct("scraper", sku)),
      { concurrency: "unbounded" }
    )
    const limited = count(scraped, (e) => e._tag === "RateLimitExceededError")
    yield* say(`${scraped.length - count(scraped)} pages served, ${limited} rejected with RateLimitExceededError`)

    // ---- 4. a flash sale ------------------------------------------------------
    yield* phase(4, "Flash sale: 20 shoppers check the grinder's stock at once (bulkhead: 4 at a time, 8 waiting)")
    const checked = yield* Effect.forEach(
      Array.from({ length: 20 }, (_, i) => `flash-${i + 1}`),
      (user) => Effect.either(shop.checkStock(user, "grinder")),
      { concurrency: "unbounded" }
    )
    const shed = count(checked, (e) => e._tag === "BulkheadRejectedError")
    yield* say(
      `${checked.length - count(checked)} answered, ${shed} turned away at once with BulkheadRejectedError` +
        `, ${count(checked) - shed} failed otherwise`
    )

    // ---- 5. orders ------------------------------------------------------------
    yield* phase(5, "Six orders, each a saga: reserve stock, charge the card, book a courier")
    const cards = ["4000 0000 0000 0001", "4000 0000 0000 0001", "4000 0000 0000 0001", "4000 0000 0000 0002"]
    for (let i = 0; i < 6; i++) {
      const user = shoppers[i]!
      const sku = skus[(i * 3) % skus.length]!
      const orderId = `order-${i + 1}`
      const outcome = yield* shop.viewProduct(user, sku).pipe(
        Effect.flatMap((product) =>
          shop.placeOrder({ orderId, user, sku, quantity: 1, card: cards[i % cards.length]!, amount: product.price })
        ),
        Effect.either
      )
      yield* say(Either.match(outcome, {
        onRight: (done) =>
          `${orderId} (${user}, ${sku}): placed; ${done["reserve-stock"].reservationId}, ${
            done["charge-card"].chargeId
          }, ${done["book-courier"].parcelId}`,
        onLeft: (error) =>
          error._tag === "SagaStepError"
            ? `${orderId} (${user}, ${sku}): ${error.step} failed (${describe(error)}); undone: ${
              error.compensated.join(", ")
            }`
            : `${orderId} (${user}, ${sku}): not placed (${describe(error)})`
      }))
    }

    // ---- 6. an outage ---------------------------------------------------------
    yield* phase(6, "The shipping service goes down, then comes back (circuit breaker)")
    services.shipping.down = true
    const quote = (i: number) => Effect.either(shop.quoteDelivery(shoppers[i % shoppers.length]!, skus[i % skus.length]!))
    const duringOutage = yield* Effect.forEach(Array.from({ length: 10 }, (_, i) => i), quote)
    const fastFailed = count(duringOutage, (e) => e._tag === "CircuitBreakerOpenError")
    yield* say(
      `10 delivery quotes while it is down: ${count(duringOutage) - fastFailed} failed after retries, ` +
        `${fastFailed} failed fast without calling it`
    )
    services.shipping.down = false
    yield* say("shipping is back; after the breaker's recovery timeout a probe call goes through")
    for (let probe = 0; probe < 5 && (yield* shop.shipping.breaker.state) !== "Closed"; probe++) {
      const { retryAfter } = yield* shop.shipping.breaker.stats
      yield* Effect.sleep(`${retryAfter + 20} millis`)
      yield* quote(10 + probe)
    }
    const afterOutage = yield* Effect.forEach([20, 21, 22], quote)
    yield* say(`3 more quotes: ${3 - count(afterOutage)} answered; shipping breaker ${yield* shop.shipping.breaker.state}`)

    // ---- summary --------------------------------------------------------------
    const sagaStore = Context.get(store, SagaStore.SagaStore)
    const summary = summarize({
      services: yield* Effect.forEach(shop.dependencies, (dependency) =>
        Effect.map(dependency.stats, (stats) => ({
          name: dependency.name,
          ...stats,
          trips: trips.get(dependency.name) ?? 0,
          recoveries: recoveries.get(dependency.name) ?? 0
        }))),
      rateLimiter: yield* shop.limiter.stats,
      cache: yield* shop.products.stats,
      saga: yield* shop.orders.stats,
      compensations,
      stored: { completed: yield* sagaStore.count("completed"), compensated: yield* sagaStore.count("compensated") }
    })
    yield* Console.log(`\nWhat each pattern did\n${patternTable(summary)}`)
    yield* Console.log(`\nCalls per service (through bulkhead -> retry -> breaker -> timeout)\n${serviceTable(summary)}`)
    yield* Console.log(
      `\nSQLite saga log: ${summary.stored.completed} orders completed, ${summary.stored.compensated} compensated.`
    )

    if (options.dashboard !== undefined) {
      yield* Console.log("\nStill shopping, slowly, for the dashboard. Press Ctrl-C to stop.")
      yield* traffic(shop, services, seed)
    }
    return summary
  }).pipe(Effect.scoped, Effect.withRandom(Random.make(options.seed ?? 7)))

/** A few shoppers a second, a scraper now and then, and a shipping outage every minute. */
const traffic = (shop: Shop.Shop, services: Services.Services, seed: number) => {
  let tick = 0
  const step = Effect.gen(function*() {
    tick++
    const user = shoppers[yield* Random.nextIntBetween(0, shoppers.length)]!
    const sku = skus[yield* Random.nextIntBetween(0, skus.length)]!
    yield* Effect.either(shop.viewProduct(user, sku))
    if (tick % 4 === 0) yield* Effect.either(shop.checkStock(user, sku))
    if (tick % 10 === 0) {
      const card = (yield* Random.nextIntBetween(0, 5)) === 0 ? "4000 0000 0000 0002" : "4000 0000 0000 0001"
      const price = Services.catalogue.find((product) => product.sku === sku)!.price
      yield* Effect.either(
        shop.placeOrder({ orderId: `live-${seed}-${tick}`, user, sku, quantity: 1, card, amount: price })
      )
    }
    if (tick % 120 === 0) {
      yield* Effect.forEach(Array.from({ length: 20 }), () => Effect.either(shop.viewProduct("scraper", sku)), {
        concurrency: "unbounded"
      })
    }
    services.shipping.down = tick % 240 >= 200
    if (tick % 5 === 0) yield* Effect.either(shop.quoteDelivery(user, sku))
  })
  return step.pipe(Effect.zipLeft(Effect.sleep("250 millis")), Effect.forever)
}

/** What `pnpm demo` and the test run. */
export const main = demo()

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2)
  const port = args.find((arg) => arg.startsWith("--port="))
  NodeRuntime.runMain(
    args.includes("--dashboard") ? demo({ dashboard: { port: port === undefined ? 0 : Number(port.slice(7)) } }) : main
  )
}
