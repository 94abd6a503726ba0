/**
 * Retry and Timeout with the Effect API, against a flaky simulated inventory service.
 *
 * Each lookup runs under a 100 ms timeout; a lookup that fails or times out is retried
 * with exponential backoff and full jitter. The service's misbehaviour is scripted, so
 * the run is the same every time.
 *
 * Run it alone: node --conditions=source --import tsx examples/src/retry-timeout.ts
 */
import { type InvalidConfigError, PatternEvents, Retry, Timeout } from "@integration-patterns/core"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { pathToFileURL } from "node:url"

export class ServiceUnavailable extends Data.TaggedError("ServiceUnavailable")<{ readonly sku: string }> {}

export interface Stock {
  readonly sku: string
  readonly available: number
  /** The time the service was given to answer, read from the enclosing deadline. */
  readonly budgetMs: number
}

type Behaviour = "fail" | "hang" | "answer"

/** A service that follows a script: fail fast, hang until interrupted, or answer. */
export const flakyInventory = (script: ReadonlyArray<Behaviour>) => {
  let call = 0
  let interrupted = 0
  const lookup = (sku: string): Effect.Effect<Stock, ServiceUnavailable> =>
    Effect.suspend(() => {
      const behaviour = script[call++ % script.length]!
      switch (behaviour) {
        case "fail":
          return Effect.fail(new ServiceUnavailable({ sku })).pipe(Effect.delay("5 millis"))
        case "hang":
          return Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++)))
        case "answer":
          return Timeout.remaining.pipe(
            Effect.map((budget) => ({
              sku,
              available: sku.length * 3,
              budgetMs: Math.round(Option.match(budget, { onNone: () => Infinity, onSome: Duration.toMillis }))
            })),
            Effect.delay("5 millis")
          )
      }
    })
  return { lookup, calls: () => call, interrupted: () => interrupted }
}

export interface Summary {
  readonly results: ReadonlyArray<Either.Either<Stock, string>>
  readonly calls: number
  readonly interruptedCalls: number
  readonly retry: Retry.Stats
  readonly timeout: Timeout.Stats
  readonly events: ReadonlyArray<string>
}

export const program: Effect.Effect<Summary, InvalidConfigError> = Effect.scoped(
  Effect.gen(function*() {
    const service = flakyInventory(["fail", "hang", "answer", "answer", "fail", "fail", "fail", "fail"])
    const retry = yield* Retry.make({
      name: "inventory",
      maxAttempts: 3,
      baseDelay: "20 millis",
      maxDelay: "200 millis",
      backoffStrategy: "exponential",
      jitter: "full",
      retryOn: ["ServiceUnavailable", "TimeoutError"]
    })
    const timeout = yield* Timeout.make({ name: "inventory-call", duration: "100 millis" })

    const events: Array<string> = []
    const bus = yield* PatternEvents.PatternEvents
    const stop = bus.listen((event) => {
      if (event._tag === "RetryScheduled") events.push(`retry after attempt ${event.attempt} failed`)
      if (event._tag === "RetryExhausted") events.push(`gave up after ${event.attempts} attempts (${event.reason})`)
      if (event._tag === "TimeoutExpired") events.push(`timed out after ${event.duration} ms`)
    })
    yield* Effect.addFinalizer(() => Effect.sync(stop))

    const results = yield* Effect.forEach(["sku-1", "sku-22", "sku-333"], (sku) =>
      service.lookup(sku).pipe(
        timeout.execute,
        retry.execute,
        Effect.mapError((error) => error.message),
        Effect.either
      ))
    return {
      results,
      calls: service.calls(),
      interruptedCalls: service.interrupted(),
      retry: yield* retry.stats,
      timeout: yield* timeout.stats,
      events
    }
  })
)

/** What `pnpm demo` and the tests run. */
export const main: Effect.Effect<Summary, InvalidConfigError> = program

export const format = (summary: Summary): string =>
  [
    "Retry + Timeout (Effect API) against a flaky inventory service",
    ...summary.results.map((result) =>
      Either.match(result, {
        onRight: (stock) => `  ok     ${stock.sku}: ${stock.available} in stock (answered within a ${stock.budgetMs} ms budget)`,
        onLeft: (message) => `  failed ${message}`
      })
    ),
    `  service calls: ${summary.calls} (${summary.interruptedCalls} hung and were interrupted)`,
    `  retry:   ${summary.retry.retries} retries, ${summary.retry.successes} succeeded, ${summary.retry.exhausted} gave up`,
    `  timeout: ${summary.timeout.timeouts} of ${summary.timeout.calls} calls timed out`,
    ...summary.events.map((event) => `  event: ${event}`)
  ].join("\n")

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  Effect.runPromise(main).then((summary) => console.log(format(summary)))
}
