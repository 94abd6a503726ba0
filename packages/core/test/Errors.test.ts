import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Errors from "../src/Errors.js"

describe("Errors", () => {
  it("names each error after its class and gives a readable message", () => {
    const error = new Errors.TimeoutError({ timeout: "inventory", duration: 5000, phase: "Operation" })
    expect(error.name).toBe("TimeoutError")
    expect(error._tag).toBe("TimeoutError")
    expect(error).toBeInstanceOf(Error)
    expect(error.message).toBe("Timeout \"inventory\": operation took longer than 5 s")
  })

  it("round-trips every error through JSON with the union schema", () => {
    const samples: ReadonlyArray<Errors.IntegrationPatternsError> = [
      new Errors.CircuitBreakerOpenError({ breaker: "db", state: "Open", retryAfter: 1500 }),
      new Errors.RetryExhaustedError({
        retry: "r",
        attempts: 3,
        totalDelay: 300,
        reason: "MaxAttempts",
        cause: { _tag: "Boom" }
      }),
      new Errors.TimeoutError({ timeout: "t", duration: 10, phase: "GracePeriod" }),
      new Errors.BulkheadRejectedError({ bulkhead: "b", reason: "QueueFull", maxConcurrent: 1, queueSize: 0 }),
      new Errors.RateLimitExceededError({ limiter: "l", key: "user-1", retryAfter: 100, limit: 10 }),
      new Errors.InvalidConfigError({ pattern: "Retry", issues: [{ path: "maxAttempts", message: "bad" }] }),
      new Errors.CacheLoadError({ cache: "c", key: "k", cause: "x" }),
      new Errors.SagaStepError({ saga: "s", sagaId: "1", step: "a", compensated: [], cause: null }),
      new Errors.SagaCompensationError({ saga: "s", sagaId: "1", compensated: ["b"], notCompensated: ["a"], cause: 1 }),
      new Errors.RequestError({ requestId: "1", type: "t", reason: "NoHandler", detail: "none" }),
      new Errors.PersistenceError({ store: "redis", reason: "Decode", detail: "bad json" })
    ]
    const encode = Schema.encodeSync(Errors.IntegrationPatternsError)
    const decode = Schema.decodeUnknownSync(Errors.IntegrationPatternsError)
    for (const error of samples) {
      const json = JSON.parse(JSON.stringify(encode(error)))
      const back = decode(json)
      expect(back).toBeInstanceOf(error.constructor)
      expect(back._tag).toBe(error._tag)
      expect(back.message).toBe(error.message)
      expect(Errors.isIntegrationPatternsError(back)).toBe(true)
    }
  })

  it("recognises only the toolkit's own errors", () => {
    expect(Errors.isIntegrationPatternsError(new Errors.CacheLoadError({ cache: "c", key: "k", cause: 1 }))).toBe(true)
    expect(Errors.isIntegrationPatternsError({ _tag: "TimeoutError" })).toBe(false)
    expect(Errors.isIntegrationPatternsError(new Error("TimeoutError"))).toBe(false)
    expect(Errors.isIntegrationPatternsError(undefined)).toBe(false)
  })

  it.effect("is a typed failure that catchTag can handle", () =>
    Effect.gen(function*() {
      const result = yield* new Errors.RateLimitExceededError({ limiter: "l", key: "k", retryAfter: 5, limit: 1 }).pipe(
        Effect.catchTag("RateLimitExceededError", (e) => Effect.succeed(e.retryAfter))
      )
      expect(result).toBe(5)
    }))
})
