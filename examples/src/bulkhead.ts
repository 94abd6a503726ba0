// A bulkhead with the Effect API: twenty callers hit an inventory service through 5 slots
// and a queue of 10: 5 run, 10 wait their turn and 5 are turned away at once.
// Run: node --conditions=source --import tsx examples/src/bulkhead.ts
import { Bulkhead } from "@integration-patterns/core"
import { Console, Effect } from "effect"
import { pathToFileURL } from "node:url"

const callInventory = (i: number) => Effect.as(Effect.sleep("50 millis"), `item ${i}`)

export const main = Effect.gen(function*() {
  // One bulkhead per dependency, shared by every call to it.
  const bulkhead = yield* Bulkhead.make({ name: "inventory", maxConcurrent: 5, queueSize: 10, timeout: "5 seconds" })

  const results = yield* Effect.forEach(
    Array.from({ length: 20 }, (_, i) => i),
    (i) =>
      callInventory(i).pipe(
        Bulkhead.withBulkhead(bulkhead),
        Effect.catchTag("BulkheadRejectedError", (e) => Effect.succeed(`rejected (${e.reason})`))
      ),
    { concurrency: "unbounded" }
  )

  const stats = yield* bulkhead.stats
  const rejected = results.filter((result) => result.startsWith("rejected")).length
  yield* Console.log(`${20 - rejected} served, ${rejected} rejected at once, at most ${stats.peakConcurrency} at a time`)
  return { results, stats }
}).pipe(Effect.scoped)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Effect.runPromise(main)
}
