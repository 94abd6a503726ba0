import * as PatternEvents from "@integration-patterns/core/PatternEvents"
import { measure, type Suite } from "../harness.js"

// Publishing an event while nobody listens must cost next to nothing: patterns check
// `active` before they build an event.
const suites: ReadonlyArray<Suite> = [
  {
    name: "events.publish.idle",
    run: (ctx) => {
      const bus = PatternEvents.unsafeMake()
      let sink = 0
      return measure("events.publish.idle", [
        { impl: "baseline.sync", kind: "sync", fn: () => sink++ },
        {
          impl: "integration-patterns",
          kind: "sync",
          fn: () => {
            sink++
            if (bus.active) {
              bus.unsafePublish({ _tag: "Never", pattern: "Retry", name: "bench", timestamp: sink } as never)
            }
          }
        }
      ], ctx)
    }
  }
]

export default suites
