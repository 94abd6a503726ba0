/**
 * Request-response with the Promise API: handlers registered by type on one object,
 * requests sent to them in the same process.
 *
 * Run: node --conditions=source --import tsx examples/src/request-response-promise.ts
 */
import { RequestError, RequestResponsePattern, TimeoutError } from "@integration-patterns/core/promise"
import { pathToFileURL } from "node:url"

export const main = async (): Promise<void> => {
  const rr = new RequestResponsePattern({ name: "data-service", concurrency: 2, queueSize: 20 })

  rr.registerHandler("data-request", async (request) => {
    return { query: request.payload.query, rows: [{ id: 1, name: "Ada" }] }
  })

  const response = await rr.sendRequest({
    id: "req-1",
    type: "data-request",
    payload: { query: "SELECT * FROM users" },
    metadata: { timeout: 5000, priority: "high" }
  })
  console.log(`${response.status}: ${JSON.stringify(response.payload)} in ${response.metadata.duration} ms`)

  // No handler for a type: RequestError at once.
  try {
    await rr.sendRequest({ id: "req-2", type: "unknown", payload: {} })
  } catch (error) {
    if (error instanceof RequestError) console.log(`${error.name} (${error.reason}): ${error.detail}`)
  }

  // A slow handler: the caller gets TimeoutError, and the handler's signal aborts.
  rr.registerHandler("slow-report", (_request, { signal }) =>
    new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve("report"), 1000)
      signal.addEventListener("abort", () => {
        clearTimeout(timer)
        resolve("abandoned")
      })
    }))
  try {
    await rr.sendRequest({ id: "req-3", type: "slow-report", payload: null, metadata: { timeout: 50 } })
  } catch (error) {
    if (error instanceof TimeoutError) console.log(`${error.name}: ${error.message}`)
  }

  console.log(rr.getStats())
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
