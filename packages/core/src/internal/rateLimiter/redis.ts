import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type Cluster, Redis, type RedisOptions } from "ioredis"
import { createHash } from "node:crypto"
import { PersistenceError } from "../../Errors.js"
import * as PatternEvents from "../../PatternEvents.js"
import type {
  AlgorithmSpec,
  Budget,
  Decision,
  KeyStats,
  RateLimiterStorage,
  RateLimiterStoreService,
  StorageSnapshot,
  StoreConfig,
  UnavailablePolicy
} from "../../RateLimiter.js"
import { makeVerdict, type Verdict } from "./algorithms.js"
import { bindingDecision, LimiterCore } from "./core.js"
import { scripts } from "./redisScripts.js"

const storeName = "RedisRateLimiterStore"

/**
 * Settings of a Redis store, durations in milliseconds.
 *
 * @internal
 */
export interface RedisSettings {
  readonly client: Redis | Cluster | undefined
  readonly url: string | undefined
  readonly redis: RedisOptions | undefined
  readonly prefix: string
  readonly expiryMargin: number
  readonly clock: "redis" | "local"
  readonly onUnavailable: UnavailablePolicy
  readonly insuranceNodes: number
  readonly commandTimeout: number
  readonly connectTimeout: number
}

type Kind = AlgorithmSpec["algorithm"]

const sha1 = (text: string): string => createHash("sha1").update(text).digest("hex")

const shas: Record<Kind, string> = {
  "token-bucket": sha1(scripts["token-bucket"]),
  "sliding-window": sha1(scripts["sliding-window"]),
  "fixed-window": sha1(scripts["fixed-window"])
}

const errorText = (error: unknown): string => error instanceof Error ? error.message : String(error)

const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith("NOSCRIPT")

/**
 * One client, shared by every limiter of a store. Scripts are called by SHA (EVALSHA);
 * a server that does not know a script yet (first use, or a restart emptied its
 * script cache) answers NOSCRIPT, and that one call is sent again as EVAL, which
 * caches the script for the next ones.
 *
 * @internal
 */
export class RedisConnection {
  private readonly swallow = () => {}
  /** Called each time the client (re)connects. */
  readonly onReady = new Set<() => void>()
  private readonly notifyReady = () => {
    for (const listener of this.onReady) listener()
  }

  constructor(readonly client: Redis | Cluster, private readonly owned: boolean) {
    client.on("error", this.swallow)
    client.on("ready", this.notifyReady)
  }

  static open(settings: RedisSettings): RedisConnection {
    if (settings.client !== undefined) return new RedisConnection(settings.client, false)
    // A decision must be answered fast or not at all: no queueing while disconnected,
    // and no resending of a command across reconnects (it may have consumed already).
    const options: RedisOptions = {
      enableAutoPipelining: true,
      ...settings.redis,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: settings.commandTimeout,
      connectTimeout: settings.connectTimeout
    }
    const url = settings.url ?? process.env.REDIS_URL
    return new RedisConnection(url === undefined || url === "" ? new Redis(options) : new Redis(url, options), true)
  }

  get ready(): boolean {
    return this.client.status === "ready"
  }

  /** Resolves once connected, or after `timeout` ms (a store never fails to start). */
  waitReady(timeout: number): Promise<void> {
    if (this.ready) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.client.off("ready", done)
        resolve()
      }
      const timer = setTimeout(done, timeout)
      this.client.on("ready", done)
    })
  }

  run(kind: Kind, args: Array<string | number>): Promise<Array<unknown>> {
    args[0] = shas[kind]
    return (this.client.call("evalsha", args) as Promise<Array<unknown>>).catch((error: unknown) => {
      if (!isNoScript(error)) throw error
      args[0] = scripts[kind]
      return this.client.call("eval", args) as Promise<Array<unknown>>
    })
  }

  close(): Promise<void> {
    this.client.off("ready", this.notifyReady)
    if (!this.owned) {
      this.client.off("error", this.swallow)
      return Promise.resolve()
    }
    return this.client.quit().then(() => undefined, () => this.client.disconnect())
  }
}

const unavailable = (key: string, error: unknown): PersistenceError =>
  new PersistenceError({
    store: storeName,
    reason: "Unavailable",
    key,
    detail: errorText(error),
    cause: error
  })

const params = (spec: AlgorithmSpec): Array<string> =>
  spec.algorithm === "token-bucket"
    ? [
      String(1000 / spec.requestsPerSecond),
      String(spec.burstLimit * (1000 / spec.requestsPerSecond)),
      String(spec.burstLimit)
    ]
    : [String(spec.limit), String(spec.window)]

const limitOf = (spec: AlgorithmSpec): number => spec.algorithm === "token-bucket" ? spec.burstLimit : spec.limit

// A process's share of a limit when it decides alone: never more than its part, and
// never less than one request.
const share = (spec: AlgorithmSpec, nodes: number): AlgorithmSpec =>
  spec.algorithm === "token-bucket"
    ? {
      algorithm: "token-bucket",
      requestsPerSecond: spec.requestsPerSecond / nodes,
      burstLimit: Math.max(1, Math.floor(spec.burstLimit / nodes))
    }
    : { algorithm: spec.algorithm, limit: Math.max(1, Math.floor(spec.limit / nodes)), window: spec.window }

const readVerdict = (reply: Array<unknown>, at: number, out: Verdict): Verdict => {
  out.allowed = reply[at] === 1
  out.remaining = reply[at + 1] as number
  const retry = reply[at + 2] as number
  out.retryAfter = retry === -1 ? Number.POSITIVE_INFINITY : retry
  out.resetAfter = reply[at + 3] as number
  return out
}

/** What the limiter's shell gives a Redis budget set. @internal */
export interface Hooks {
  readonly bus: PatternEvents.PatternEventsService
  /** The shell's clock, for event timestamps. */
  readonly now: () => number
}

/**
 * One limiter's budgets in Redis, with Promise methods that both shells call.
 *
 * Keys: `<prefix>{<limiter name>}:k:<key>` for each key and `<prefix>{<limiter
 * name>}:g` for the global budget. The braces are a Redis Cluster hash tag, so all of
 * one limiter's keys live in one slot and one script can consume from a key's budget
 * and the global one atomically.
 *
 * @internal
 */
export class RedisBudgets {
  private readonly kind: Kind
  private readonly keyPrefix: string
  private readonly globalKey: string | undefined
  private readonly keyLimit: number
  private readonly globalLimit: number
  // Everything after cost, now and commit, the same on every call.
  private readonly tail: ReadonlyArray<string>
  private readonly localTime: boolean
  private readonly kv = makeVerdict()
  private readonly gv = makeVerdict()
  private insurance: LimiterCore | undefined
  private lastGlobal: Budget | undefined
  private available = true
  private downSince = 0
  private readonly onReady = () => this.recovered()

  constructor(
    private readonly connection: RedisConnection,
    private readonly config: StoreConfig,
    private readonly settings: RedisSettings,
    private readonly hooks: Hooks
  ) {
    this.kind = config.algorithm.algorithm
    const base = `${settings.prefix}{${config.name}}:`
    this.keyPrefix = `${base}k:`
    this.globalKey = config.global === undefined ? undefined : `${base}g`
    this.keyLimit = limitOf(config.algorithm)
    this.globalLimit = config.global === undefined ? 0 : limitOf(config.global)
    this.lastGlobal = config.global === undefined
      ? undefined
      : { limit: this.globalLimit, remaining: this.globalLimit, resetAfter: 0 }
    this.tail = [
      String(settings.expiryMargin),
      ...params(config.algorithm),
      ...(config.global === undefined ? [] : params(config.global))
    ]
    this.localTime = settings.clock === "local"
    connection.onReady.add(this.onReady)
  }

  dispose(): void {
    this.connection.onReady.delete(this.onReady)
  }

  consume(key: string, cost: number, now: number): Promise<Decision> {
    return this.decide(key, cost, now, true)
  }

  peek(key: string, cost: number, now: number): Promise<Decision> {
    return this.decide(key, cost, now, false)
  }

  keyStats(key: string, now: number): Promise<KeyStats> {
    return this.call(key, 0, now, false).then(
      (reply): KeyStats => {
        const kv = readVerdict(reply, 1, this.kv)
        return {
          key,
          tracked: reply[9] === 1,
          allowed: 0,
          rejected: 0,
          currentRate: Number(reply[10]),
          limit: this.keyLimit,
          remaining: kv.remaining,
          resetAfter: kv.resetAfter
        }
      },
      (error: unknown) => {
        this.failed(error)
        throw unavailable(key, error)
      }
    )
  }

  snapshot(): StorageSnapshot {
    return {
      trackedKeys: 0,
      evictedKeys: 0,
      expiredKeys: 0,
      global: this.lastGlobal,
      available: this.available,
      policy: this.available ? undefined : this.settings.onUnavailable
    }
  }

  globalRemaining(): number | undefined {
    return this.lastGlobal?.remaining
  }

  private decide(key: string, cost: number, now: number, commit: boolean): Promise<Decision> {
    // While the server is known to be away, decide by policy without trying it.
    if (!this.available && !this.connection.ready) return this.fallback(key, cost, now, commit, "not connected")
    return this.call(key, cost, now, commit).then(
      (reply) => {
        if (!this.available) this.recovered()
        return this.read(reply)
      },
      (error: unknown) => {
        this.failed(error)
        return this.fallback(key, cost, now, commit, error)
      }
    )
  }

  private call(key: string, cost: number, now: number, commit: boolean): Promise<Array<unknown>> {
    const tail = this.tail
    const global = this.globalKey
    const args: Array<string | number> = ["", global === undefined ? 1 : 2, this.keyPrefix + key]
    if (global !== undefined) args.push(global)
    args.push(cost, this.localTime ? now : "", commit ? "1" : "0")
    for (let i = 0; i < tail.length; i++) args.push(tail[i]!)
    return this.connection.run(this.kind, args)
  }

  private read(reply: Array<unknown>): Decision {
    const kv = readVerdict(reply, 1, this.kv)
    if (this.globalKey === undefined) return bindingDecision(reply[0] === 1, kv, undefined, this.keyLimit, 0)
    const gv = readVerdict(reply, 5, this.gv)
    this.lastGlobal = { limit: this.globalLimit, remaining: gv.remaining, resetAfter: gv.resetAfter }
    return bindingDecision(reply[0] === 1, kv, gv, this.keyLimit, this.globalLimit)
  }

  private fallback(key: string, cost: number, now: number, commit: boolean, error: unknown): Promise<Decision> {
    switch (this.settings.onUnavailable) {
      case "fail-open":
        return Promise.resolve({
          allowed: true,
          remaining: this.keyLimit,
          limit: this.keyLimit,
          retryAfter: 0,
          resetAfter: 0,
          scope: "key"
        })
      case "fail-closed":
        return Promise.reject(unavailable(key, error))
      case "insurance": {
        const core = this.insurance ??= new LimiterCore(
          share(this.config.algorithm, this.settings.insuranceNodes),
          this.config.global === undefined ? undefined : share(this.config.global, this.settings.insuranceNodes),
          this.config.maxKeys
        )
        return Promise.resolve(commit ? core.consume(key, cost, now) : core.peek(key, cost, now))
      }
    }
  }

  private failed(error: unknown): void {
    if (!this.available) return
    this.available = false
    const now = this.hooks.now()
    this.downSince = now
    const bus = this.hooks.bus
    if (bus.active) {
      bus.unsafePublish({
        _tag: "RateLimiterStoreUnavailable",
        pattern: "RateLimiter",
        name: this.config.name,
        timestamp: now,
        store: "redis",
        policy: this.settings.onUnavailable,
        detail: errorText(error)
      })
    }
  }

  private recovered(): void {
    if (this.available) return
    this.available = true
    const now = this.hooks.now()
    const bus = this.hooks.bus
    if (bus.active) {
      bus.unsafePublish({
        _tag: "RateLimiterStoreRecovered",
        pattern: "RateLimiter",
        name: this.config.name,
        timestamp: now,
        store: "redis",
        downtime: Math.max(0, now - this.downSince)
      })
    }
  }
}

const fromPromise = <A>(evaluate: () => Promise<A>): Effect.Effect<A, PersistenceError> =>
  Effect.async<A, PersistenceError>((resume) => {
    evaluate().then(
      (value) => resume(Effect.succeed(value)),
      (error: unknown) => resume(error instanceof PersistenceError ? Effect.fail(error) : Effect.die(error))
    )
  })

/**
 * A Redis store for the lifetime of the scope. It never fails to start: a server that
 * is not reachable yet leaves decisions to the policy until the client connects.
 *
 * @internal
 */
export const make = (settings: RedisSettings): Effect.Effect<RateLimiterStoreService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const connection = yield* Effect.acquireRelease(
      Effect.sync(() => RedisConnection.open(settings)),
      (connection) => Effect.promise(() => connection.close())
    )
    yield* Effect.promise(() => connection.waitReady(settings.connectTimeout))
    return {
      name: "redis",
      make: (config) =>
        Effect.gen(function*() {
          const bus = yield* PatternEvents.PatternEvents
          const clock = yield* Effect.clock
          const budgets = yield* Effect.acquireRelease(
            Effect.sync(() =>
              new RedisBudgets(connection, config, settings, { bus, now: () => clock.unsafeCurrentTimeMillis() })
            ),
            (budgets) => Effect.sync(() => budgets.dispose())
          )
          return {
            consume: (request) => fromPromise(() => budgets.consume(request.key, request.cost, request.now)),
            unsafeConsume: undefined,
            peek: (request) => fromPromise(() => budgets.peek(request.key, request.cost, request.now)),
            keyStats: (key, now) => fromPromise(() => budgets.keyStats(key, now)),
            snapshot: () => budgets.snapshot(),
            globalRemaining: () => budgets.globalRemaining()
          } satisfies RateLimiterStorage
        })
    }
  })
