// Run with: node --conditions=source --import tsx examples/src/bulkhead.ts
// Twenty callers hit a bulkhead of 5 slots and a queue of 10: 5 run, 10 wait their
// turn and 5 are turned away at once, first with the Effect API, then with the Promise API.
import { Bulkhead } from "@integration-patterns/core"
import * as Facade from "@integration-patterns/core/promise"
import { Effect } from "effect"

const callInventory = (i: number) => Effect.as(Effect.sleep("50 millis"), `item ${i}`)

const withEffect = Effect.gen(function*() {
  const bulkhead = yield* Bulkhead.make({ name: "inventory", maxConcurrent: 5, queueSize: 10, timeout: "5 seconds" })
  const results = yield* Effect.forEach(
    Array.from({ length: 20 }, (_, i) => i),
    (i) => callInventory(i).pipe(Bulkhead.withBulkhead(bulkhead), Effect.either),
    { concurrency: "unbounded" }
  )
  const rejected = results.filter((result) => result._tag === "Left").length
  const stats = yield* bulkhead.stats
  yield* Effect.log(`Effect API: ${20 - rejected} served, ${rejected} rejected, peak ${stats.peakConcurrency}`)
}).pipe(Effect.scoped)

const withPromises = async (): Promise<void> => {
  const bulkhead = new Facade.Bulkhead({ name: "inventory", maxConcurrent: 5, queueSize: 10, timeout: 5000 })
  const settled = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) =>
      bulkhead.execute(() => new Promise<string>((resolve) => setTimeout(() => resolve(`item ${i}`), 50))))
  )
  const rejected = settled.filter((result) => result.status === "rejected").length
  console.log(`Promise API: ${20 - rejected} served, ${rejected} rejected, peak ${bulkhead.getStats().peakConcurrency}`)
}

await Effect.runPromise(withEffect)
await withPromises()
