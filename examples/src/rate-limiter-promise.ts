// A per-user rate limiter with the Promise API: each user gets a bucket of 3 requests,
// refilled at 10 a second. Run: node --conditions=source --import tsx examples/src/rate-limiter-promise.ts
import { RateLimiter, RateLimitExceededError, rateLimitHeaders } from "@integration-patterns/core/promise"
import { pathToFileURL } from "node:url"

// One limiter for the API (a module-level instance), one budget per key.
const limiter = new RateLimiter({ name: "search-api", requestsPerSecond: 10, burstLimit: 3 })

const search = async (query: string) => `results for "${query}"`

export const main = async () => {
  // allowRequest: a yes or no, consuming the budget when yes.
  const admitted: Array<boolean> = []
  for (let i = 0; i < 5; i++) admitted.push(await limiter.allowRequest("ada"))
  console.log(`ada, 5 requests at once: ${admitted.map((ok) => (ok ? "ok" : "429")).join(" ")}`)

  // execute: runs the function only when admitted, else rejects with RateLimitExceededError.
  const rejected = await limiter.execute("ada", () => search("x")).catch((e: unknown) => e)
  if (rejected instanceof RateLimitExceededError) console.log(`ada again: ${rejected.message}`)
  console.log(`grace: ${await limiter.execute("grace", () => search("y"))}`)

  // The whole decision, for response headers.
  const headers = rateLimitHeaders(await limiter.check("grace"))
  console.log(`grace's next request: ${JSON.stringify(headers)}`)

  // Waiting for the next token instead (100 ms here).
  const waited = await limiter.execute("ada", () => search("z"), { mode: "wait", maxWait: 1000 })
  console.log(`ada, waiting for her turn: ${waited}`)

  return { admitted, rejected, waited, headers, stats: limiter.getStats() }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main()
}
