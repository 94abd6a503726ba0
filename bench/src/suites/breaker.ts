import { CircuitBreaker, CircuitBreakerOpenError, IntegrationPatterns } from "@integration-patterns/core"
import * as Promise_ from "@integration-patterns/core/promise"
import { circuitBreaker, ConsecutiveBreaker, handleAll } from "cockatiel"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import Opossum from "opossum"
import * as Bound from "../bounds.js"
import { measure, type Row, type Suite } from "../harness.js"

const fn = async () => 1
const failing = async (): Promise<number> => {
  throw new Error("down")
}

// Opossum with what it needs for a plain breaker, and with its defaults (rolling
// percentiles, snapshots and a 10 s timeout per call).
const opossumLean = <T>(action: () => Promise<T>) =>
  new Opossum(action, {
    timeout: false,
    enableSnapshots: false,
    rollingPercentilesEnabled: false,
    errorThresholdPercentage: 50,
    resetTimeout: 3_600_000
  })
const opossumDefaults = <T>(action: () => Promise<T>) => new Opossum(action, { resetTimeout: 3_600_000 })

// The two opossum rows come in case order: lean options first, then the defaults.
const noteOpossum = (rows: ReadonlyArray<Row>): ReadonlyArray<Row> => {
  let seen = 0
  return rows.map((row) =>
    row.impl === "opossum" ? { ...row, note: seen++ === 0 ? "lean options" : "default options" } : row
  )
}

const cockatielBreaker = () =>
  circuitBreaker(handleAll, { halfOpenAfter: 3_600_000, breaker: new ConsecutiveBreaker(5) })

const facadeBreaker = () =>
  new Promise_.CircuitBreaker({ name: "bench", failureThreshold: 5, recoveryTimeout: 3_600_000 })

const makeBreaker = (name: string) => CircuitBreaker.make({ name, failureThreshold: 5, recoveryTimeout: "1 hour" })

const withBreaker = async <A>(
  use: (breaker: CircuitBreaker.CircuitBreaker, withoutMetrics: CircuitBreaker.CircuitBreaker) => Promise<A>
): Promise<A> => {
  const scope = Effect.runSync(Scope.make())
  try {
    const breaker = await Effect.runPromise(Scope.extend(makeBreaker("bench"), scope))
    const withoutMetrics = await Effect.runPromise(
      Scope.extend(
        makeBreaker("bench-no-metrics").pipe(Effect.provide(IntegrationPatterns.layer({ enableMetrics: false }))),
        scope
      )
    )
    return await use(breaker, withoutMetrics)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const suites: ReadonlyArray<Suite> = [
  {
    name: "breaker.closed",
    run: (ctx) =>
      withBreaker((breaker, withoutMetrics) =>
        measure("breaker.closed", [
          { impl: "baseline.in-fiber", kind: "effect", effect: Effect.promise(fn) },
          { impl: "integration-patterns", kind: "effect", effect: breaker.execute(Effect.promise(fn)) },
          // Without metrics a closed breaker reads no clock: what the duration histogram costs.
          {
            impl: "integration-patterns.no-metrics",
            kind: "effect",
            effect: withoutMetrics.execute(Effect.promise(fn))
          },
          // Lower bounds: a step that sees the call end, and the same with the two clock
          // reads that time it (what the duration histogram needs).
          { impl: "bound.observe", kind: "effect", effect: Bound.observed(Effect.promise(fn)) },
          { impl: "bound.observe-timed", kind: "effect", effect: Bound.timed(Effect.promise(fn)) }
        ], ctx)
      )
  },
  {
    // The cost of one typed rejection by a breaker that tripped, handled in the same fiber.
    name: "breaker.open",
    run: (ctx) =>
      withBreaker(async (breaker) => {
        for (let i = 0; i < 5; i++) await Effect.runPromise(Effect.either(breaker.execute(Effect.fail("down"))))
        const prebuilt = new CircuitBreakerOpenError({ breaker: "bench", state: "Open", retryAfter: 0 })
        return measure("breaker.open", [
          { impl: "baseline.in-fiber", kind: "effect", effect: Effect.either(Effect.fail(prebuilt)) },
          { impl: "integration-patterns", kind: "effect", effect: Effect.either(breaker.execute(Effect.promise(fn))) },
          // Lower bound: one clock read (is the open period over? what is retryAfter?).
          { impl: "bound.fail-after-clock-read", kind: "effect", effect: Bound.failAfterClockRead(prebuilt) }
        ], ctx)
      })
  },
  {
    name: "facade.breaker.closed",
    run: async (ctx) => {
      const ours = facadeBreaker()
      const cockatiel = cockatielBreaker()
      const lean = opossumLean(fn)
      const defaults = opossumDefaults(fn)
      try {
        const rows = await measure("facade.breaker.closed", [
          { impl: "baseline.await", kind: "promise", fn },
          { impl: "integration-patterns.promise", kind: "promise", fn: () => ours.execute(fn) },
          { impl: "cockatiel", kind: "promise", fn: () => cockatiel.execute(fn) },
          { impl: "opossum", kind: "promise", fn: () => lean.fire() },
          { impl: "opossum", kind: "promise", fn: () => defaults.fire() }
        ], ctx)
        return noteOpossum(rows)
      } finally {
        lean.shutdown()
        defaults.shutdown()
      }
    }
  },
  {
    name: "facade.breaker.open",
    run: async (ctx) => {
      const ours = facadeBreaker()
      const cockatiel = cockatielBreaker()
      for (let i = 0; i < 5; i++) {
        await ours.execute(failing).catch(() => undefined)
        await cockatiel.execute(failing).catch(() => undefined)
      }
      const lean = opossumLean(failing)
      const defaults = opossumDefaults(failing)
      lean.open()
      defaults.open()
      const prebuilt = new CircuitBreakerOpenError({ breaker: "bench", state: "Open", retryAfter: 0 })
      const rejected = () => Promise.reject(prebuilt)
      try {
        const rows = await measure("facade.breaker.open", [
          { impl: "baseline.await", kind: "promise", fn: rejected },
          { impl: "integration-patterns.promise", kind: "promise", fn: () => ours.execute(fn) },
          { impl: "cockatiel", kind: "promise", fn: () => cockatiel.execute(fn) },
          { impl: "opossum", kind: "promise", fn: () => lean.fire() },
          { impl: "opossum", kind: "promise", fn: () => defaults.fire() }
        ], ctx)
        return noteOpossum(rows).map((row) =>
          row.impl === "baseline.await" ? { ...row, note: "await of a pre-built rejection" } : row
        )
      } finally {
        lean.shutdown()
        defaults.shutdown()
      }
    }
  }
]

export default suites
