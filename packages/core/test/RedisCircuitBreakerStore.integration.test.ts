import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { InvalidConfigError, PersistenceError } from "../src/Errors.js"
import * as RedisCircuitBreakerStore from "../src/RedisCircuitBreakerStore.js"
import { eventually, required } from "@integration-patterns/testkit/redisServer"

const redisUrl = required("REDIS_URL")
const raw = new Redis(redisUrl)
afterAll(() => raw.quit())

const freshPrefix = () => `it:${randomUUID()}:`
const store = (options: RedisCircuitBreakerStore.Options) => Effect.orDie(RedisCircuitBreakerStore.make(options))
const failing = Effect.fail("down")

describe("RedisCircuitBreakerStore", () => {
  it.scopedLive("saves a breaker's state under the prefix, and a breaker built later starts from it", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const first = yield* store({ url: redisUrl, prefix })
      const breaker = yield* CircuitBreaker.make({ name: "inventory", failureThreshold: 2, recoveryTimeout: "1 minute" })
        .pipe(Effect.provideService(CircuitBreaker.CircuitBreakerStore, first))
      yield* Effect.either(breaker.execute(failing))
      yield* Effect.either(breaker.execute(failing))
      expect(yield* breaker.state).toBe("Open")
      yield* Effect.promise(() =>
        eventually(async () => (await raw.get(`${prefix}inventory`))?.includes("\"Open\"") === true, "the save")
      )
      // Another process, another connection: it starts open.
      const second = yield* store({ url: redisUrl, prefix })
      const restarted = yield* CircuitBreaker.make({ name: "inventory", failureThreshold: 2, recoveryTimeout: "1 minute" })
        .pipe(Effect.provideService(CircuitBreaker.CircuitBreakerStore, second))
      expect(yield* restarted.state).toBe("Open")
      expect(yield* second.load("unknown")).toEqual(Option.none())
    }))

  it.scopedLive("fails load with a Decode PersistenceError on text that is not JSON", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const s = yield* store({ url: redisUrl, prefix })
      yield* Effect.promise(() => raw.set(`${prefix}broken`, "{not json"))
      const error = yield* Effect.flip(s.load("broken"))
      expect(error).toBeInstanceOf(PersistenceError)
      expect(error).toMatchObject({ store: "RedisCircuitBreakerStore", reason: "Decode", key: `${prefix}broken` })
    }))

  it.scopedLive("delivers open signals to every subscriber, in place as soon as subscribe returns; ignores garbage", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const a = yield* store({ url: redisUrl, prefix })
      const b = yield* store({ url: redisUrl, prefix })
      const other = yield* store({ url: redisUrl, prefix: freshPrefix() })
      const received = yield* Effect.fork(Stream.runCollect(Stream.take(yield* b.signals!.subscribe, 2)))
      const elsewhere = yield* other.signals!.subscribe
      yield* Effect.promise(() => raw.publish(`${prefix}signals`, "not a signal"))
      yield* Effect.promise(() => raw.publish(`${prefix}signals`, JSON.stringify({ name: "x", state: "Closed" })))
      const signal = { name: "inventory", origin: "node-a", state: "Open", at: 42 } as const
      yield* a.signals!.publish(signal)
      yield* a.signals!.publish({ ...signal, name: "payments" })
      expect(Chunk.toReadonlyArray(yield* Fiber.join(received))).toEqual([signal, { ...signal, name: "payments" }])
      const stray = yield* Effect.fork(Stream.runCollect(Stream.take(elsewhere, 1)))
      yield* Effect.sleep("50 millis")
      expect(yield* Fiber.poll(stray)).toEqual(Option.none())
    }))

  it.effect("rejects bad options with InvalidConfigError listing every problem", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(RedisCircuitBreakerStore.make({ url: "", commandTimeout: -1, client: {} as never, prefix: 3 as never }))
      )
      expect(error).toBeInstanceOf(InvalidConfigError)
      expect(error.issues.map((issue) => issue.path)).toEqual(["url", "client", "prefix", "commandTimeout"])
    }))
})
