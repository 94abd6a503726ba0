// A bulkhead with the Promise API: twenty callers hit an inventory service through 5 slots
// and a queue of 10: 5 run, 10 wait their turn and 5 are turned away at once.
// Run: node --conditions=source --import tsx examples/src/bulkhead-promise.ts
import { Bulkhead, BulkheadRejectedError } from "@integration-patterns/core/promise"
import { setTimeout as sleep } from "node:timers/promises"
import { pathToFileURL } from "node:url"

const callInventory = async (i: number): Promise<string> => {
  await sleep(50)
  return `item ${i}`
}

export const main = async () => {
  // One bulkhead per dependency, shared by every call to it.
  const bulkhead = new Bulkhead({ name: "inventory", maxConcurrent: 5, queueSize: 10, timeout: 5000 })

  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      bulkhead.execute(() => callInventory(i)).catch((error: unknown) => {
        if (error instanceof BulkheadRejectedError) return `rejected (${error.reason})`
        throw error
      }))
  )

  const stats = bulkhead.getStats()
  const rejected = results.filter((result) => result.startsWith("rejected")).length
  console.log(`${20 - rejected} served, ${rejected} rejected at once, at most ${stats.peakConcurrency} at a time`)
  return { results, stats }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main()
}
