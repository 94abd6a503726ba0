import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Redis, type RedisOptions } from "ioredis"
import type * as CB from "../../CircuitBreaker.js"
import { PersistenceError } from "../../Errors.js"

const storeName = "RedisCircuitBreakerStore"

/**
 * Settings of a Redis breaker store, durations in milliseconds.
 *
 * @internal
 */
export interface RedisSettings {
  readonly client: Redis | undefined
  readonly url: string | undefined
  readonly redis: RedisOptions | undefined
  readonly prefix: string
  readonly commandTimeout: number
  readonly connectTimeout: number
}

const failure = (reason: "Unavailable" | "Decode", key: string, error: unknown): PersistenceError =>
  new PersistenceError({
    store: storeName,
    reason,
    key,
    detail: error instanceof Error ? error.message : String(error),
    cause: error
  })

const call = <A>(key: string, f: () => Promise<A>): Effect.Effect<A, PersistenceError> =>
  Effect.tryPromise({ try: f, catch: (error) => failure("Unavailable", key, error) })

const isSignal = (u: unknown): u is CB.RemoteSignal => {
  if (typeof u !== "object" || u === null) return false
  const s = u as Record<string, unknown>
  return typeof s.name === "string" && typeof s.origin === "string" && s.state === "Open" &&
    typeof s.at === "number"
}

const parseSignal = (raw: string): CB.RemoteSignal | undefined => {
  try {
    const parsed: unknown = JSON.parse(raw)
    return isSignal(parsed) ? { name: parsed.name, origin: parsed.origin, state: "Open", at: parsed.at } : undefined
  } catch {
    return undefined
  }
}

const release = (client: Redis): Effect.Effect<void> =>
  Effect.promise(() => client.quit().then(() => undefined, () => client.disconnect()))

const within = <A>(promise: Promise<A>, ms: number): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    promise.then(
      () => {
        clearTimeout(timer)
        resolve()
      },
      () => {
        clearTimeout(timer)
        resolve()
      }
    )
  })

/**
 * A breaker store in Redis for the lifetime of the scope.
 *
 * - Snapshots are JSON strings under `<prefix><breaker name>`.
 * - Open signals are published on `<prefix>signals`, and read by one subscriber
 *   connection per store. It subscribes once, when the store is built (waiting up to
 *   `connectTimeout` for Redis), and again by itself after every reconnect; each
 *   breaker's subscription is then a local listener, in place at once.
 * - Commands fail fast while Redis is away (no offline queue): a breaker logs the
 *   failure and goes on with its own evidence.
 *
 * @internal
 */
export const make = (settings: RedisSettings): Effect.Effect<CB.CircuitBreakerStore, never, Scope.Scope> =>
  Effect.gen(function*() {
    const swallow = () => {}
    const commandOptions: RedisOptions = {
      ...settings.redis,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: settings.commandTimeout,
      connectTimeout: settings.connectTimeout
    }
    const owned = settings.client === undefined
    const url = settings.url ?? process.env.REDIS_URL
    const client = settings.client ??
      (url === undefined || url === "" ? new Redis(commandOptions) : new Redis(url, commandOptions))
    client.on("error", swallow)
    yield* Effect.addFinalizer(() => owned ? release(client) : Effect.sync(() => client.off("error", swallow)))

    // The subscriber waits for Redis as long as it takes: its SUBSCRIBE is queued while
    // disconnected, and ioredis subscribes again after every reconnect.
    const subscriber = client.duplicate({
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      commandTimeout: undefined as never
    })
    subscriber.on("error", swallow)
    // Not `quit`: with Redis away, a queued QUIT would wait for it.
    yield* Effect.addFinalizer(() => Effect.sync(() => subscriber.disconnect()))
    const channel = `${settings.prefix}signals`
    const listeners = new Set<(signal: CB.RemoteSignal) => void>()
    subscriber.on("message", (from: string, raw: string) => {
      if (from !== channel) return
      const signal = parseSignal(raw)
      if (signal !== undefined) for (const listener of listeners) listener(signal)
    })
    yield* Effect.promise(() => within(subscriber.subscribe(channel), settings.connectTimeout))

    const keyOf = (name: string) => `${settings.prefix}${name}`

    return {
      load: (name) =>
        Effect.flatMap(call(keyOf(name), () => client.get(keyOf(name))), (raw) => {
          if (raw === null) return Effect.succeed(Option.none())
          return Effect.try({
            try: () => Option.some(JSON.parse(raw) as unknown),
            catch: (error) => failure("Decode", keyOf(name), error)
          })
        }),
      save: (name, snapshot) =>
        Effect.asVoid(call(keyOf(name), () => client.set(keyOf(name), JSON.stringify(snapshot)))),
      signals: {
        subscribe: Effect.gen(function*() {
          const queue = yield* Queue.unbounded<CB.RemoteSignal>()
          const listener = (signal: CB.RemoteSignal) => void queue.unsafeOffer(signal)
          yield* Effect.acquireRelease(
            Effect.sync(() => listeners.add(listener)),
            () => Effect.zipRight(Effect.sync(() => listeners.delete(listener)), Queue.shutdown(queue))
          )
          return Stream.fromQueue(queue)
        }),
        publish: (signal) => Effect.asVoid(call(channel, () => client.publish(channel, JSON.stringify(signal))))
      }
    } satisfies CB.CircuitBreakerStore
  })
