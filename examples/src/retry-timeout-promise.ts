/**
 * Retry and Timeout with the Promise API, against a flaky simulated HTTP-like service.
 *
 * The service honours the AbortSignal it is given, as `fetch` does: when the timeout
 * aborts it, it stops and rejects. Numbers are milliseconds.
 *
 * Run it alone: node --conditions=source --import tsx examples/src/retry-timeout-promise.ts
 */
import { Retry, RetryExhaustedError, Timeout, TimeoutError } from "@integration-patterns/core/promise"
import { pathToFileURL } from "node:url"

type Behaviour = "fail" | "slow" | "answer"

class ServiceUnavailable extends Error {
  override readonly name = "ServiceUnavailable"
}

/** A service that follows a script: fail fast, answer too slowly, or answer. */
export const flakyPrices = (script: ReadonlyArray<Behaviour>) => {
  let call = 0
  let aborted = 0
  const price = (sku: string, signal: AbortSignal): Promise<number> =>
    new Promise((resolve, reject) => {
      const behaviour = script[call++ % script.length]!
      const answerIn = behaviour === "slow" ? 1_000 : 5
      const timer = setTimeout(
        () => behaviour === "fail" ? reject(new ServiceUnavailable(`no price for ${sku}`)) : resolve(sku.length * 10),
        answerIn
      )
      signal.addEventListener("abort", () => {
        clearTimeout(timer)
        aborted++
        reject(signal.reason)
      })
    })
  return { price, calls: () => call, aborted: () => aborted }
}

export interface PromiseSummary {
  readonly prices: ReadonlyArray<string>
  readonly calls: number
  readonly abortedCalls: number
  readonly retries: number
  readonly timeouts: number
}

export const main = async (): Promise<PromiseSummary> => {
  const service = flakyPrices(["slow", "fail", "answer", "answer", "fail", "fail", "fail"])
  const retry = new Retry({
    name: "prices",
    maxAttempts: 3,
    baseDelay: 20,
    maxDelay: 200,
    backoffStrategy: "exponential",
    retryOn: ["ServiceUnavailable", "TimeoutError"]
  })
  const timeout = new Timeout({ name: "price-call", duration: 100, gracefulShutdown: true, gracePeriod: 50 })

  const prices: Array<string> = []
  for (const sku of ["sku-1", "sku-22", "sku-333"]) {
    try {
      const price = await retry.execute(() => timeout.execute((signal) => service.price(sku, signal)))
      prices.push(`${sku}: ${price}`)
    } catch (error) {
      if (error instanceof RetryExhaustedError) prices.push(`${sku}: gave up (${error.message})`)
      else if (error instanceof TimeoutError) prices.push(`${sku}: timed out`)
      else throw error
    }
  }
  return {
    prices,
    calls: service.calls(),
    abortedCalls: service.aborted(),
    retries: retry.getStats().retries,
    timeouts: timeout.getStats().timeouts
  }
}

export const format = (summary: PromiseSummary): string =>
  [
    "Retry + Timeout (Promise API) against a flaky price service",
    ...summary.prices.map((line) => `  ${line}`),
    `  service calls: ${summary.calls} (${summary.abortedCalls} aborted by the timeout)`,
    `  retries: ${summary.retries}, timeouts: ${summary.timeouts}`
  ].join("\n")

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().then((summary) => console.log(format(summary)))
}
