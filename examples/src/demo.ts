/**
 * `pnpm demo`: for now, the retry and timeout examples against flaky simulated services.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { pathToFileURL } from "node:url"
import * as PromiseExample from "./retry-timeout-promise.js"
import * as EffectExample from "./retry-timeout.js"

export const runDemo = async (): Promise<string> => {
  const effectSummary = await Effect.runPromise(EffectExample.main)
  const promiseSummary = await PromiseExample.main()
  const ok = effectSummary.results.filter(Either.isRight).length
  return [
    EffectExample.format(effectSummary),
    "",
    PromiseExample.format(promiseSummary),
    "",
    `Summary: ${ok} of ${effectSummary.results.length} lookups and ${
      promiseSummary.prices.filter((line) => !line.includes("gave up")).length
    } of ${promiseSummary.prices.length} prices succeeded despite ${
      effectSummary.retry.retries + promiseSummary.retries
    } retries and ${effectSummary.timeout.timeouts + promiseSummary.timeouts} timeouts.`
  ].join("\n")
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  runDemo().then(
    (text) => console.log(text),
    (error) => {
      console.error(error)
      process.exitCode = 1
    }
  )
}
