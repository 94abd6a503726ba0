// A circuit breaker with the Effect API, in front of a payment gateway that goes down
// and comes back. Run: node --conditions=source --import tsx examples/src/circuit-breaker.ts
import { CircuitBreaker } from "@integration-patterns/core"
import { Console, Data, Effect } from "effect"
import { pathToFileURL } from "node:url"

class GatewayDown extends Data.TaggedError("GatewayDown")<{}> {}

export const main = Effect.gen(function*() {
  const gateway = { down: true, calls: 0 }
  const charge = (amount: number) =>
    Effect.suspend(() => {
      gateway.calls++
      return gateway.down ? Effect.fail(new GatewayDown()) : Effect.succeed(`charged ${amount}`)
    })

  // One breaker per dependency, shared by every call to it.
  const breaker = yield* CircuitBreaker.make({ name: "payments", failureThreshold: 3, recoveryTimeout: "500 millis" })

  const pay = (amount: number) =>
    charge(amount).pipe(
      breaker.execute,
      Effect.catchTags({
        GatewayDown: () => Effect.succeed("failed: the gateway is down"),
        CircuitBreakerOpenError: (e) => Effect.succeed(`rejected without calling the gateway, retry in ${e.retryAfter} ms`)
      })
    )

  const outcomes: Array<string> = []
  const payAndLog = (amount: number) =>
    Effect.gen(function*() {
      const outcome = yield* pay(amount)
      const line = `pay ${amount}: ${outcome} (breaker ${yield* breaker.state})`
      outcomes.push(line)
      yield* Console.log(line)
    })

  // Three failures in a row open the breaker; the next calls fail fast.
  for (const amount of [10, 20, 30, 40, 50]) yield* payAndLog(amount)

  // The gateway recovers. After the recovery timeout, one probe call goes through and closes the breaker.
  gateway.down = false
  yield* Effect.sleep("500 millis")
  for (const amount of [60, 70]) yield* payAndLog(amount)

  const stats = yield* breaker.stats
  yield* Console.log(
    `gateway called ${gateway.calls} times for 7 payments; ${stats.failures} failures, ${stats.rejections} rejections`
  )
  return { outcomes, gatewayCalls: gateway.calls, stats }
}).pipe(Effect.scoped)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Effect.runPromise(main)
}
