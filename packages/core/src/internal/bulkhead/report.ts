import type * as Bulkhead from "../../Bulkhead.js"
import { BulkheadRejectedError } from "../../Errors.js"
import type { PatternHealth } from "../registry.js"
import { healthy } from "../registry.js"
import type { BulkheadCore, Compartment } from "./core.js"
import type { Resolved } from "./options.js"

/** @internal */
export const stats = (options: Resolved, core: BulkheadCore<unknown>, saturated: boolean): Bulkhead.Stats => ({
  name: options.name,
  maxConcurrent: options.maxConcurrent,
  queueSize: options.queueSize,
  timeout: options.timeoutMillis,
  active: core.active,
  queued: core.queued,
  peakConcurrency: core.peak,
  admitted: core.admitted,
  rejected: { QueueFull: core.rejectedQueueFull, QueueTimeout: core.rejectedQueueTimeout },
  saturated
})

/** @internal */
export const saturatedKeys = (core: BulkheadCore<unknown>): number => {
  let n = 0
  for (const c of core.compartments()) if (core.isSaturated(c)) n++
  return n
}

/** @internal */
export const keyedStats = (options: Resolved, core: BulkheadCore<unknown>): Bulkhead.KeyedStats => {
  const saturated = saturatedKeys(core)
  return { ...stats(options, core, saturated > 0), keys: core.keys, saturatedKeys: saturated }
}

/** @internal */
export const keyStats = (core: BulkheadCore<unknown>, key: string): Bulkhead.KeyStats | undefined => {
  const c = core.peekCompartment(key)
  return c === undefined
    ? undefined
    : { key, active: c.active, queued: c.queued, saturated: core.isSaturated(c) }
}

const busy = (options: Resolved, queued: number): string =>
  options.queueSize === 0
    ? `all ${options.maxConcurrent} slots are busy and there is no queue`
    : `all ${options.maxConcurrent} slots are busy and ${queued} call(s) wait`

/** A saturated bulkhead is degraded: it still works, but new calls wait or are turned away. @internal */
export const health = (options: Resolved, core: BulkheadCore<unknown>, single: Compartment<unknown>): PatternHealth =>
  core.isSaturated(single) ? { status: "degraded", reasons: [busy(options, single.queued)] } : healthy

/** @internal */
export const keyedHealth = (options: Resolved, core: BulkheadCore<unknown>): PatternHealth => {
  const saturated = saturatedKeys(core)
  return saturated === 0 ? healthy : {
    status: "degraded",
    reasons: [
      `${saturated} of ${core.keys} key(s) have all ${options.maxConcurrent} slots busy and ${
        options.queueSize === 0 ? "no queue" : "calls waiting"
      }`
    ]
  }
}

/** Rejections carry only per-instance fields, so each instance builds each error once and reuses it. @internal */
export const rejection = (options: Resolved, reason: "QueueFull" | "QueueTimeout"): BulkheadRejectedError =>
  new BulkheadRejectedError({
    bulkhead: options.name,
    reason,
    maxConcurrent: options.maxConcurrent,
    queueSize: options.queueSize
  })

/** @internal */
export const queuedEvent = (
  name: string,
  key: string | undefined,
  queued: number,
  timestamp: number
): Bulkhead.BulkheadCallQueued => ({
  _tag: "BulkheadCallQueued",
  pattern: "Bulkhead",
  name,
  timestamp,
  ...(key === undefined ? {} : { key }),
  queued
})

/** @internal */
export const rejectedEvent = (
  name: string,
  key: string | undefined,
  reason: "QueueFull" | "QueueTimeout",
  waited: number,
  timestamp: number
): Bulkhead.BulkheadRejected => ({
  _tag: "BulkheadRejected",
  pattern: "Bulkhead",
  name,
  timestamp,
  ...(key === undefined ? {} : { key }),
  reason,
  waited
})

/** Metric reasons, snake_case like the other patterns' reasons. @internal */
export const metricReason = { QueueFull: "queue_full", QueueTimeout: "queue_timeout" } as const
