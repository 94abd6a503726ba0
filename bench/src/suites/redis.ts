import * as RateLimiter from "@integration-patterns/core/RateLimiter"
import { RateLimiter as PromiseRateLimiter } from "@integration-patterns/core/promise"
import * as RedisRateLimiterStore from "@integration-patterns/core/RedisRateLimiterStore"
import { startOwnServer } from "@integration-patterns/testkit/redisServer"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import { RateLimiterRedis } from "rate-limiter-flexible"
import { median, round2, type Row, type Suite } from "../harness.js"

// Decisions per second with 50 concurrent callers against a Redis on loopback, started
// by this suite (`redis-server` from PATH) and stopped after it. Every implementation
// talks to the same server in the same run, in alternating rounds, over a connection of
// its own: ours with the store's defaults, rate-limiter-flexible's `RateLimiterRedis`
// over an ioredis client with auto-pipelining (one write for concurrent commands, as
// our store sends one script call for concurrent decisions), and a floor
// of one EVALSHA of `return 1` per call. Limits are high enough that every request is
// admitted, so every decision does the same work.
//
// Round trips per decision: the commands each implementation's connection sent during
// the measured rounds (counted in ioredis's `sendCommand`, by connection name), over
// the decisions made. The note also gives the scripts Redis ran per decision (EVALSHA
// and EVAL calls in `INFO commandstats`), a server-side check. Our store sends the
// decisions of concurrent callers as one script call, so both are below 1.
const callers = 50
const keys = 100

// A server of the bench's own: `REDIS_SERVER_BIN` when `pnpm test` set it, else the one on PATH.
const startRedis = async (): Promise<{ readonly url: string; readonly stop: () => Promise<void> }> => {
  const server = await startOwnServer([], process.env["REDIS_SERVER_BIN"] || "redis-server")
  return { url: server.url, stop: server.dispose }
}

// Commands sent, per connection name.
const sent = new Map<string, number>()
const sendCommand = Redis.prototype.sendCommand
Redis.prototype.sendCommand = function(this: Redis, ...args: Parameters<Redis["sendCommand"]>) {
  const name = this.options.connectionName
  if (name !== undefined) sent.set(name, (sent.get(name) ?? 0) + 1)
  return sendCommand.apply(this, args)
}

interface Impl {
  readonly impl: string
  readonly connection: string
  /** Runs `n` decisions from 50 concurrent callers. */
  readonly run: (n: number) => Promise<void>
}

const promiseCallers = (decide: (key: string) => Promise<unknown>) => async (n: number): Promise<void> => {
  let next = 0
  const caller = async () => {
    while (next < n) {
      const i = next++
      await decide(`user-${i % keys}`)
    }
  }
  await Promise.all(Array.from({ length: callers }, caller))
}

const now = (): number => Number(process.hrtime.bigint())

const ratelimitRedis: Suite = {
  name: "ratelimit.redis",
  run: async (ctx) => {
    const server = await startRedis()
    const scope = Effect.runSync(Scope.make())
    const admin = new Redis(server.url)
    const open = { requestsPerSecond: 1e9, burstLimit: 1e9 } as const
    // The facade opens its own connection; ioredis takes options from the URL's query.
    const facade = new PromiseRateLimiter({
      name: "bench-promise",
      ...open,
      store: "redis",
      redisUrl: `${server.url}/?connectionName=ip-promise`
    })
    const rlfClient = new Redis(server.url, {
      connectionName: "rlf",
      enableOfflineQueue: false,
      enableAutoPipelining: true
    })
    const floorClient = new Redis(server.url, { connectionName: "floor", enableAutoPipelining: true })
    try {
      const limiter = await Effect.runPromise(Scope.extend(
        RateLimiter.make({ name: "bench", ...open }).pipe(
          Effect.provideServiceEffect(
            RateLimiter.RateLimiterStore,
            Effect.orDie(RedisRateLimiterStore.make({ url: server.url, redis: { connectionName: "ip-effect" } }))
          )
        ),
        scope
      ))
      const rlf = new RateLimiterRedis({ storeClient: rlfClient, useRedisPackage: false, points: 1e9, duration: 1 })
      const floorSha = String(await floorClient.script("LOAD", "return 1"))
      const impls: ReadonlyArray<Impl> = [
        {
          impl: "integration-patterns",
          connection: "ip-effect",
          run: (n) =>
            Effect.runPromise(Effect.gen(function*() {
              let next = 0
              const caller = Effect.gen(function*() {
                while (next < n) {
                  const i = next++
                  yield* limiter.allowRequest(`user-${i % keys}`)
                }
              })
              yield* Effect.all(Array.from({ length: callers }, () => caller), { concurrency: "unbounded" })
            }))
        },
        {
          impl: "integration-patterns.promise",
          connection: "ip-promise",
          run: promiseCallers((key) => facade.allowRequest(key))
        },
        { impl: "rate-limiter-flexible", connection: "rlf", run: promiseCallers((key) => rlf.consume(key)) },
        { impl: "ioredis.evalsha", connection: "floor", run: promiseCallers(() => floorClient.evalsha(floorSha, 0)) }
      ]
      await facade.allowRequest("warm", 0)

      const perRound = ctx.quick ? 200 : 10_000
      const rounds = ctx.quick ? 1 : 7
      if (!ctx.quick) {
        // Warm-up: at least 0.5 s and 20k decisions each.
        for (const impl of impls) {
          const start = now()
          let done = 0
          while (now() - start < 500e6 || done < 20_000) {
            await impl.run(5000)
            done += 5000
          }
        }
      }
      const samples = new Map<Impl, Array<number>>(impls.map((impl) => [impl, []]))
      const commands = new Map<Impl, number>(impls.map((impl) => [impl, 0]))
      const scripts = new Map<Impl, number>(impls.map((impl) => [impl, 0]))
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? impls : [...impls].reverse()
        for (const impl of order) {
          await admin.config("RESETSTAT")
          const before = sent.get(impl.connection) ?? 0
          const start = now()
          await impl.run(perRound)
          samples.get(impl)!.push((now() - start) / perRound)
          commands.set(impl, commands.get(impl)! + (sent.get(impl.connection) ?? 0) - before)
          scripts.set(impl, scripts.get(impl)! + scriptCalls(String(await admin.info("commandstats"))))
        }
      }
      const decisions = perRound * rounds
      return impls.map((impl): Row => {
        const ns = median(samples.get(impl)!)
        return {
          suite: "ratelimit.redis",
          impl: impl.impl,
          nsPerOp: round2(ns),
          opsPerSec: Math.round(1e9 / ns),
          samples: rounds,
          note: `${(commands.get(impl)! / decisions).toFixed(2)} round trips/decision, ${
            (scripts.get(impl)! / decisions).toFixed(2)
          } scripts/decision run by Redis`
        }
      })
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await facade.close()
      rlfClient.disconnect()
      floorClient.disconnect()
      admin.disconnect()
      await server.stop()
    }
  }
}

const scriptCalls = (info: string): number => {
  let total = 0
  for (const match of info.matchAll(/^cmdstat_(?:eval|evalsha|eval_ro|evalsha_ro):calls=(\d+)/gm)) {
    total += Number(match[1])
  }
  return total
}

export default [ratelimitRedis] satisfies ReadonlyArray<Suite>
