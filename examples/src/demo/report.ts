/**
 * The demo's summary, read from the patterns' own stats, and its tables.
 */
import type { CacheAside } from "@integration-patterns/cache"
import type { RateLimiter } from "@integration-patterns/core"
import type { Saga } from "@integration-patterns/saga"
import type { DependencyStats } from "./shop.js"

export interface ServiceSummary extends DependencyStats {
  readonly name: string
  /** Times the service's breaker opened. */
  readonly trips: number
  /** Times it closed again after a probe. */
  readonly recoveries: number
}

export interface Summary {
  readonly services: ReadonlyArray<ServiceSummary>
  readonly rateLimiter: RateLimiter.Stats
  readonly cache: CacheAside.CacheStats
  readonly saga: Saga.Stats
  /** Compensation steps that ran. */
  readonly compensations: number
  /** Sagas in the SQLite log, by final status. */
  readonly stored: { readonly completed: number; readonly compensated: number }
  readonly totals: {
    readonly requests: number
    readonly timeouts: number
    readonly retries: number
    readonly breakerTrips: number
    readonly breakerRecoveries: number
    readonly breakerRejections: number
    readonly bulkheadRejections: number
    readonly rateLimitRejections: number
    readonly cacheHits: number
  }
}

export const summarize = (input: Omit<Summary, "totals">): Summary => {
  const sum = (f: (s: ServiceSummary) => number) => input.services.reduce((total, s) => total + f(s), 0)
  return {
    ...input,
    totals: {
      requests: sum((s) => s.requests.sent),
      timeouts: sum((s) => s.timeout.timeouts),
      retries: sum((s) => s.retry.retries),
      breakerTrips: sum((s) => s.trips),
      breakerRecoveries: sum((s) => s.recoveries),
      breakerRejections: sum((s) => s.breaker.rejections),
      bulkheadRejections: sum((s) => s.bulkhead.rejected.QueueFull + s.bulkhead.rejected.QueueTimeout),
      rateLimitRejections: input.rateLimiter.rejected,
      cacheHits: input.cache.hits
    }
  }
}

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>): string => {
  const cells = [header, ...rows.map((row) => row.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)))
  const line = (row: ReadonlyArray<string>) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd()
  return [line(cells[0]!), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)].join("\n")
}

const none = "."

/** What each pattern did, one row per pattern. */
export const patternTable = (summary: Summary): string => {
  const { cache, rateLimiter, saga, services, totals } = summary
  const sum = (f: (s: ServiceSummary) => number) => services.reduce((total, s) => total + f(s), 0)
  return table(
    ["pattern", "calls", "retries", "timeouts", "trips", "rejected", "hits", "compensations"],
    [
      ["request-response (4 HTTP clients)", totals.requests, none, none, none, none, none, none],
      ["timeout (1 s an attempt)", sum((s) => s.timeout.calls), none, totals.timeouts, none, none, none, none],
      ["retry (3 attempts, full jitter)", sum((s) => s.retry.calls), totals.retries, none, none, none, none, none],
      [
        "circuit breaker (5 failures, 1 s open)",
        sum((s) => s.breaker.calls + s.breaker.rejections),
        none,
        none,
        totals.breakerTrips,
        totals.breakerRejections,
        none,
        none
      ],
      [
        "bulkhead (per service)",
        sum((s) => s.bulkhead.admitted) + totals.bulkheadRejections,
        none,
        none,
        none,
        totals.bulkheadRejections,
        none,
        none
      ],
      ["rate limiter (per user)", rateLimiter.allowed + rateLimiter.rejected, none, none, none, rateLimiter.rejected, none, none],
      ["cache-aside (products)", cache.hits + cache.misses, none, none, none, none, cache.hits, none],
      ["saga (orders, SQLite)", saga.started, none, none, none, none, none, summary.compensations]
    ]
  )
}

/** The same calls, one row per service. */
export const serviceTable = (summary: Summary): string =>
  table(
    ["service", "requests", "ok", "failed", "timeouts", "retries", "gave up", "trips", "breaker", "fast-failed", "peak", "shed"],
    summary.services.map((s) => [
      s.name,
      s.requests.sent,
      s.requests.succeeded,
      s.requests.failed,
      s.timeout.timeouts,
      s.retry.retries,
      s.retry.exhausted,
      s.trips,
      s.breaker.state,
      s.breaker.rejections,
      s.bulkhead.peakConcurrency,
      s.bulkhead.rejected.QueueFull + s.bulkhead.rejected.QueueTimeout
    ])
  )
