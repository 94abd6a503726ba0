// A per-user rate limiter with the Effect API: each user gets a bucket of 3 requests,
// refilled at 2 a second. Run: node --conditions=source --import tsx examples/src/rate-limiter.ts
import { RateLimiter } from "@integration-patterns/core"
import { Console, Effect } from "effect"
import { pathToFileURL } from "node:url"

const search = (query: string) => Effect.succeed(`results for "${query}"`)

export const main = Effect.gen(function*() {
  // One limiter for the API, one budget per key.
  const limiter = yield* RateLimiter.make({ name: "search-api", requestsPerSecond: 2, burstLimit: 3 })

  const handle = (user: string, query: string) =>
    search(query).pipe(
      limiter.withRateLimit(user),
      Effect.catchTag("RateLimitExceededError", (e) => Effect.succeed(`429, retry in ${e.retryAfter} ms`))
    )

  // Ada sends 5 requests at once: her bucket holds 3. Grace has a budget of her own.
  const ada = yield* Effect.all(["a", "b", "c", "d", "e"].map((q) => handle("ada", q)), { concurrency: "unbounded" })
  const grace = yield* handle("grace", "f")
  yield* Console.log(`ada:   ${ada.join(" | ")}`)
  yield* Console.log(`grace: ${grace}`)

  // Waiting instead of failing: the request is admitted when the next token arrives (500 ms).
  const waited = yield* search("g").pipe(limiter.withRateLimit("ada", { mode: "wait", maxWait: "2 seconds" }))
  yield* Console.log(`ada, waiting for her turn: ${waited}`)

  // The decision itself, for response headers.
  const decision = yield* limiter.allowRequest("grace")
  yield* Console.log(`grace's next request: ${JSON.stringify(RateLimiter.headers(decision))}`)

  const stats = yield* limiter.stats
  // The waiting request was turned down once before its turn came: 3 rejections in all.
  yield* Console.log(`decisions: ${stats.allowed} allowed, ${stats.rejected} rejected`)
  return { ada, grace, waited, headers: RateLimiter.headers(decision), stats }
}).pipe(Effect.scoped)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Effect.runPromise(main)
}
