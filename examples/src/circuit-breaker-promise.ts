// A circuit breaker with the Promise API, in front of a payment gateway that goes down
// and comes back. Run: node --conditions=source --import tsx examples/src/circuit-breaker-promise.ts
import { CircuitBreaker, CircuitBreakerOpenError } from "@integration-patterns/core/promise"
import { setTimeout as sleep } from "node:timers/promises"
import { pathToFileURL } from "node:url"

export const main = async () => {
  const gateway = { down: true, calls: 0 }
  const charge = async (amount: number): Promise<string> => {
    gateway.calls++
    if (gateway.down) throw new Error("the gateway is down")
    return `charged ${amount}`
  }

  // One breaker per dependency, shared by every call to it.
  const breaker = new CircuitBreaker({ name: "payments", failureThreshold: 3, recoveryTimeout: 200 })
  const transitions: Array<string> = []
  const stop = breaker.onStateChange((change) => transitions.push(`${change.from} -> ${change.to} (${change.reason})`))

  const pay = async (amount: number): Promise<string> => {
    try {
      return await breaker.execute(() => charge(amount))
    } catch (error) {
      if (error instanceof CircuitBreakerOpenError) return `rejected, retry in ${error.retryAfter} ms`
      return `failed: ${(error as Error).message}`
    }
  }

  // Three failures in a row open the breaker; the next calls fail fast.
  for (const amount of [10, 20, 30, 40, 50]) console.log(`pay ${amount}: ${await pay(amount)}`)

  // The gateway recovers. After the recovery timeout, one probe call goes through and closes the breaker.
  gateway.down = false
  await sleep(200)
  for (const amount of [60, 70]) console.log(`pay ${amount}: ${await pay(amount)}`)

  stop()
  console.log(`transitions: ${transitions.join(", ")}`)
  console.log(`gateway called ${gateway.calls} times for 7 payments; breaker ${breaker.getState()}`)
  return { transitions, gatewayCalls: gateway.calls, stats: breaker.getStats() }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main()
}
