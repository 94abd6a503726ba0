import { PatternEvents } from "@integration-patterns/core"
import type { AuditEntry } from "../AuditLog.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Queue from "effect/Queue"

// Breaker transitions an operator causes. The toolkit's breaker names the operation
// (`Isolated`, `Reset`, ...); other code may say "operator" or "manual".
const operatorReasons: ReadonlySet<string> = new Set([
  "operator",
  "manual",
  "Isolated",
  "Reset",
  "Disabled",
  "MetricsOnly"
])

type Fields = Readonly<Record<string, unknown>>

const copy = (from: Fields, fields: ReadonlyArray<string>, into: Record<string, string | number>): void => {
  for (const field of fields) {
    const value = from[field]
    if (typeof value === "string" || typeof value === "number") into[field] = value
  }
}

/**
 * The audit entry for an event, or undefined when the event is not security-relevant.
 * Events are matched on their `_tag` and fields, defensively, so that the log keeps
 * working whatever else a pattern's events carry.
 *
 * @internal
 */
export const entryOf = (event: PatternEvents.PatternEventBase): AuditEntry | undefined => {
  const fields = event as unknown as Fields
  const annotations: Record<string, string | number> = {
    pattern: event.pattern,
    name: event.name,
    eventTimestamp: event.timestamp
  }
  if (event._tag === "RateLimitRejected") {
    annotations.audit = "rate_limit_rejected"
    copy(fields, ["key", "limit", "retryAfter", "cost", "scope"], annotations)
    return {
      level: LogLevel.Info,
      message: `rate limit "${event.name}" rejected key ${JSON.stringify(String(fields.key ?? ""))}`,
      annotations
    }
  }
  if (event._tag === "StateChanged") {
    const operator = (typeof fields.reason === "string" && operatorReasons.has(fields.reason)) ||
      fields.manual === true || typeof fields.operator === "string"
    if (!operator) return undefined
    annotations.audit = "breaker_forced"
    copy(fields, ["from", "to", "reason", "operator", "key"], annotations)
    return {
      level: LogLevel.Warning,
      message: `circuit breaker "${event.name}" forced ${String(fields.to)} by an operator (was ${String(fields.from)})`,
      annotations
    }
  }
  return undefined
}

const write = (entry: AuditEntry): Effect.Effect<void> =>
  Effect.logWithLevel(entry.level, entry.message).pipe(Effect.annotateLogs(entry.annotations))

/** @internal */
export const layer: Layer.Layer<never> = Layer.scopedDiscard(Effect.gen(function*() {
  const bus = yield* PatternEvents.PatternEvents
  // Subscribed before the Layer is built, so no event published afterwards is missed.
  const queue = yield* bus.subscribe
  yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(queue), (event) => {
    const entry = entryOf(event)
    return entry === undefined ? Effect.void : write(entry)
  })))
}))
