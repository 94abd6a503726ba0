import { Retry } from "@integration-patterns/core"
import * as PromiseApi from "@integration-patterns/core/promise"
import { ExponentialBackoff, handleAll, retry } from "cockatiel"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { measure, type Suite } from "../harness.js"

// Retry when the first attempt succeeds: the common case, which must cost next to
// nothing. Every implementation wraps the same `async () => 1`.
const fn = async () => 1

const suites: ReadonlyArray<Suite> = [
  {
    name: "retry.success",
    run: (ctx) => {
      const op = Effect.promise(fn)
      const policy = Effect.runSync(
        Effect.scoped(Retry.make({ name: "bench", maxAttempts: 3, backoffStrategy: "exponential" }))
      )
      return measure("retry.success", [
        { impl: "baseline.in-fiber", kind: "effect", effect: op },
        { impl: "integration-patterns", kind: "effect", effect: op.pipe(Retry.withRetry(policy)) },
        {
          impl: "effect.retry",
          kind: "effect",
          effect: Effect.retry(op, Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(2))))
        }
      ], ctx)
    }
  },
  {
    name: "facade.retry.success",
    run: (ctx) => {
      const ours = new PromiseApi.Retry({ name: "bench", maxAttempts: 3, backoffStrategy: "exponential" })
      const cockatiel = retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() })
      return measure("facade.retry.success", [
        { impl: "baseline.await", kind: "promise", fn },
        { impl: "integration-patterns.promise", kind: "promise", fn: () => ours.execute(fn) },
        { impl: "cockatiel", kind: "promise", fn: () => cockatiel.execute(fn) }
      ], ctx)
    }
  }
]

export default suites
