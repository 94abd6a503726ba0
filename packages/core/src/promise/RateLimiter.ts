/**
 * The rate limiter for Promise code. It decides with the same core as the Effect
 * `RateLimiter` (in memory, in this process), reads time from `Date.now()`, and rejects
 * with the same `RateLimitExceededError`.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { RateLimitExceededError } from "../Errors.js"
import { processSettings } from "../IntegrationPatterns.js"
import { PatternMetrics, rateLimiterDecisions, rateLimiterTokens } from "../Metrics.js"
import * as PatternEvents from "../PatternEvents.js"
import type { Algorithm, Decision, KeyStats, Stats } from "../RateLimiter.js"
import { LimiterCore, isValidCost, Tally } from "../internal/rateLimiter/core.js"
import * as headers_ from "../internal/rateLimiter/headers.js"
import { callDefaults, decodeSync, defaults, type Resolved } from "../internal/rateLimiter/options.js"
import { rateLimitExceeded } from "../internal/rateLimiter/rejection.js"
import { globalRegistry, type PatternHealth } from "../internal/registry.js"
import { readSetting } from "../internal/settingDefault.js"

/**
 * @since 0.1.0
 * @category Models
 */
export type RateLimitDecision = Decision

/**
 * @since 0.1.0
 * @category Models
 */
export type RateLimiterKeyStats = KeyStats

/**
 * @since 0.1.0
 * @category Models
 */
export type RateLimiterStats = Stats

interface CommonOptions {
  /** Tags metrics, events and errors. Defaults to `"rate-limiter"`. */
  readonly name?: string
  /** The most keys tracked at once (least recently used evicted first). Defaults to 100,000. */
  readonly maxKeys?: number
  /** Defaults to the global setting (`IntegrationPatterns.configure`). */
  readonly enableMetrics?: boolean
}

/**
 * Options of a token-bucket limiter. See the Effect `RateLimiter.TokenBucketOptions`.
 *
 * @since 0.1.0
 * @category Options
 */
export interface RateLimiterTokenBucketOptions extends CommonOptions {
  /** Defaults to `'token-bucket'`. */
  readonly algorithm?: "token-bucket"
  readonly requestsPerSecond: number
  /** Defaults to one second of traffic (`requestsPerSecond`, rounded up). */
  readonly burstLimit?: number
  readonly global?: { readonly requestsPerSecond: number; readonly burstLimit?: number }
}

/**
 * Options of a window limiter: `limit` requests per `window` milliseconds.
 *
 * @since 0.1.0
 * @category Options
 */
export interface RateLimiterWindowOptions extends CommonOptions {
  readonly algorithm: "sliding-window" | "fixed-window"
  readonly limit: number
  /** Milliseconds. */
  readonly window: number
  /** `window` defaults to the per-key window. */
  readonly global?: { readonly limit: number; readonly window?: number }
}

/**
 * @since 0.1.0
 * @category Options
 */
export type RateLimiterOptions = RateLimiterTokenBucketOptions | RateLimiterWindowOptions

/**
 * Options of `RateLimiter.execute`.
 *
 * @since 0.1.0
 * @category Options
 */
export interface RateLimiterExecuteOptions {
  /** Defaults to 1. */
  readonly cost?: number
  /** `'reject'` (the default) rejects at once; `'wait'` waits up to `maxWait`, first come first served. */
  readonly mode?: "reject" | "wait"
  /** Milliseconds. Defaults to the global `defaultTimeout` (30 seconds). */
  readonly maxWait?: number
}

interface Waiter {
  readonly key: string
  readonly cost: number
  readonly deadline: number
  readonly resolve: () => void
  readonly reject: (error: RateLimitExceededError) => void
  timer: ReturnType<typeof setTimeout> | undefined
}

const checkCost = (cost: number): void => {
  if (!isValidCost(cost)) throw new RangeError(`RateLimiter: cost must be a finite number of 0 or more, got ${cost}`)
}

/**
 * A rate limiter with a budget per key and an optional global budget, consumed both
 * or neither.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "@integration-patterns/core/promise"
 *
 * const rateLimiter = new RateLimiter({ requestsPerSecond: 10, burstLimit: 20, algorithm: "token-bucket" })
 * if (await rateLimiter.allowRequest("user-123")) {
 *   // handle the request
 * }
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export class RateLimiter {
  readonly name: string
  readonly algorithm: Algorithm
  /** The per-key limit (a bucket's burst, a window's limit). */
  readonly limit: number
  private readonly resolved: Resolved
  private readonly core: LimiterCore
  private readonly tally = new Tally()
  private readonly metrics: PatternMetrics
  private readonly bus: PatternEvents.PatternEventsService
  private readonly queues = new Map<string, Array<Waiter>>()
  private waiting = 0

  /** @throws InvalidConfigError when an option is bad, listing every problem. */
  constructor(options: RateLimiterOptions) {
    this.resolved = decodeSync(options)
    this.name = this.resolved.name
    this.algorithm = this.resolved.algorithm.algorithm
    this.limit = this.resolved.algorithm.algorithm === "token-bucket"
      ? this.resolved.algorithm.burstLimit
      : this.resolved.algorithm.limit
    this.core = new LimiterCore(this.resolved.algorithm, this.resolved.global, this.resolved.maxKeys)
    const settings = processSettings.current
    const enableMetrics = this.resolved.enableMetrics ?? readSetting(defaults.enableMetrics, settings)
    this.metrics = new PatternMetrics("RateLimiter", this.name, enableMetrics)
    this.bus = Effect.runSync(PatternEvents.PatternEvents)
    if (settings.enableHealthChecks) {
      globalRegistry.registerWeak(this, "RateLimiter", this.name, {
        stats: (limiter) => ({ ...limiter.getStats() }),
        health: (limiter) => limiter.health()
      })
    }
  }

  /** Decides one request of `cost` units (default 1): true when admitted (and consumed). */
  allowRequest(key: string, cost: number = callDefaults.cost): Promise<boolean> {
    checkCost(cost)
    return Promise.resolve(this.decide(key, cost, Date.now()).allowed)
  }

  /** Decides one request and returns the whole decision (for response headers, see {@link rateLimitHeaders}). */
  check(key: string, cost: number = callDefaults.cost): Promise<Decision> {
    checkCost(cost)
    return Promise.resolve(this.decide(key, cost, Date.now()))
  }

  /**
   * Runs `fn` when the key's budget admits it; otherwise rejects with
   * `RateLimitExceededError` (at once, or after waiting up to `maxWait` in `'wait'` mode).
   */
  async execute<A>(key: string, fn: () => PromiseLike<A> | A, options: RateLimiterExecuteOptions = {}): Promise<A> {
    const cost = options.cost ?? callDefaults.cost
    checkCost(cost)
    if ((options.mode ?? callDefaults.mode) === "wait") {
      await this.waitForTurn(
        key,
        cost,
        options.maxWait ?? Duration.toMillis(readSetting(callDefaults.maxWait, processSettings.current))
      )
    } else {
      const now = Date.now()
      const decision = this.decide(key, cost, now)
      if (!decision.allowed) throw this.reject(key, cost, decision, now, "reject")
    }
    return fn()
  }

  getStats(): Stats {
    const now = Date.now()
    return {
      name: this.name,
      algorithm: this.algorithm,
      limit: this.limit,
      allowed: this.tally.allowed,
      rejected: this.tally.rejected,
      rejectedByKey: this.tally.rejectedByKey,
      rejectedByGlobal: this.tally.rejectedByGlobal,
      currentRate: this.tally.rate(now),
      waiting: this.waiting,
      trackedKeys: this.core.table.size,
      maxKeys: this.resolved.maxKeys,
      evictedKeys: this.core.table.evicted,
      expiredKeys: this.core.table.expired,
      global: this.core.global(now)
    }
  }

  getKeyStats(key: string): KeyStats {
    return this.core.keyStats(key, Date.now())
  }

  private health(): PatternHealth {
    const stats = this.getStats()
    const reasons: Array<string> = []
    if (stats.trackedKeys >= stats.maxKeys) {
      reasons.push(`tracking ${stats.trackedKeys} keys, the most allowed: least recently used keys are evicted`)
    }
    if (stats.global !== undefined && stats.global.remaining === 0) reasons.push("the global budget is spent")
    return { status: reasons.length === 0 ? "healthy" : "degraded", reasons }
  }

  private decide(key: string, cost: number, now: number): Decision {
    const decision = this.core.consume(key, cost, now)
    this.tally.record(decision, cost, now)
    this.metrics.count(rateLimiterDecisions, decision.allowed ? "allowed" : "rejected")
    if (decision.allowed && this.core.globalRemaining !== undefined) {
      this.metrics.set(rateLimiterTokens, this.core.globalRemaining)
    }
    return decision
  }

  private reject(
    key: string,
    cost: number,
    decision: Decision,
    now: number,
    mode: "reject" | "wait"
  ): RateLimitExceededError {
    this.metrics.reject("rate_limited")
    if (this.bus.active) {
      this.bus.unsafePublish({
        _tag: "RateLimitRejected",
        pattern: "RateLimiter",
        name: this.name,
        timestamp: now,
        key,
        cost,
        limit: decision.limit,
        retryAfter: decision.retryAfter,
        scope: decision.scope,
        mode
      })
    }
    return rateLimitExceeded(this.name, key, decision.retryAfter, decision.limit)
  }

  // Callers of one key wait first come, first served; only the head polls the budget,
  // on a timer set to the decision's `retryAfter`. The others wait for their turn or
  // their deadline, whichever comes first.
  private waitForTurn(key: string, cost: number, maxWait: number): Promise<void> {
    const now = Date.now()
    let firstWait = 0
    if (!this.queues.has(key)) {
      const decision = this.decide(key, cost, now)
      if (decision.allowed) return Promise.resolve()
      if (decision.retryAfter > maxWait) return Promise.reject(this.reject(key, cost, decision, now, "wait"))
      firstWait = decision.retryAfter
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { key, cost, deadline: now + maxWait, resolve, reject, timer: undefined }
      let queue = this.queues.get(key)
      if (queue === undefined) {
        queue = []
        this.queues.set(key, queue)
      }
      queue.push(waiter)
      this.waiting++
      if (queue.length === 1) {
        waiter.timer = setTimeout(() => this.poll(waiter), firstWait)
      } else {
        waiter.timer = setTimeout(() => {
          const at = Date.now()
          this.leave(waiter)
          waiter.reject(this.reject(key, cost, { ...this.core.peek(key, cost, at), allowed: false }, at, "wait"))
        }, Math.max(0, waiter.deadline - now))
      }
    })
  }

  private poll(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer)
    waiter.timer = undefined
    const now = Date.now()
    const decision = this.decide(waiter.key, waiter.cost, now)
    if (decision.allowed) {
      this.leave(waiter)
      waiter.resolve()
    } else if (now + decision.retryAfter > waiter.deadline) {
      this.leave(waiter)
      waiter.reject(this.reject(waiter.key, waiter.cost, decision, now, "wait"))
    } else {
      waiter.timer = setTimeout(() => this.poll(waiter), decision.retryAfter)
    }
  }

  private leave(waiter: Waiter): void {
    this.waiting--
    const queue = this.queues.get(waiter.key)!
    const at = queue.indexOf(waiter)
    queue.splice(at, 1)
    if (queue.length === 0) {
      this.queues.delete(waiter.key)
    } else if (at === 0) {
      const next = queue[0]!
      queueMicrotask(() => {
        if (this.queues.get(next.key)?.[0] === next) this.poll(next)
      })
    }
  }
}

/**
 * The standard response headers for a decision: `RateLimit-Limit`,
 * `RateLimit-Remaining`, `RateLimit-Reset` (seconds) and, when rejected, `Retry-After`
 * (seconds).
 *
 * @since 0.1.0
 * @category Utils
 */
export const rateLimitHeaders: (decision: Decision) => Record<string, string> = headers_.headers
