/**
 * The rate limiter for Promise code. It decides with the same core as the Effect
 * `RateLimiter`, reads time from `Date.now()`, and rejects with the same
 * `RateLimitExceededError`. Budgets are kept in this process, or with `store: 'redis'`
 * in Redis, shared by every process (the same scripts as the Effect API's
 * `RedisRateLimiterStore`; ioredis is loaded only then).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type ConfigIssue, InvalidConfigError, type RateLimitExceededError } from "../Errors.js"
import { processSettings } from "../IntegrationPatterns.js"
import { PatternMetrics } from "../Metrics.js"
import * as PatternEvents from "../PatternEvents.js"
import type { Algorithm, Decision, KeyStats, Stats, StorageSnapshot, UnavailablePolicy } from "../RateLimiter.js"
import { isValidCost, LimiterCore, limiterHealth, limiterStats, Tally } from "../internal/rateLimiter/core.js"
import * as headers_ from "../internal/rateLimiter/headers.js"
import { callDefaults, decodeSync, defaults, type Resolved } from "../internal/rateLimiter/options.js"
import type { RedisBudgets, RedisConnection, RedisSettings } from "../internal/rateLimiter/redis.js"
import * as redisOptions from "../internal/rateLimiter/redisOptions.js"
import { recordDecision, rejection } from "../internal/rateLimiter/report.js"
import { globalRegistry, type PatternHealth } from "../internal/registry.js"
import { readSetting } from "../internal/settingDefault.js"
import * as V from "../internal/validation.js"

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
  /** Tags metrics, events and errors, and namespaces the keys in Redis. Defaults to `"rate-limiter"`. */
  readonly name?: string
  /** The most keys tracked at once (least recently used evicted first). Defaults to 100,000. */
  readonly maxKeys?: number
  /** Defaults to the global setting (`IntegrationPatterns.configure`). */
  readonly enableMetrics?: boolean
  /**
   * Where budgets are kept: `'memory'` (the default), this process only; or `'redis'`,
   * shared by every process using the same Redis, name and `keyPrefix`. Call `close()`
   * when done with a Redis-backed limiter.
   */
  readonly store?: "memory" | "redis"
  /** The Redis URL for `store: 'redis'`. Defaults to the `REDIS_URL` environment variable. */
  readonly redisUrl?: string
  /** Prepended to every Redis key; no braces. Defaults to `"ratelimit:"`. */
  readonly keyPrefix?: string
  /**
   * What decides while Redis cannot be reached: `'fail-open'` admits, `'fail-closed'`
   * (the default) rejects with `PersistenceError`, `'insurance'` decides in this process
   * with `1 / insuranceNodes` of each limit.
   */
  readonly onStoreUnavailable?: UnavailablePolicy
  /** How many processes share the limits, for `'insurance'`. Defaults to 1. */
  readonly insuranceNodes?: number
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
  readonly reject: (error: unknown) => void
  timer: ReturnType<typeof setTimeout> | undefined
}

const checkCost = (cost: number): void => {
  if (!isValidCost(cost)) throw new RangeError(`RateLimiter: cost must be a finite number of 0 or more, got ${cost}`)
}

const StoreOptions = Schema.Struct({ store: Schema.optional(Schema.Literal("memory", "redis")) })

// The facade's names for the Redis store's options.
const redisKeys = {
  redisUrl: "url",
  keyPrefix: "prefix",
  onStoreUnavailable: "onUnavailable",
  insuranceNodes: "insuranceNodes"
} as const
const facadeKey: Record<string, string> = Object.fromEntries(Object.entries(redisKeys).map(([k, v]) => [v, k]))

const issuesOf = <A>(result: Either.Either<A, InvalidConfigError>): ReadonlyArray<ConfigIssue> =>
  Either.isLeft(result) ? result.left.issues : []

// Decodes the limiter's options and the store's together, so that one error lists
// every problem of both.
const decodeAll = (
  options: RateLimiterOptions
): { readonly resolved: Resolved; readonly redis: RedisState | undefined } => {
  const limiter: Record<string, unknown> = {}
  const store: Record<string, unknown> = {}
  const redis: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (key === "store") store[key] = value
    else if (key in redisKeys) redis[redisKeys[key as keyof typeof redisKeys]] = value
    else limiter[key] = value
  }
  const resolved = Either.try({
    try: () => decodeSync(limiter),
    catch: (error) => {
      if (error instanceof InvalidConfigError) return error
      throw error
    }
  })
  const issues: Array<ConfigIssue> = [
    ...issuesOf(resolved),
    ...issuesOf(V.decodeOptionsEither("RateLimiter", StoreOptions, store))
  ]
  let settings: RedisSettings | undefined
  if ((store.store ?? RateLimiter.storeDefaults.store) === "redis") {
    redis.url ??= process.env.REDIS_URL
    if (redis.url === undefined) {
      issues.push({ path: "redisUrl", message: "is required for store 'redis' when REDIS_URL is not set" })
    }
    const decoded = redisOptions.decodeEither(redis)
    if (Either.isRight(decoded)) settings = decoded.right
    for (const issue of issuesOf(decoded)) issues.push({ ...issue, path: facadeKey[issue.path] ?? issue.path })
  } else {
    for (const key of Object.keys(redis)) {
      issues.push({ path: facadeKey[key]!, message: "applies only with store 'redis'" })
    }
  }
  if (issues.length > 0 || Either.isLeft(resolved)) throw new InvalidConfigError({ pattern: "RateLimiter", issues })
  return {
    resolved: resolved.right,
    redis: settings === undefined
      ? undefined
      : { settings, budgets: undefined, connection: undefined, opening: undefined }
  }
}

// A Redis-backed limiter's connection: opened by the constructor, in the background.
interface RedisState {
  readonly settings: RedisSettings
  budgets: RedisBudgets | undefined
  connection: RedisConnection | undefined
  opening: Promise<RedisBudgets> | undefined
}

const memorySnapshot = (core: LimiterCore, now: number): StorageSnapshot => ({
  trackedKeys: core.table.size,
  evictedKeys: core.table.evicted,
  expiredKeys: core.table.expired,
  global: core.global(now),
  available: true,
  policy: undefined
})

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
 *
 * // One budget shared by every process: the same class, with budgets in Redis.
 * const shared = new RateLimiter({
 *   name: "api",
 *   requestsPerSecond: 100,
 *   store: "redis",
 *   redisUrl: "redis://127.0.0.1:6379"
 * })
 * await shared.allowRequest("user-123")
 * await shared.close()
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export class RateLimiter {
  /**
   * The defaults of the options that keep budgets in Redis (`redisUrl` defaults to the
   * `REDIS_URL` environment variable). The others are `RateLimiter.defaults` of the
   * Effect API.
   */
  static readonly storeDefaults: {
    readonly store: "memory"
    readonly keyPrefix: string
    readonly onStoreUnavailable: UnavailablePolicy
    readonly insuranceNodes: number
  } = {
    store: "memory",
    keyPrefix: redisOptions.defaults.prefix,
    onStoreUnavailable: redisOptions.defaults.onUnavailable,
    insuranceNodes: redisOptions.defaults.insuranceNodes
  }

  readonly name: string
  readonly algorithm: Algorithm
  /** The per-key limit (a bucket's burst, a window's limit). */
  readonly limit: number
  private readonly resolved: Resolved
  /** Budgets in this process; undefined when they are kept in Redis. */
  private readonly core: LimiterCore | undefined
  private readonly redis: RedisState | undefined
  private readonly tally = new Tally()
  private readonly metrics: PatternMetrics
  private readonly bus: PatternEvents.PatternEventsService
  private readonly queues = new Map<string, Array<Waiter>>()
  private waiting = 0

  /** @throws InvalidConfigError when an option is bad, listing every problem. */
  constructor(options: RateLimiterOptions) {
    const { redis, resolved } = decodeAll(options)
    this.resolved = resolved
    this.name = resolved.name
    this.algorithm = resolved.algorithm.algorithm
    this.limit = resolved.algorithm.algorithm === "token-bucket"
      ? resolved.algorithm.burstLimit
      : resolved.algorithm.limit
    const settings = processSettings.current
    const enableMetrics = resolved.enableMetrics ?? readSetting(defaults.enableMetrics, settings)
    this.metrics = new PatternMetrics("RateLimiter", this.name, enableMetrics)
    this.bus = Effect.runSync(PatternEvents.PatternEvents)
    this.redis = redis
    if (redis === undefined) {
      this.core = new LimiterCore(resolved.algorithm, resolved.global, resolved.maxKeys)
    } else {
      this.core = undefined
      redis.opening = this.open(redis)
      // A failure to open is reported by every decision; none of them may be unhandled.
      redis.opening.catch(() => {})
    }
    if (settings.enableHealthChecks) {
      globalRegistry.registerWeak(this, "RateLimiter", this.name, {
        stats: (limiter) => ({ ...limiter.getStats() }),
        health: (limiter) => limiter.health()
      })
    }
  }

  /**
   * Decides one request of `cost` units (default 1): true when admitted (and consumed).
   * With Redis, rejects with `PersistenceError` when Redis is unreachable and the
   * limiter fails closed.
   */
  allowRequest(key: string, cost: number = callDefaults.cost): Promise<boolean> {
    checkCost(cost)
    if (this.core === undefined) return this.decideRemote(key, cost, Date.now()).then((decision) => decision.allowed)
    return Promise.resolve(this.decide(this.core, key, cost, Date.now()).allowed)
  }

  /** Decides one request and returns the whole decision (for response headers, see {@link rateLimitHeaders}). */
  check(key: string, cost: number = callDefaults.cost): Promise<Decision> {
    checkCost(cost)
    if (this.core === undefined) return this.decideRemote(key, cost, Date.now())
    return Promise.resolve(this.decide(this.core, key, cost, Date.now()))
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
      const decision = this.core === undefined
        ? await this.decideRemote(key, cost, now)
        : this.decide(this.core, key, cost, now)
      if (!decision.allowed) throw this.reject(key, cost, decision, now, "reject")
    }
    return fn()
  }

  getStats(): Stats {
    const now = Date.now()
    return limiterStats({
      name: this.name,
      algorithm: this.algorithm,
      limit: this.limit,
      tally: this.tally,
      waiting: this.waiting,
      maxKeys: this.resolved.maxKeys,
      store: this.redis === undefined ? "memory" : "redis",
      snapshot: this.snapshot(now),
      now
    })
  }

  /**
   * What this process knows of one key, at once. For a limiter whose budgets are in
   * Redis, use {@link keyStats}: this one throws a `TypeError`.
   */
  getKeyStats(key: string): KeyStats {
    if (this.core === undefined) {
      throw new TypeError(`RateLimiter "${this.name}" keeps its budgets in Redis: use keyStats()`)
    }
    return this.core.keyStats(key, Date.now())
  }

  /**
   * What the store knows of one key. From Redis, `allowed` and `rejected` are 0 (they
   * are not kept there), and so is a token bucket's `currentRate`.
   */
  keyStats(key: string): Promise<KeyStats> {
    if (this.core !== undefined) return Promise.resolve(this.core.keyStats(key, Date.now()))
    const now = Date.now()
    return this.budgets().then((budgets) => budgets.keyStats(key, now))
  }

  /** Closes the Redis connection of a Redis-backed limiter; nothing to do in memory. */
  close(): Promise<void> {
    const redis = this.redis
    if (redis === undefined || redis.opening === undefined) return Promise.resolve()
    return redis.opening.then(
      (budgets) => {
        budgets.dispose()
        return redis.connection?.close()
      },
      () => redis.connection?.close()
    )
  }

  private health(): PatternHealth {
    return limiterHealth(this.getStats(), this.snapshot(Date.now()))
  }

  private snapshot(now: number): StorageSnapshot {
    if (this.core !== undefined) return memorySnapshot(this.core, now)
    const budgets = this.redis!.budgets
    return budgets === undefined
      ? { trackedKeys: 0, evictedKeys: 0, expiredKeys: 0, global: undefined, available: false, policy: undefined }
      : budgets.snapshot()
  }

  // ioredis is an optional peer dependency: it is loaded only for a Redis store.
  private open(redis: RedisState): Promise<RedisBudgets> {
    return import("../internal/rateLimiter/redis.js").then((module) => {
      const connection = module.RedisConnection.open(redis.settings)
      redis.connection = connection
      return connection.waitReady(redis.settings.connectTimeout).then(() => {
        const budgets = new module.RedisBudgets(
          connection,
          {
            name: this.name,
            algorithm: this.resolved.algorithm,
            global: this.resolved.global,
            maxKeys: this.resolved.maxKeys
          },
          redis.settings,
          { bus: this.bus, now: Date.now }
        )
        redis.budgets = budgets
        return budgets
      })
    })
  }

  private budgets(): Promise<RedisBudgets> {
    const redis = this.redis!
    return redis.budgets === undefined ? redis.opening! : Promise.resolve(redis.budgets)
  }

  private decide(core: LimiterCore, key: string, cost: number, now: number): Decision {
    const decision = core.consume(key, cost, now)
    this.record(decision, cost, now, core.globalRemaining)
    return decision
  }

  private decideRemote(key: string, cost: number, now: number): Promise<Decision> {
    const budgets = this.redis!.budgets
    const decided = budgets === undefined
      ? this.budgets().then((ready) => ready.consume(key, cost, now))
      : budgets.consume(key, cost, now)
    return decided.then((decision) => {
      this.record(decision, cost, now, this.redis!.budgets?.globalRemaining())
      return decision
    })
  }

  private record(decision: Decision, cost: number, now: number, globalRemaining: number | undefined): void {
    recordDecision(this.tally, this.metrics, decision, cost, now, globalRemaining)
  }

  // Calls `then` with a decision: at once in memory, when Redis answers otherwise.
  private decideThen(
    key: string,
    cost: number,
    now: number,
    commit: boolean,
    then: (decision: Decision) => void,
    fail: (error: unknown) => void
  ): void {
    const core = this.core
    if (core !== undefined) return then(commit ? this.decide(core, key, cost, now) : core.peek(key, cost, now))
    const decided = commit ? this.decideRemote(key, cost, now) : this.budgets().then((b) => b.peek(key, cost, now))
    decided.then(then, fail)
  }

  private reject(
    key: string,
    cost: number,
    decision: Decision,
    now: number,
    mode: "reject" | "wait"
  ): RateLimitExceededError {
    return rejection(this.name, this.metrics, this.bus, key, cost, decision, now, mode)
  }

  // Callers of one key wait first come, first served; only the head polls the budget,
  // on a timer set to the decision's `retryAfter`. The others wait for their turn or
  // their deadline, whichever comes first.
  private waitForTurn(key: string, cost: number, maxWait: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const now = Date.now()
      const deadline = now + maxWait
      if (this.queues.has(key)) return this.enqueue({ key, cost, deadline, resolve, reject, timer: undefined }, 0)
      this.decideThen(key, cost, now, true, (decision) => {
        if (decision.allowed) resolve()
        else if (decision.retryAfter > maxWait) reject(this.reject(key, cost, decision, now, "wait"))
        else this.enqueue({ key, cost, deadline, resolve, reject, timer: undefined }, decision.retryAfter)
      }, reject)
    })
  }

  // `firstWait`: how long a caller that finds the queue empty waits before its first poll.
  private enqueue(waiter: Waiter, firstWait: number): void {
    let queue = this.queues.get(waiter.key)
    if (queue === undefined) {
      queue = []
      this.queues.set(waiter.key, queue)
    }
    queue.push(waiter)
    this.waiting++
    if (queue.length === 1) {
      waiter.timer = setTimeout(() => this.poll(waiter), firstWait)
    } else {
      waiter.timer = setTimeout(() => {
        const at = Date.now()
        this.leave(waiter)
        this.decideThen(
          waiter.key,
          waiter.cost,
          at,
          false,
          (decision) =>
            waiter.reject(this.reject(waiter.key, waiter.cost, { ...decision, allowed: false }, at, "wait")),
          waiter.reject
        )
      }, Math.max(0, waiter.deadline - Date.now()))
    }
  }

  private poll(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer)
    waiter.timer = undefined
    const now = Date.now()
    this.decideThen(waiter.key, waiter.cost, now, true, (decision) => {
      if (decision.allowed) {
        this.leave(waiter)
        waiter.resolve()
      } else if (now + decision.retryAfter > waiter.deadline) {
        this.leave(waiter)
        waiter.reject(this.reject(waiter.key, waiter.cost, decision, now, "wait"))
      } else {
        waiter.timer = setTimeout(() => this.poll(waiter), decision.retryAfter)
      }
    }, (error) => {
      this.leave(waiter)
      waiter.reject(error)
    })
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
