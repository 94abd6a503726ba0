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
    // Each limiter batches its own decisions, so ioredis's auto-pipelining would only
    // add a turn of the event loop before each write (measured: about 15% fewer
    // decisions a second with 50 callers).
    const options: RedisOptions = {
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

/** "1" consumes, "0" peeks, "2" peeks and describes the key (see redisScripts.ts). @internal */
export type Mode = "0" | "1" | "2"

interface Request {
  readonly key: string
  readonly cost: number
  readonly mode: Mode
  readonly now: number
  /** With a `Decision`, or `KeyStats` in mode "2". */
  readonly resolve: (value: Decision | KeyStats) => void
  readonly reject: (error: unknown) => void
}

// Lua's stack bounds how many keys one MGET may take.
const maxBatch = 1000

/**
 * One limiter's budgets in Redis, with Promise methods that both shells call.
 *
 * Keys: `<prefix>{<limiter name>}:k:<key>` for each key and `<prefix>{<limiter
 * name>}:g` for the global budget. The braces are a Redis Cluster hash tag, so all of
 * one limiter's keys live in one slot and one script can consume from a key's budget
 * and the global one atomically.
 *
 * Requests made in the same turn of the event loop (concurrent callers) go to Redis
 * together, in one script call, which decides them in order, each atomically. A
 * decision never takes more than one round trip, and under load takes a fraction of
 * one.
 *
 * @internal
 */
export class RedisBudgets {
  private readonly kind: Kind
  private readonly keyPrefix: string
  private readonly globalKey: string | undefined
  private readonly keyLimit: number
  private readonly globalLimit: number
  // The arguments before the requests, the same on every call.
  private readonly head: ReadonlyArray<string>
  private readonly localTime: boolean
  private readonly kv = makeVerdict()
  private readonly gv = makeVerdict()
  private pending: Array<Request> = []
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
    this.head = [
      String(settings.expiryMargin),
      config.global === undefined ? "0" : "1",
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
    return new Promise((resolve, reject) => this.submit(key, cost, "1", now, resolve, reject))
  }

  peek(key: string, cost: number, now: number): Promise<Decision> {
    return new Promise((resolve, reject) => this.submit(key, cost, "0", now, resolve, reject))
  }

  keyStats(key: string, now: number): Promise<KeyStats> {
    return new Promise((resolve, reject) =>
      this.submit(key, 0, "2", now, resolve as (value: Decision | KeyStats) => void, reject)
    )
  }

  /**
   * Queues a request for the next batch; `resolve` gets a `Decision`, or `KeyStats` in
   * mode "2". The Effect store resumes its fiber from here without a Promise between.
   */
  submit(
    key: string,
    cost: number,
    mode: Mode,
    now: number,
    resolve: (value: Decision) => void,
    reject: (error: unknown) => void
  ): void {
    const settle = resolve as (value: Decision | KeyStats) => void
    if (this.pending.push({ key, cost, mode, now, resolve: settle, reject }) === 1) queueMicrotask(this.flush)
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

  private readonly flush = (): void => {
    const pending = this.pending
    this.pending = []
    if (pending.length <= maxBatch) return this.send(pending)
    for (let from = 0; from < pending.length; from += maxBatch) this.send(pending.slice(from, from + maxBatch))
  }

  private send(batch: ReadonlyArray<Request>): void {
    // While the server is known to be away, decide by policy without trying it.
    if (!this.available && !this.connection.ready) {
      for (const request of batch) this.fallback(request, "not connected")
      return
    }
    const global = this.globalKey
    const index = new Map<string, number>()
    const keys: Array<string> = global === undefined ? [] : [global]
    const requests: Array<string | number> = []
    for (const request of batch) {
      let at = index.get(request.key)
      if (at === undefined) {
        at = keys.push(this.keyPrefix + request.key)
        index.set(request.key, at)
      }
      requests.push(at, request.cost, request.mode, this.localTime ? request.now : "")
    }
    const args: Array<string | number> = ["", keys.length]
    for (let i = 0; i < keys.length; i++) args.push(keys[i]!)
    for (let i = 0; i < this.head.length; i++) args.push(this.head[i]!)
    for (let i = 0; i < requests.length; i++) args.push(requests[i]!)
    this.connection.run(this.kind, args).then(
      (reply) => {
        if (!this.available) this.recovered()
        this.settle(batch, reply)
      },
      (error: unknown) => {
        this.failed(error)
        for (const request of batch) this.fallback(request, error)
      }
    )
  }

  private settle(batch: ReadonlyArray<Request>, reply: Array<unknown>): void {
    const global = this.globalKey !== undefined
    let at = 0
    for (const request of batch) {
      const kv = readVerdict(reply, at, this.kv)
      at += 4
      let gv: Verdict | undefined
      if (global) {
        gv = readVerdict(reply, at, this.gv)
        at += 4
        this.lastGlobal = { limit: this.globalLimit, remaining: gv.remaining, resetAfter: gv.resetAfter }
      }
      if (request.mode === "2") {
        request.resolve({
          key: request.key,
          tracked: reply[at] === 1,
          allowed: 0,
          rejected: 0,
          currentRate: Number(reply[at + 1]),
          limit: this.keyLimit,
          remaining: kv.remaining,
          resetAfter: kv.resetAfter
        })
        at += 2
      } else {
        const allowed = kv.allowed && (gv === undefined || gv.allowed)
        request.resolve(bindingDecision(allowed, kv, gv, this.keyLimit, this.globalLimit))
      }
    }
  }

  private fallback(request: Request, error: unknown): void {
    const { cost, key, mode, now, resolve } = request
    if (mode === "2") return request.reject(unavailable(key, error))
    switch (this.settings.onUnavailable) {
      case "fail-open":
        return resolve({
          allowed: true,
          remaining: this.keyLimit,
          limit: this.keyLimit,
          retryAfter: 0,
          resetAfter: 0,
          scope: "key"
        })
      case "fail-closed":
        return request.reject(unavailable(key, error))
      case "insurance": {
        const core = this.insurance ??= new LimiterCore(
          share(this.config.algorithm, this.settings.insuranceNodes),
          this.config.global === undefined ? undefined : share(this.config.global, this.settings.insuranceNodes),
          this.config.maxKeys
        )
        return resolve(mode === "1" ? core.consume(key, cost, now) : core.peek(key, cost, now))
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

const submit = <A>(
  budgets: RedisBudgets,
  key: string,
  cost: number,
  mode: Mode,
  now: number
): Effect.Effect<A, PersistenceError> =>
  Effect.async<A, PersistenceError>((resume) => {
    budgets.submit(
      key,
      cost,
      mode,
      now,
      (value) => resume(Effect.succeed(value as A)),
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
            consume: (request) => submit<Decision>(budgets, request.key, request.cost, "1", request.now),
            unsafeConsume: undefined,
            peek: (request) => submit<Decision>(budgets, request.key, request.cost, "0", request.now),
            keyStats: (key, now) => submit<KeyStats>(budgets, key, 0, "2", now),
            snapshot: () => budgets.snapshot(),
            globalRemaining: () => budgets.globalRemaining()
          } satisfies RateLimiterStorage
        })
    }
  })
