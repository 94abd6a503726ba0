// Two Node processes, each with a breaker of the same name over RedisCircuitBreakerStore
// and a downstream of its own. An open signal travels between them through Redis
// pub/sub; recovery does not. With Redis down, each trips and recovers on its own.
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as CircuitBreaker from "../src/CircuitBreaker.js"
import { type Child, startChild } from "./childProcess.js"
import type { Message, Outcome, Reply } from "./fixtures/breakerChild.js"
import { eventually, type OwnServer, startOwnServer } from "@integration-patterns/testkit/redisServer"

let server: OwnServer
let a: Child<Message>
let b: Child<Message>

beforeAll(async () => {
  server = await startOwnServer()
  a = startChild<Message>("breakerChild.ts")
  b = startChild<Message>("breakerChild.ts")
  await Promise.all([a.next("ok"), b.next("ok")])
}, 60_000)

afterAll(async () => {
  await Promise.all([a.stop(), b.stop()])
  await server.dispose()
})

const prepare = (child: Child<Message>, prefix: string, name: string, recoveryTimeout: number) =>
  child.ask({ type: "prepare", url: server.url, prefix, name, failureThreshold: 3, recoveryTimeout }, "ready")

const downstream = (child: Child<Message>, healthy: boolean) => child.ask({ type: "downstream", healthy }, "ok")

const call = async (child: Child<Message>): Promise<Outcome> =>
  (await child.ask<Extract<Reply, { type: "called" }>>({ type: "call" }, "called")).outcome

const state = async (child: Child<Message>): Promise<CircuitBreaker.State> =>
  (await child.ask<Extract<Reply, { type: "state" }>>({ type: "state" }, "state")).state

const calls = async (child: Child<Message>, n: number): Promise<Array<Outcome>> => {
  const outcomes: Array<Outcome> = []
  for (let i = 0; i < n; i++) outcomes.push(await call(child))
  return outcomes
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const subscribers = async (channel: string): Promise<number> => {
  const admin = new Redis(server.url, { maxRetriesPerRequest: 0 })
  admin.on("error", () => {})
  try {
    const [, count] = (await admin.call("pubsub", "numsub", channel)) as [string, number]
    return count
  } catch {
    return 0
  } finally {
    admin.disconnect()
  }
}

describe("CircuitBreaker across 2 processes, one Redis", () => {
  it("opens on every node when one node's breaker opens; each recovers by its own probe", async () => {
    const prefix = `mp:${randomUUID()}:`
    await prepare(a, prefix, "inventory", 1500)
    await prepare(b, prefix, "inventory", 300)
    await downstream(a, false)
    await downstream(b, true)
    expect(await call(b)).toBe("ok")

    // A trips on its own evidence...
    expect(await calls(a, 4)).toEqual(["failed", "failed", "failed", "rejected"])
    expect(await state(a)).toBe("Open")
    // ...and B, which saw no failure, learns it and opens too.
    await eventually(async () => (await state(b)) === "Open", "B to open")
    expect(await call(b)).toBe("rejected")

    // B probes by itself after its own recovery timeout; its downstream is fine.
    await sleep(350)
    expect(await call(b)).toBe("ok")
    expect(await state(b)).toBe("Closed")
    // B closing did not close A: A still rejects, until its own timeout.
    expect(await state(a)).toBe("Open")
    expect(await call(a)).toBe("rejected")

    // A's downstream comes back; A closes after its own probe.
    await downstream(a, true)
    await eventually(async () => (await call(a)) === "ok", "A to probe and close")
    expect(await state(a)).toBe("Closed")
    expect(await state(b)).toBe("Closed")
  }, 30_000)

  it("with Redis down, trips and recovers each node on its own evidence; signals flow again once it returns", async () => {
    const prefix = `mp:${randomUUID()}:`
    await prepare(a, prefix, "payments", 300)
    await prepare(b, prefix, "payments", 300)
    await downstream(a, true)
    await downstream(b, true)
    await server.kill()

    // A trips alone; B cannot learn it, and keeps serving from its healthy downstream.
    await downstream(a, false)
    expect(await calls(a, 4)).toEqual(["failed", "failed", "failed", "rejected"])
    await sleep(100)
    expect(await calls(b, 3)).toEqual(["ok", "ok", "ok"])
    expect(await state(b)).toBe("Closed")
    // B trips on its own failures.
    await downstream(b, false)
    expect(await calls(b, 4)).toEqual(["failed", "failed", "failed", "rejected"])
    // Both recover by their own probes, still without Redis.
    await downstream(a, true)
    await downstream(b, true)
    await sleep(350)
    expect([await call(a), await call(b)]).toEqual(["ok", "ok"])
    expect([await state(a), await state(b)]).toEqual(["Closed", "Closed"])

    // Redis returns; both stores subscribe again by themselves, and A's next trip
    // reaches B.
    await server.start()
    await eventually(async () => (await subscribers(`${prefix}signals`)) === 2, "both stores to subscribe again")
    await downstream(a, false)
    await calls(a, 3)
    expect(await state(a)).toBe("Open")
    await eventually(async () => (await state(b)) === "Open", "B to open")
  }, 30_000)
})
