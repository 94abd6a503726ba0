/**
 * A request-response dispatcher's counters and statistics, the same in both shells.
 *
 * @internal
 */
import type { PatternMetrics } from "../../Metrics.js"
import type { PatternEventsService } from "../../PatternEvents.js"
import type * as RR from "../../RequestResponse.js"
import * as Dedup from "./dedup.js"

/** The counters both dispatchers keep. @internal */
export class DispatchCounters {
  served = 0
  duplicates = 0
  rejected = 0
  timedOut = 0
  sent = 0
  succeeded = 0
  failed = 0
}

/**
 * A dispatcher's `Stats`, the same in both shells.
 *
 * @internal
 */
export const dispatcherStats = <P, D>(
  handlers: ReadonlyMap<string, unknown>,
  admission: { readonly concurrency: number; readonly capacity: number; readonly running: number; readonly queued: number },
  counters: DispatchCounters,
  dedup: Dedup.Dedup<P, D>
): RR.Stats => ({
  handlers: [...handlers.keys()],
  concurrency: admission.concurrency,
  queueSize: admission.capacity,
  running: admission.running,
  queued: admission.queued,
  served: counters.served,
  duplicates: counters.duplicates,
  rejected: counters.rejected,
  timedOut: counters.timedOut,
  sent: counters.sent,
  succeeded: counters.succeeded,
  failed: counters.failed,
  remembered: Dedup.size(dedup)
})

/**
 * Counts a request turned away before its handler ran, and publishes the event when
 * someone listens.
 *
 * @internal
 */
export const recordRejection = (
  counters: DispatchCounters,
  metrics: PatternMetrics,
  bus: PatternEventsService,
  name: string,
  request: { readonly id: string; readonly type: string },
  reason: "NoHandler" | "InvalidRequest" | "QueueFull",
  at: number
): void => {
  counters.rejected++
  metrics.reject(reason === "NoHandler" ? "no_handler" : reason === "QueueFull" ? "queue_full" : "invalid_request")
  if (bus.active) {
    bus.unsafePublish({
      _tag: "RequestRejected",
      pattern: "RequestResponse",
      name,
      timestamp: at,
      requestId: request.id,
      type: request.type,
      reason
    })
  }
}
