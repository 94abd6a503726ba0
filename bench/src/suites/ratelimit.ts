import { RateLimitExceededError } from "@integration-patterns/core"
import * as Facade from "@integration-patterns/core/promise"
import * as RateLimiter from "@integration-patterns/core/RateLimiter"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as EffectRateLimiter from "effect/RateLimiter"
import * as Scope from "effect/Scope"
import * as STM from "effect/STM"
import * as TMap from "effect/TMap"
import * as TRef from "effect/TRef"
import { RateLimiterMemory } from "rate-limiter-flexible"
import * as Bound from "../bounds.js"
import { collectGarbage, measure, round2, type Row, type Suite, type SuiteContext } from "../harness.js"

const fn = async () => 1
const op = Effect.promise(fn)
const key = "user-123"

// Limits high enough that nothing is rejected while measuring the admitted path.
const open = { requestsPerSecond: 1e9, burstLimit: 1e9 } as const
// A budget spent once and refilled about once every 30 years: every call is rejected.
const spent = { requestsPerSecond: 1e-9, burstLimit: 1 } as const

const scope = Effect.runSync(Scope.make())
const build = (options: RateLimiter.Options): RateLimiter.RateLimiter =>
  Effect.runSync(Scope.extend(RateLimiter.make({ ...options, enableMetrics: true }), scope))

// The mechanism the design card asked for: a token bucket per key in a TMap and a
// global bucket in a TRef, both consumed in one STM transaction (GCRA arithmetic, the
// same as the core's). Kept here as the measurement behind choosing a synchronous
// critical section instead (see internal/rateLimiter/core.ts).
const stmLimiter = (ratePerSecond: number, burst: number) => {
  const interval = 1000 / ratePerSecond
  const tolerance = burst * interval
  const buckets = Effect.runSync(TMap.empty<string, number>())
  const global = Effect.runSync(TRef.make(Number.NEGATIVE_INFINITY))
  return (k: string): Effect.Effect<boolean> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      STM.commit(
        STM.flatMap(STM.zip(TMap.get(buckets, k), TRef.get(global)), ([tat, globalTat]) => {
          const nextKey = Math.max(tat._tag === "Some" ? tat.value : now, now) + interval
          const nextGlobal = Math.max(globalTat, now) + interval
          if (nextKey - tolerance > now || nextGlobal - tolerance > now) return STM.succeed(false)
          return STM.as(STM.zip(TMap.set(buckets, k, nextKey), TRef.set(global, nextGlobal)), true)
        })
      ))
}

const flexible = (points: number, duration: number) => new RateLimiterMemory({ points, duration })

const allow: Suite = {
  name: "ratelimit.allow",
  run: async (ctx) => {
    const keyOnly = build({ name: "bench-allow", ...open })
    const withGlobal = build({ name: "bench-allow-global", ...open, global: open })
    const effectLimiter = Effect.runSync(
      Scope.extend(EffectRateLimiter.make({ limit: 1e9, interval: "1 seconds" }), scope)
    )
    const stm = stmLimiter(open.requestsPerSecond, open.burstLimit)
    const stmGuarded = Effect.flatMap(stm(key), (allowed) => (allowed ? op : Effect.die("rejected")))
    const rlf = flexible(1e9, 1)
    return measure("ratelimit.allow", [
      { impl: "baseline.in-fiber", kind: "effect", effect: op },
      { impl: "integration-patterns", kind: "effect", effect: op.pipe(keyOnly.withRateLimit(key)) },
      { impl: "integration-patterns.global", kind: "effect", effect: op.pipe(withGlobal.withRateLimit(key)) },
      // Lower bound: one step that reads the clock (how far has the bucket refilled?).
      { impl: "bound.decide-after-clock-read", kind: "effect", effect: Bound.afterClockRead(op) },
      { impl: "effect.ratelimiter", kind: "effect", effect: effectLimiter(op) },
      { impl: "effect.stm", kind: "effect", effect: stmGuarded },
      { impl: "rate-limiter-flexible", kind: "effect", effect: Effect.promise(() => rlf.consume(key).then(fn)) }
    ], ctx)
  }
}

const reject: Suite = {
  name: "ratelimit.reject",
  run: async (ctx) => {
    const limiter = build({ name: "bench-reject", ...spent })
    await Effect.runPromise(limiter.allowRequest(key))
    const prebuilt = new RateLimitExceededError({ limiter: "bench", key, retryAfter: 1000, limit: 1 })
    const stm = stmLimiter(spent.requestsPerSecond, spent.burstLimit)
    await Effect.runPromise(stm(key))
    const stmGuarded = Effect.flatMap(
      stm(key),
      (allowed) =>
        allowed ? op : Effect.fail(new RateLimitExceededError({ limiter: "stm", key, retryAfter: 1000, limit: 1 }))
    )
    // rate-limiter-flexible expires records with setTimeout: keep within its 24.8-day range.
    const rlf = flexible(1, 1e6)
    await rlf.consume(key)
    return measure("ratelimit.reject", [
      { impl: "baseline.in-fiber", kind: "effect", effect: Effect.either(Effect.fail(prebuilt)) },
      { impl: "integration-patterns", kind: "effect", effect: Effect.either(op.pipe(limiter.withRateLimit(key))) },
      // Lower bound: one clock read (how far has the bucket refilled?).
      { impl: "bound.fail-after-clock-read", kind: "effect", effect: Bound.failAfterClockRead(prebuilt) },
      { impl: "effect.stm", kind: "effect", effect: Effect.either(stmGuarded) },
      {
        impl: "rate-limiter-flexible",
        kind: "effect",
        effect: Effect.either(Effect.tryPromise(() => rlf.consume(key).then(fn)))
      }
    ], ctx)
  }
}

const facadeAllow: Suite = {
  name: "facade.ratelimit.allow",
  run: async (ctx) => {
    const limiter = new Facade.RateLimiter({ name: "bench-facade", ...open })
    const rlf = flexible(1e9, 1)
    return measure("facade.ratelimit.allow", [
      { impl: "baseline.await", kind: "promise", fn },
      { impl: "integration-patterns.promise", kind: "promise", fn: () => limiter.allowRequest(key) },
      { impl: "rate-limiter-flexible", kind: "promise", fn: () => rlf.consume(key) }
    ], ctx)
  }
}

// The JS heap plus ArrayBuffer backing stores, which live outside the heap: typed arrays
// would be invisible to `heapUsed` alone.
const heapUsed = (): number => {
  collectGarbage()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

// Bytes per tracked key: memory growth after a full collection, divided by the keys.
// The key strings are built beforehand and held by the bench for every row, so each
// row counts only its own structure (each key string costs about 40 more bytes anywhere).
const bytesPerKey = async (
  impl: string,
  keys: ReadonlyArray<string>,
  fill: (keys: ReadonlyArray<string>) => Promise<unknown>
): Promise<Row> => {
  const before = heapUsed()
  const held = await fill(keys)
  const after = heapUsed()
  const row: Row = { suite: "ratelimit.memory", impl, bytesPerKey: round2((after - before) / keys.length), samples: 1 }
  // Keeps the structure alive until it has been measured.
  if (held === undefined) throw new Error(`${impl} held nothing`)
  return row
}

const memory: Suite = {
  name: "ratelimit.memory",
  run: async (ctx: SuiteContext) => {
    const count = ctx.quick ? 2_000 : 1_000_000
    const keys = Array.from({ length: count }, (_, i) => `user-${i}`)
    const limited = (options: RateLimiter.Options) => async (ks: ReadonlyArray<string>) => {
      const limiter = build({ ...options, maxKeys: count })
      Effect.runSync(Effect.gen(function*() {
        for (const k of ks) yield* limiter.allowRequest(k)
      }))
      const stats = Effect.runSync(limiter.stats)
      if (stats.trackedKeys !== ks.length) throw new Error(`tracked ${stats.trackedKeys} of ${ks.length} keys`)
      return limiter
    }
    const rows: Array<Row> = []
    rows.push(
      await bytesPerKey("baseline.map-of-objects", keys, async (ks) => {
        const map = new Map<string, { tokens: number; last: number }>()
        const now = Date.now()
        for (const k of ks) map.set(k, { tokens: 9.5, last: now })
        return map
      })
    )
    // Budgets that stay partly spent for an hour, so that no key turns idle (and is
    // dropped) while the table fills.
    rows.push(
      await bytesPerKey(
        "integration-patterns",
        keys,
        limited({ name: "bench-memory", requestsPerSecond: 1 / 3600, burstLimit: 10 })
      )
    )
    rows.push(
      await bytesPerKey(
        "integration-patterns.fixed-window",
        keys,
        limited({ name: "bench-memory-fixed", algorithm: "fixed-window", limit: 10, window: "1 hour" })
      )
    )
    rows.push(
      await bytesPerKey(
        "integration-patterns.sliding-window",
        keys,
        limited({ name: "bench-memory-sliding", algorithm: "sliding-window", limit: 10, window: "1 hour" })
      )
    )
    rows.push(
      await bytesPerKey("rate-limiter-flexible", keys, async (ks) => {
        const rlf = flexible(10, 3600)
        for (const k of ks) await rlf.consume(k)
        return rlf
      })
    )
    return rows
  }
}

const suites: ReadonlyArray<Suite> = [allow, reject, facadeAllow, memory]

export default suites
