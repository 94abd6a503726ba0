import { Timeout } from "@integration-patterns/core"
import * as PromiseApi from "@integration-patterns/core/promise"
import { timeout, TimeoutStrategy } from "cockatiel"
import * as Effect from "effect/Effect"
import { measure, type Suite } from "../harness.js"

// A timeout that does not fire: what every call pays for the protection.
const fn = async () => 1

const suites: ReadonlyArray<Suite> = [
  {
    name: "timeout.idle",
    run: (ctx) => {
      const op = Effect.promise(fn)
      const ours = Effect.runSync(Effect.scoped(Timeout.make({ name: "bench", duration: "10 seconds" })))
      return measure("timeout.idle", [
        { impl: "baseline.in-fiber", kind: "effect", effect: op },
        { impl: "integration-patterns", kind: "effect", effect: ours.execute(op) },
        { impl: "effect.timeout", kind: "effect", effect: Effect.timeout(op, "10 seconds") }
      ], ctx)
    }
  },
  {
    name: "facade.timeout.idle",
    run: (ctx) => {
      const ours = new PromiseApi.Timeout({ name: "bench", duration: 10_000 })
      const cooperative = timeout(10_000, TimeoutStrategy.Cooperative)
      const aggressive = timeout(10_000, TimeoutStrategy.Aggressive)
      return measure("facade.timeout.idle", [
        { impl: "baseline.await", kind: "promise", fn },
        { impl: "integration-patterns.promise", kind: "promise", fn: () => ours.execute(fn) },
        { impl: "cockatiel", kind: "promise", fn: () => cooperative.execute(fn) },
        { impl: "cockatiel.aggressive", kind: "promise", fn: () => aggressive.execute(fn) }
      ], ctx)
    }
  }
]

export default suites
