/**
 * The breaker and bulkhead suites again, with the pushed frames of `internal/frames.ts`
 * switched off: the public-API path that another effect version would take must keep
 * every behaviour, interruption safety included. Each test file runs in its own module
 * graph, so the switch affects this file only.
 */
import * as Frames from "../src/internal/frames.js"

Frames.setFast(false)
if (Frames.fast()) throw new Error("the public-API path could not be selected")

await import("./Bulkhead.test.js")
await import("./CircuitBreaker.test.js")
