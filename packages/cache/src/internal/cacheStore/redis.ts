import { PersistenceError } from "@integration-patterns/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { Redis, type RedisOptions } from "ioredis"
import { randomUUID } from "node:crypto"
import type { CacheStoreService, Partition, PartitionOptions } from "../../CacheStore.js"
import { type Entry, type Invalidation, remainingLife } from "../cacheAside/entry.js"
import { MemoryEntries } from "./memory.js"

const storeName = "RedisCacheStore"

/** Settings of a Redis store, durations in milliseconds. @internal */
export interface RedisSettings {
  readonly client: Redis | undefined
  readonly url: string | undefined
  readonly redis: RedisOptions | undefined
  readonly prefix: string
  readonly twoLevel: boolean
  readonly commandTimeout: number
  readonly connectTimeout: number
}

// Stores an entry, adds its key to each tag's set (kept at least as long as the entry),
// and on two levels publishes the write, so that other nodes drop their memory copy:
// one round trip.
//   KEYS: value key, tag set keys...   ARGV: json, ttl ms, channel ("" for none), message
const setScript = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[1])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return 1
`

// Deletes every key listed in a tag's set, then the set.
//   KEYS: tag set key
const invalidateTagScript = `
local keys = redis.call('SMEMBERS', KEYS[1])
local removed = 0
for i = 1, #keys, 500 do
  removed = removed + redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys)))
end
redis.call('DEL', KEYS[1])
return removed
`

interface ScriptedRedis extends Redis {
  ipCacheSet(numKeys: number, ...args: Array<string | number>): Promise<number>
  ipCacheInvalidateTag(key: string): Promise<number>
}

const globEscape = (s: string): string => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`)

const unavailable = (error: unknown, key?: string): PersistenceError =>
  new PersistenceError({
    store: storeName,
    reason: "Unavailable",
    ...(key === undefined ? {} : { key }),
    detail: error instanceof Error ? error.message : String(error),
    cause: error
  })

const call = <A>(key: string | undefined, f: () => Promise<A>): Effect.Effect<A, PersistenceError> =>
  Effect.tryPromise({ try: f, catch: (error) => unavailable(error, key) })

interface Message {
  /** The node that published it. */
  readonly o: string
  /** The cache's name. */
  readonly n: string
  readonly i: Invalidation
}

const isInvalidation = (u: unknown): u is Invalidation => {
  if (typeof u !== "object" || u === null) return false
  const i = u as Record<string, unknown>
  switch (i._tag) {
    case "Key":
      return typeof i.key === "string"
    case "Tag":
      return typeof i.tag === "string"
    case "Prefix":
      return typeof i.prefix === "string"
    case "All":
      return true
    default:
      return false
  }
}

const parseMessage = (raw: string): Message | undefined => {
  try {
    const m = JSON.parse(raw) as Partial<Message>
    return typeof m.o === "string" && typeof m.n === "string" && isInvalidation(m.i) ? (m as Message) : undefined
  } catch {
    return undefined
  }
}

/** A two-level partition's hook for invalidations coming from other nodes. */
interface RemoteListener {
  readonly apply: (invalidation: Invalidation) => void
}

const waitReady = (client: Redis, timeout: number): Effect.Effect<void> =>
  client.status === "ready"
    ? Effect.void
    : Effect.async<void>((resume) => {
      const done = () => {
        clearTimeout(timer)
        client.off("ready", done)
        resume(Effect.void)
      }
      const timer = setTimeout(done, timeout)
      client.on("ready", done)
      return Effect.sync(() => {
        clearTimeout(timer)
        client.off("ready", done)
      })
    })

const release = (client: Redis): Effect.Effect<void> =>
  Effect.promise(() => client.quit().then(() => undefined, () => client.disconnect()))

/**
 * A Redis store (one or two levels) for the lifetime of the scope. It never fails to
 * start: a server that is not reachable yet leaves the store unavailable (caches fall
 * back to their loaders) until the client connects.
 *
 * @internal
 */
export const make = (settings: RedisSettings): Effect.Effect<CacheStoreService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const connection: Partial<RedisOptions> = {
      // A cache must answer fast or not at all: no queueing while disconnected, and no
      // retrying of commands across reconnects.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: settings.commandTimeout,
      connectTimeout: settings.connectTimeout
    }
    const owned = settings.client === undefined
    const client = (settings.client !== undefined
      ? settings.client
      : settings.url !== undefined
      ? new Redis(settings.url, { ...settings.redis, ...connection })
      : new Redis({ ...settings.redis, ...connection })) as ScriptedRedis
    const swallow = () => {}
    client.on("error", swallow)
    client.defineCommand("ipCacheSet", { lua: setScript })
    client.defineCommand("ipCacheInvalidateTag", { numberOfKeys: 1, lua: invalidateTagScript })
    yield* Effect.addFinalizer(() =>
      owned ? release(client) : Effect.sync(() => client.off("error", swallow))
    )
    yield* waitReady(client, settings.connectTimeout)

    const node = randomUUID()
    const channel = `${settings.prefix}invalidations`
    const listeners = new Map<string, Set<RemoteListener>>()

    if (settings.twoLevel) {
      // Subscriptions are re-established by ioredis after a reconnect. Invalidations
      // published while this node was cut off are lost, so a reconnect drops every
      // memory copy.
      const subscriber = client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined as never })
      subscriber.on("error", swallow)
      let connectedBefore = false
      subscriber.on("ready", () => {
        if (connectedBefore) {
          for (const set of listeners.values()) for (const listener of set) listener.apply({ _tag: "All" })
        }
        connectedBefore = true
      })
      subscriber.on("message", (from: string, raw: string) => {
        if (from !== channel) return
        const message = parseMessage(raw)
        if (message === undefined || message.o === node) return
        const set = listeners.get(message.n)
        if (set !== undefined) for (const listener of set) listener.apply(message.i)
      })
      yield* Effect.addFinalizer(() => release(subscriber))
      yield* Effect.promise(() => subscriber.subscribe(channel).then(() => undefined, () => undefined))
    }

    const open = <A, I>(options: PartitionOptions<A, I>): Effect.Effect<Partition<A>, never, Scope.Scope> =>
      Effect.gen(function*() {
        const base = `${settings.prefix}${options.name}:`
        const valueKey = (key: string) => `${base}v:${key}`
        const tagKey = (tag: string) => `${base}t:${tag}`
        // Without a schema, values go through plain JSON and are trusted to be `A`.
        const value = (options.schema ?? Schema.Unknown) as Schema.Schema<A, I>
        const codec = Schema.parseJson(Schema.Struct({
          v: value,
          t: Schema.Array(Schema.String),
          r: Schema.Number,
          f: Schema.Number,
          s: Schema.Number
        }))
        const encode = Schema.encodeEither(codec)
        const decode = Schema.decodeUnknownEither(codec)
        const publishing = settings.twoLevel
        const message = (invalidation: Invalidation) => JSON.stringify({ o: node, n: options.name, i: invalidation })
        const l1 = settings.twoLevel ? new MemoryEntries<A>(options.maxSize, options.onEvict) : undefined

        if (l1 !== undefined) {
          const listener: RemoteListener = {
            apply: (invalidation) => options.onRemoteInvalidation(invalidation, l1.apply(invalidation))
          }
          let set = listeners.get(options.name)
          if (set === undefined) {
            set = new Set()
            listeners.set(options.name, set)
          }
          set.add(listener)
          yield* Effect.addFinalizer(() => Effect.sync(() => listeners.get(options.name)?.delete(listener)))
        }

        const remoteGet = (key: string): Effect.Effect<Entry<A> | undefined, PersistenceError> =>
          Effect.flatMap(call(key, () => client.get(valueKey(key))), (raw) => {
            if (raw === null) return Effect.succeed(undefined)
            const decoded = decode(raw)
            if (Either.isLeft(decoded)) {
              return Effect.fail(
                new PersistenceError({
                  store: storeName,
                  reason: "Decode",
                  key,
                  detail: ParseResult.TreeFormatter.formatErrorSync(decoded.left),
                  cause: decoded.left
                })
              )
            }
            const e = decoded.right
            return Effect.succeed<Entry<A>>({ value: e.v, tags: e.t, refreshAt: e.r, freshUntil: e.f, staleUntil: e.s })
          })

        const remoteSet = (key: string, entry: Entry<A>, now: number): Effect.Effect<void, PersistenceError> => {
          const encoded = encode({
            v: entry.value,
            t: entry.tags,
            r: entry.refreshAt,
            f: entry.freshUntil,
            s: entry.staleUntil
          })
          if (Either.isLeft(encoded)) {
            return Effect.fail(
              new PersistenceError({
                store: storeName,
                reason: "Encode",
                key,
                detail: ParseResult.TreeFormatter.formatErrorSync(encoded.left),
                cause: encoded.left
              })
            )
          }
          const keys = [valueKey(key), ...entry.tags.map(tagKey)]
          return Effect.asVoid(call(key, () =>
            client.ipCacheSet(
              keys.length,
              ...keys,
              encoded.right,
              remainingLife(entry, now),
              publishing ? channel : "",
              publishing ? message({ _tag: "Key", key }) : ""
            )))
        }

        const deleteMatching = (pattern: string): Effect.Effect<number, PersistenceError> =>
          call(undefined, async () => {
            let cursor = "0"
            let removed = 0
            do {
              const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000)
              cursor = next
              if (keys.length > 0) removed += await client.del(...keys)
            } while (cursor !== "0")
            return removed
          })

        const remoteInvalidate = (invalidation: Invalidation): Effect.Effect<number, PersistenceError> => {
          const removal: Effect.Effect<number, PersistenceError> = invalidation._tag === "Key"
            ? call(invalidation.key, () => client.del(valueKey(invalidation.key)))
            : invalidation._tag === "Tag"
            ? call(undefined, () => client.ipCacheInvalidateTag(tagKey(invalidation.tag)))
            : invalidation._tag === "Prefix"
            ? deleteMatching(`${globEscape(valueKey(invalidation.prefix))}*`)
            : Effect.zipLeft(deleteMatching(`${globEscape(base)}v:*`), deleteMatching(`${globEscape(base)}t:*`))
          return publishing
            ? Effect.tap(removal, () => call(undefined, () => client.publish(channel, message(invalidation))))
            : removal
        }

        const available = () => client.status === "ready"

        if (l1 === undefined) {
          return {
            remote: true,
            local: undefined,
            get: remoteGet,
            set: (key, entry) => Effect.clockWith((clock) => remoteSet(key, entry, clock.unsafeCurrentTimeMillis())),
            invalidate: remoteInvalidate,
            available,
            size: () => 0
          } satisfies Partition<A>
        }
        return {
          remote: true,
          local: (key, now) => l1.lookup(key, now),
          get: (key) =>
            Effect.tap(
              remoteGet(key),
              (entry) => entry === undefined ? Effect.void : Effect.sync(() => l1.put(key, entry))
            ),
          // Memory first: while Redis is down this node still serves what it loaded.
          set: (key, entry) =>
            Effect.clockWith((clock) => {
              l1.put(key, entry)
              return remoteSet(key, entry, clock.unsafeCurrentTimeMillis())
            }),
          invalidate: (invalidation) =>
            Effect.suspend(() => {
              const local = l1.apply(invalidation)
              return Effect.map(remoteInvalidate(invalidation), (remote) => Math.max(local, remote))
            }),
          available,
          size: () => l1.size
        } satisfies Partition<A>
      })

    return { backend: settings.twoLevel ? "two-level" : "redis", open } satisfies CacheStoreService
  })
