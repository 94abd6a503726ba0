import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { afterEach } from "vitest"
import { InvalidConfigError } from "../src/Errors.js"
import * as IntegrationPatterns from "../src/IntegrationPatterns.js"
import type { PatternHealth } from "../src/IntegrationPatterns.js"
import { globalRegistry } from "../src/internal/registry.js"
import { IntegrationPatterns as Facade } from "../src/promise/IntegrationPatterns.js"

// A stand-in for a pattern instance whose stats and health the test flips.
const fake = (kind: IntegrationPatterns.PatternInstance["kind"], name: string) => {
  const state = {
    stats: { calls: 0 } as Record<string, unknown>,
    health: { status: "healthy", reasons: [] } as PatternHealth
  }
  const instance: IntegrationPatterns.PatternInstance = {
    kind,
    name,
    stats: () => state.stats,
    health: () => state.health
  }
  return { state, instance }
}

const isolated = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.scoped(self).pipe(Effect.provide(IntegrationPatterns.layerRegistry))

describe("IntegrationPatterns.layer", () => {
  it.effect("provides the given settings and keeps the others in force", () =>
    Effect.gen(function*() {
      const settings = yield* IntegrationPatterns.settings
      expect(settings.retryAttempts).toBe(7)
      expect(Duration.toMillis(settings.defaultTimeout)).toBe(2000)
      expect(settings.enableMetrics).toBe(false)
      expect(settings.circuitBreakerThreshold).toBe(IntegrationPatterns.defaultSettings.circuitBreakerThreshold)
      expect(settings.enableHealthChecks).toBe(true)
    }).pipe(
      Effect.provide(
        IntegrationPatterns.layer({ retryAttempts: 7, defaultTimeout: "2 seconds", enableMetrics: false })
      )
    ))

  it.effect("lays an inner Layer over an outer one", () =>
    Effect.gen(function*() {
      const settings = yield* IntegrationPatterns.settings
      expect(settings.retryAttempts).toBe(2)
      expect(settings.circuitBreakerThreshold).toBe(9)
    }).pipe(
      Effect.provide(IntegrationPatterns.configure({ retryAttempts: 2 })),
      Effect.provide(IntegrationPatterns.configure({ retryAttempts: 4, circuitBreakerThreshold: 9 }))
    ))

  it.effect("without a Layer, the process-wide defaults apply", () =>
    Effect.gen(function*() {
      expect(yield* IntegrationPatterns.settings).toEqual(IntegrationPatterns.defaultSettings)
    }))

  it.effect("fails with InvalidConfigError listing every bad option", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(
          IntegrationPatterns.layer({
            retryAttempts: 0,
            defaultTimeout: -5,
            circuitBreakerThreshold: 2.5,
            rateLimiterDegradedRatio: 1.5,
            ...({ enableMetric: true } as object)
          })
        ).pipe(Effect.scoped)
      )
      expect(error).toBeInstanceOf(InvalidConfigError)
      expect(error.issues.map((issue) => issue.path).sort()).toEqual([
        "circuitBreakerThreshold",
        "defaultTimeout",
        "enableMetric",
        "rateLimiterDegradedRatio",
        "retryAttempts"
      ])
      expect(error.message).toContain("retryAttempts: expected an integer greater than 0, got 0")
      expect(error.message).toContain("enableMetric: is not a known option")
    }))

  it.effect("patterns registering under enableHealthChecks: false stay out of the registry", () =>
    isolated(Effect.gen(function*() {
      yield* IntegrationPatterns.register(fake("Bulkhead", "quiet").instance)
      expect(yield* IntegrationPatterns.instances).toEqual([])
    })).pipe(Effect.provide(IntegrationPatterns.layer({ enableHealthChecks: false }))))
})

describe("IntegrationPatterns.getMetrics", () => {
  it.effect("lists kind, name and stats of every registered instance at Clock time", () =>
    isolated(Effect.gen(function*() {
      const a = fake("CircuitBreaker", "payments")
      const b = fake("Bulkhead", "db")
      a.state.stats = { state: "Closed", failures: 2 }
      b.state.stats = { active: 3, queued: 1 }
      yield* IntegrationPatterns.register(a.instance)
      yield* IntegrationPatterns.register(b.instance)
      yield* TestClock.adjust("1500 millis")
      const snapshot = yield* IntegrationPatterns.getMetrics
      expect(snapshot).toEqual({
        timestamp: 1500,
        patterns: [
          { kind: "CircuitBreaker", name: "payments", stats: { state: "Closed", failures: 2 } },
          { kind: "Bulkhead", name: "db", stats: { active: 3, queued: 1 } }
        ]
      })
      b.state.stats = { active: 0, queued: 0 }
      expect((yield* IntegrationPatterns.getMetrics).patterns[1]!.stats).toEqual({ active: 0, queued: 0 })
    })))

  it.effect("drops an instance once its scope closes", () =>
    isolated(Effect.gen(function*() {
      yield* Effect.scoped(IntegrationPatterns.register(fake("Retry", "short-lived").instance))
      yield* IntegrationPatterns.register(fake("Retry", "kept").instance)
      expect((yield* IntegrationPatterns.getMetrics).patterns.map((p) => p.name)).toEqual(["kept"])
    })))

  it.effect("reports an instance whose stats throw instead of failing", () =>
    isolated(Effect.gen(function*() {
      yield* IntegrationPatterns.register({
        ...fake("Timeout", "broken").instance,
        stats: () => {
          throw new Error("boom")
        }
      })
      expect((yield* IntegrationPatterns.getMetrics).patterns[0]!.stats).toEqual({ error: "stats() threw: boom" })
    })))
})

describe("IntegrationPatterns.getHealth", () => {
  it.effect("is healthy with no instance registered", () =>
    isolated(Effect.gen(function*() {
      expect(yield* IntegrationPatterns.getHealth).toEqual({
        status: "healthy",
        reasons: [],
        patterns: [],
        timestamp: 0
      })
    })))

  it.effect("takes the worst status of all instances, with their reasons worst first", () =>
    isolated(Effect.gen(function*() {
      const breaker = fake("CircuitBreaker", "inventory")
      const bulkhead = fake("Bulkhead", "db")
      const retry = fake("Retry", "http")
      for (const f of [breaker, bulkhead, retry]) yield* IntegrationPatterns.register(f.instance)

      expect((yield* IntegrationPatterns.getHealth).status).toBe("healthy")

      bulkhead.state.health = { status: "degraded", reasons: ["saturated: 10 of 10 running, 5 queued"] }
      const degraded = yield* IntegrationPatterns.getHealth
      expect(degraded.status).toBe("degraded")
      expect(degraded.reasons).toEqual(["Bulkhead \"db\": saturated: 10 of 10 running, 5 queued"])

      breaker.state.health = { status: "unhealthy", reasons: ["open since 12:00"] }
      const unhealthy = yield* IntegrationPatterns.getHealth
      expect(unhealthy.status).toBe("unhealthy")
      expect(unhealthy.reasons).toEqual([
        "CircuitBreaker \"inventory\": open since 12:00",
        "Bulkhead \"db\": saturated: 10 of 10 running, 5 queued"
      ])
      expect(unhealthy.patterns).toEqual([
        { kind: "CircuitBreaker", name: "inventory", status: "unhealthy", reasons: ["open since 12:00"] },
        { kind: "Bulkhead", name: "db", status: "degraded", reasons: ["saturated: 10 of 10 running, 5 queued"] },
        { kind: "Retry", name: "http", status: "healthy", reasons: [] }
      ])

      breaker.state.health = { status: "healthy", reasons: [] }
      bulkhead.state.health = { status: "healthy", reasons: [] }
      expect((yield* IntegrationPatterns.getHealth).status).toBe("healthy")
    })))

  it.effect("treats an instance whose health throws as unhealthy", () =>
    isolated(Effect.gen(function*() {
      yield* IntegrationPatterns.register({
        ...fake("Saga", "orders").instance,
        health: () => {
          throw new Error("store unreachable")
        }
      })
      const report = yield* IntegrationPatterns.getHealth
      expect(report.status).toBe("unhealthy")
      expect(report.reasons).toEqual(["Saga \"orders\": health() threw: store unreachable"])
    })))

  it.effect("holds a limiter that reports healthy to the rejection-share rule", () =>
    isolated(Effect.gen(function*() {
      const limiter = fake("RateLimiter", "api")
      yield* IntegrationPatterns.register(limiter.instance)

      limiter.state.stats = { allowed: 40, rejected: 60 }
      const report = yield* IntegrationPatterns.getHealth
      expect(report.status).toBe("degraded")
      expect(report.reasons).toEqual(["RateLimiter \"api\": rejecting 60% of requests (more than 50%)"])

      limiter.state.stats = { allowed: 60, rejected: 40 }
      expect((yield* IntegrationPatterns.getHealth).status).toBe("healthy")

      // too few decisions to judge
      limiter.state.stats = { allowed: 1, rejected: 5 }
      expect((yield* IntegrationPatterns.getHealth).status).toBe("healthy")

      // the limiter's own verdict wins when it is not healthy
      limiter.state.stats = { allowed: 0, rejected: 100 }
      limiter.state.health = { status: "unhealthy", reasons: ["store down"] }
      expect((yield* IntegrationPatterns.getHealth).reasons).toEqual(["RateLimiter \"api\": store down"])
    })))

  it.effect("uses the configured rejection share", () =>
    isolated(Effect.gen(function*() {
      const limiter = fake("RateLimiter", "api")
      limiter.state.stats = { allowed: 80, rejected: 20 }
      yield* IntegrationPatterns.register(limiter.instance)
      expect((yield* IntegrationPatterns.getHealth).status).toBe("degraded")
    })).pipe(Effect.provide(IntegrationPatterns.layer({ rateLimiterDegradedRatio: 0.1 }))))

  it("rateLimiterHealth draws the line at the ratio, exclusive", () => {
    expect(IntegrationPatterns.rateLimiterHealth({ allowed: 50, rejected: 50 }).status).toBe("healthy")
    expect(IntegrationPatterns.rateLimiterHealth({ allowed: 49, rejected: 51 }).status).toBe("degraded")
    expect(IntegrationPatterns.rateLimiterHealth({ allowed: 9, rejected: 1 }, 0).status).toBe("degraded")
    expect(IntegrationPatterns.rateLimiterHealth({ allowed: 8, rejected: 1 }, 0).status).toBe("healthy")
  })
})

describe("IntegrationPatterns (Promise facade)", () => {
  afterEach(() => {
    IntegrationPatterns.processSettings.current = IntegrationPatterns.defaultSettings
  })

  it("configure changes the process-wide settings that the Effect API reads too", () => {
    const settings = Facade.configure({ retryAttempts: 6, defaultTimeout: 1500 })
    expect(settings.retryAttempts).toBe(6)
    expect(Duration.toMillis(settings.defaultTimeout)).toBe(1500)
    expect(Facade.settings).toBe(settings)
    Facade.configure({ circuitBreakerThreshold: 3 })
    const seen = Effect.runSync(IntegrationPatterns.settings)
    expect(seen.retryAttempts).toBe(6)
    expect(seen.circuitBreakerThreshold).toBe(3)
  })

  it("configure throws InvalidConfigError synchronously and changes nothing", () => {
    let thrown: unknown
    try {
      Facade.configure({ retryAttempts: 5, enableMetrics: "yes" as unknown as boolean })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(InvalidConfigError)
    expect((thrown as InvalidConfigError).issues).toEqual([{ path: "enableMetrics", message: "Expected boolean, actual \"yes\"" }])
    expect(Facade.settings).toBe(IntegrationPatterns.defaultSettings)
  })

  it("getMetrics and getHealth cover facade instances held weakly in the global registry", () => {
    const breaker = { state: "Closed" as "Closed" | "Open", failures: 0 }
    const unregister = globalRegistry.registerWeak(
      breaker,
      "CircuitBreaker",
      "facade-breaker",
      {
        stats: (b) => ({ state: b.state, failures: b.failures }),
        health: (b) => b.state === "Open" ? { status: "unhealthy", reasons: ["open"] } : { status: "healthy", reasons: [] }
      }
    )
    try {
      const mine = (report: { patterns: ReadonlyArray<{ name: string }> }) =>
        report.patterns.filter((p) => p.name === "facade-breaker")
      expect(mine(Facade.getMetrics())).toEqual([
        { kind: "CircuitBreaker", name: "facade-breaker", stats: { state: "Closed", failures: 0 } }
      ])
      expect(Facade.getHealth().status).toBe("healthy")
      breaker.state = "Open"
      breaker.failures = 5
      const health = Facade.getHealth()
      expect(health.status).toBe("unhealthy")
      expect(health.reasons).toContain("CircuitBreaker \"facade-breaker\": open")
      expect(mine(Facade.getMetrics())[0]).toMatchObject({ stats: { state: "Open", failures: 5 } })
      expect(Facade.getMetrics().timestamp).toBeGreaterThan(0)
    } finally {
      unregister()
    }
    expect(Facade.getMetrics().patterns.some((p) => p.name === "facade-breaker")).toBe(false)
  })

  it("getHealth applies the configured rejection share to facade limiters", () => {
    const limiter = { allowed: 70, rejected: 30 }
    const unregister = globalRegistry.registerWeak(limiter, "RateLimiter", "l", {
      stats: (l) => ({ ...l }),
      health: () => ({ status: "healthy", reasons: [] })
    })
    try {
      expect(Facade.getHealth().status).toBe("healthy")
      Facade.configure({ rateLimiterDegradedRatio: 0.25 })
      expect(Facade.getHealth().status).toBe("degraded")
    } finally {
      unregister()
    }
  })

  it("Effect-API instances in the default registry show in the facade's view", async () => {
    const { instance, state } = fake("Bulkhead", "shared-view")
    state.health = { status: "degraded", reasons: ["saturated"] }
    const seen = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      yield* IntegrationPatterns.register(instance)
      return Facade.getHealth()
    })))
    expect(seen.status).toBe("degraded")
    expect(seen.reasons).toEqual(["Bulkhead \"shared-view\": saturated"])
    expect(Facade.getHealth().status).toBe("healthy")
  })
})
