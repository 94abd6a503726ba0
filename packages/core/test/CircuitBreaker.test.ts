import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { pipe } from "effect/Function"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { CircuitBreakerOpenError, InvalidConfigError, PersistenceError } from "../src/Errors.js"
import * as IntegrationPatterns from "../src/IntegrationPatterns.js"
import { Registry } from "../src/internal/registry.js"
import * as Metrics from "../src/Metrics.js"
import * as PatternEvents from "../src/PatternEvents.js"

class Boom extends Data.TaggedError("Boom")<{ readonly code?: number }> {}
class NotFound extends Data.TaggedError("NotFound") {}

const boom = Effect.fail(new Boom({}))

/** Runs `n` failing calls one after the other and returns their results. */
const failTimes = (breaker: CircuitBreaker.CircuitBreaker<Boom>, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.either(breaker.execute(boom)))

let uniqueName = 0
const freshName = (prefix: string) => `${prefix}-${++uniqueName}`

/** Collects every event published on a private bus while `body` runs. */
const withEvents = <A, E>(
  body: (events: () => Effect.Effect<ReadonlyArray<PatternEvents.PatternEvent>>) => Effect.Effect<A, E, Scope.Scope>
) =>
  Effect.gen(function*() {
    const bus = yield* PatternEvents.make()
    const queue = yield* bus.subscribe
    const taken: Array<PatternEvents.PatternEvent> = []
    const events = () =>
      Effect.map(Queue.takeAll(queue), (chunk) => {
        taken.push(...Chunk.toReadonlyArray(chunk))
        return taken
      })
    return yield* body(events).pipe(Effect.provideService(PatternEvents.PatternEvents, bus))
  })

const tagged = (events: ReadonlyArray<PatternEvents.PatternEvent>, tag: string) =>
  events.filter((e) => e._tag === tag) as ReadonlyArray<CircuitBreaker.CircuitBreakerEvent>

describe("CircuitBreaker", () => {
  describe("tripping", () => {
    it.scoped("opens after 5 consecutive failures and then rejects without running the effect", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: freshName("five") })
        const runs = yield* Ref.make(0)
        const call = breaker.execute(Effect.zipRight(Ref.update(runs, (n) => n + 1), boom))
        for (let i = 0; i < 5; i++) expect((yield* Effect.flip(call))._tag).toBe("Boom")
        expect(yield* breaker.state).toBe("Open")
        const rejected = yield* Effect.flip(call)
        expect(rejected).toBeInstanceOf(CircuitBreakerOpenError)
        expect(rejected).toMatchObject({ _tag: "CircuitBreakerOpenError", state: "Open", retryAfter: 60_000 })
        expect(yield* Ref.get(runs)).toBe(5)
      }))

    it.scoped("takes its default failureThreshold from IntegrationPatterns settings", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: freshName("settings") }).pipe(
          Effect.provideService(IntegrationPatterns.GlobalConfig, {
            get: () => ({ ...IntegrationPatterns.defaultSettings, circuitBreakerThreshold: 2 })
          })
        )
        yield* failTimes(breaker, 2)
        expect(yield* breaker.state).toBe("Open")
      }))

    it.scoped("keeps typed errors typed and defects as defects, counting both as failures", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: freshName("typed"), failureThreshold: 2 })
        const handled = yield* breaker.execute(boom).pipe(Effect.catchTag("Boom", () => Effect.succeed("handled")))
        expect(handled).toBe("handled")
        const died = yield* Effect.exit(breaker.execute(Effect.die("kaput")))
        expect(Exit.isFailure(died) && died.cause._tag === "Die").toBe(true)
        expect(yield* breaker.state).toBe("Open")
        const rejected = yield* breaker.execute(Effect.succeed(1)).pipe(
          Effect.catchTag("CircuitBreakerOpenError", (e) => Effect.succeed(e.retryAfter))
        )
        expect(rejected).toBe(60_000)
      }))

    it.scoped("forgets failures that left the monitoring window", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          name: freshName("window"),
          failureThreshold: 100,
          monitoringWindow: "10 seconds",
          minimumThroughput: 4
        })
        yield* failTimes(breaker, 3)
        yield* TestClock.adjust("10 seconds")
        yield* failTimes(breaker, 1)
        expect(yield* breaker.state).toBe("Closed")
        yield* TestClock.adjust("5 seconds")
        yield* failTimes(breaker, 2)
        expect(yield* breaker.state).toBe("Closed")
        yield* failTimes(breaker, 1)
        expect(yield* breaker.state).toBe("Open")
      }))

    it.scoped("opens on the failure ratio over the last N calls", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          name: freshName("ratio"),
          failureThreshold: 100,
          slidingWindowSize: 4,
          failureRateThreshold: 0.75
        })
        for (const outcome of ["f", "s", "f", "s", "f", "s", "f"]) {
          yield* Effect.either(breaker.execute(outcome === "f" ? boom : Effect.void))
        }
        expect(yield* breaker.state).toBe("Closed")
        yield* failTimes(breaker, 1)
        expect(yield* breaker.state).toBe("Open")
      }))

    it.scoped("opens on slow calls, timed with the Clock", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          name: freshName("slow"),
          slowCallDuration: "1 second",
          slowCallRateThreshold: 0.5,
          slidingWindowSize: 4
        })
        const slow = breaker.execute(Effect.as(Effect.sleep("1500 millis"), "slow"))
        const fast = breaker.execute(Effect.succeed("fast"))
        yield* fast
        yield* fast
        const first = yield* Effect.fork(slow)
        yield* TestClock.adjust("1500 millis")
        expect(yield* Fiber.join(first)).toBe("slow")
        expect(yield* breaker.state).toBe("Closed")
        const second = yield* Effect.fork(slow)
        yield* TestClock.adjust("1500 millis")
        yield* Fiber.join(second)
        expect(yield* breaker.state).toBe("Open")
        const stats = yield* breaker.stats
        expect(stats).toMatchObject({ slowCalls: 2, successes: 4, failures: 0 })
      }))
  })

  describe("recovery", () => {
    it.scoped("lets a probe through once the recovery timeout has passed", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: freshName("recover"), recoveryTimeout: "30 seconds" })
        yield* failTimes(breaker, 5)
        yield* TestClock.adjust("29999 millis")
        expect(yield* Effect.flip(breaker.execute(Effect.succeed(1)))).toMatchObject({ retryAfter: 1 })
        yield* TestClock.adjust("1 millis")
        expect(yield* breaker.execute(Effect.succeed(1))).toBe(1)
        expect(yield* breaker.state).toBe("Closed")
      }))

    it.scoped("grows the open duration with a Schedule and starts over once closed", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          name: freshName("schedule"),
          recoveryTimeout: Schedule.exponential("1 second")
        })
        const retryAfter = Effect.map(Effect.flip(breaker.execute(Effect.void)), (e) => e.retryAfter)
        yield* failTimes(breaker, 5)
        expect(yield* retryAfter).toBe(1_000)
        yield* TestClock.adjust("1 second")
        yield* failTimes(breaker, 1)
        expect(yield* retryAfter).toBe(2_000)
        yield* TestClock.adjust("2 seconds")
        yield* failTimes(breaker, 1)
        expect(yield* retryAfter).toBe(4_000)
        yield* TestClock.adjust("4 seconds")
        yield* breaker.execute(Effect.void)
        expect(yield* breaker.state).toBe("Closed")
        yield* failTimes(breaker, 5)
        expect(yield* retryAfter).toBe(1_000)
      }))

    it.scoped("lets N probes through and rejects every other caller at once while they run", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          name: freshName("probes"),
          recoveryTimeout: "1 second",
          halfOpenMaxCalls: 2,
          successThreshold: 2
        })
        yield* failTimes(breaker, 5)
        yield* TestClock.adjust("1 second")
        const probe = breaker.execute(Effect.as(Effect.sleep("100 millis"), "probe"))
        const first = yield* Effect.fork(probe)
        const second = yield* Effect.fork(probe)
        yield* Effect.yieldNow()
        const rejected = yield* Effect.flip(breaker.execute(Effect.succeed("herd")))
        expect(rejected).toMatchObject({ state: "HalfOpen", retryAfter: 0 })
        yield* TestClock.adjust("100 millis")
        expect(yield* Fiber.join(Fiber.zip(first, second))).toEqual(["probe", "probe"])
        expect(yield* breaker.state).toBe("Closed")
      }))
  })

  describe("races", () => {
    it.scoped("does not let a slow call that started before the breaker opened close it (opossum #381)", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: freshName("381"), recoveryTimeout: "60 seconds" })
        const slow = yield* Effect.fork(breaker.execute(Effect.as(Effect.sleep("61 seconds"), "late")))
        yield* Effect.yieldNow()
        yield* failTimes(breaker, 5)
        expect(yield* breaker.state).toBe("Open")
        yield* TestClock.adjust("60 seconds")
        const probe = yield* Effect.fork(breaker.execute(Effect.zipRight(Effect.sleep("5 seconds"), boom)))
        yield* Effect.yieldNow()
        expect(yield* breaker.state).toBe("HalfOpen")
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(slow)).toBe("late")
        expect(yield* breaker.state).toBe("HalfOpen")
        yield* TestClock.adjust("4 seconds")
        yield* Fiber.await(probe)
        expect(yield* breaker.state).toBe("Open")
      }))

    it.scoped("opens exactly once, with one StateChanged event, when many calls fail together (opossum #385)", () =>
      withEvents((events) =>
        Effect.gen(function*() {
          const name = freshName("385")
          const breaker = yield* CircuitBreaker.make({ name })
          const failLater = Effect.either(breaker.execute(Effect.zipRight(Effect.sleep("1 second"), boom)))
          const calls = yield* Effect.fork(
            Effect.all(Array.from({ length: 50 }, () => failLater), { concurrency: "unbounded" })
          )
          yield* Effect.yieldNow()
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(calls)
          const changes = tagged(yield* events(), "StateChanged")
          expect(changes).toHaveLength(1)
          expect(changes[0]).toMatchObject({ from: "Closed", to: "Open", reason: "ConsecutiveFailures", name })
          const transitions = yield* Metric.value(
            Metrics.circuitBreakerTransitions.pipe(
              Metric.taggedWithLabels(new Metrics.PatternMetrics("CircuitBreaker", name).outcome("open"))
            )
          )
          expect(transitions.count).toBe(1)
          expect((yield* breaker.stats).failures).toBe(50)
        })
      ))

    it.scoped("frees the probe's slot when the probe is interrupted, so it never stays half-open", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: freshName("interrupt"), recoveryTimeout: "1 second" })
        yield* failTimes(breaker, 5)
        yield* TestClock.adjust("1 second")
        const probe = yield* Effect.fork(breaker.execute(Effect.never))
        yield* Effect.yieldNow()
        expect(yield* breaker.state).toBe("HalfOpen")
        expect(Either.isLeft(yield* Effect.either(breaker.execute(Effect.void)))).toBe(true)
        yield* Fiber.interrupt(probe)
        expect(yield* breaker.execute(Effect.succeed("next probe"))).toBe("next probe")
        expect(yield* breaker.state).toBe("Closed")
      }))

    it.scoped("frees the slot when an outer timeout interrupts the probe, and reopens when an inner one fails it", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: freshName("timeout"), recoveryTimeout: "1 second" })
        yield* failTimes(breaker, 5)
        yield* TestClock.adjust("1 second")
        const outer = yield* Effect.fork(breaker.execute(Effect.never).pipe(Effect.timeout("5 seconds")))
        yield* TestClock.adjust("5 seconds")
        expect((yield* Effect.flip(Fiber.join(outer)))._tag).toBe("TimeoutException")
        expect(yield* breaker.state).toBe("HalfOpen")
        const inner = yield* Effect.fork(breaker.execute(Effect.never.pipe(Effect.timeout("5 seconds"))))
        yield* TestClock.adjust("5 seconds")
        expect((yield* Effect.flip(Fiber.join(inner)))._tag).toBe("TimeoutException")
        expect(yield* breaker.state).toBe("Open")
      }))

    it.scoped("reopens when a probe hangs longer than maxHalfOpenDuration", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          name: freshName("hung"),
          recoveryTimeout: "1 second",
          maxHalfOpenDuration: "10 seconds"
        })
        yield* failTimes(breaker, 5)
        yield* TestClock.adjust("1 second")
        yield* Effect.fork(breaker.execute(Effect.never))
        yield* Effect.yieldNow()
        yield* TestClock.adjust("10 seconds")
        expect(yield* Effect.flip(breaker.execute(Effect.void))).toMatchObject({ state: "Open", retryAfter: 1_000 })
        yield* TestClock.adjust("1 second")
        expect(yield* breaker.execute(Effect.succeed("probe"))).toBe("probe")
        expect(yield* breaker.state).toBe("Closed")
      }))
  })

  describe("outcomes", () => {
    it.scoped("counts ignored errors and interruptions as neither success nor failure", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make<Boom | NotFound>({
          name: freshName("ignore"),
          failureThreshold: 2,
          ignore: (e) => e._tag === "NotFound"
        })
        yield* failTimes(breaker, 1)
        yield* Effect.either(breaker.execute(Effect.fail(new NotFound())))
        const interrupted = yield* Effect.fork(breaker.execute(Effect.never))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(interrupted)
        expect(yield* breaker.state).toBe("Closed")
        yield* failTimes(breaker, 1)
        expect(yield* breaker.state).toBe("Open")
        expect(yield* breaker.stats).toMatchObject({ calls: 3, failures: 2, successes: 0, ignored: 1 })
      }))

    it.scoped("counts errors that are not failures as successes", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make<Boom>({
          name: freshName("isFailure"),
          failureThreshold: 2,
          isFailure: (e) => e.code !== 404
        })
        for (let i = 0; i < 3; i++) {
          yield* Effect.either(breaker.execute(Effect.fail(new Boom({ code: 500 }))))
          yield* Effect.either(breaker.execute(Effect.fail(new Boom({ code: 404 }))))
        }
        expect(yield* breaker.state).toBe("Closed")
        expect(yield* breaker.stats).toMatchObject({ failures: 3, successes: 3, failureRatio: 0.5 })
      }))

    it.scoped("counts success values that isResultFailure marks as failures", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make<never, { readonly status: number }>({
          name: freshName("result"),
          failureThreshold: 2,
          isResultFailure: (response) => response.status >= 500
        })
        expect(yield* breaker.execute(Effect.succeed({ status: 503 }))).toEqual({ status: 503 })
        yield* breaker.execute(Effect.succeed({ status: 503 }))
        expect(yield* breaker.state).toBe("Open")
      }))
  })

  describe("manual control", () => {
    it.scoped("isolates, resets, disables and runs in metrics-only mode", () =>
      withEvents((events) =>
        Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make({ name: freshName("manual"), failureThreshold: 2 })
          yield* breaker.isolate
          expect(yield* Effect.flip(breaker.execute(Effect.void))).toMatchObject({ state: "Isolated", retryAfter: 0 })
          yield* TestClock.adjust("1 hour")
          expect(yield* breaker.state).toBe("Isolated")
          yield* breaker.reset
          yield* breaker.disable
          yield* failTimes(breaker, 10)
          expect(yield* breaker.state).toBe("Disabled")
          yield* breaker.metricsOnly
          const results = yield* failTimes(breaker, 5)
          expect(results.every((r) => Either.isLeft(r) && r.left._tag === "Boom")).toBe(true)
          expect(yield* breaker.state).toBe("MetricsOnly")
          expect((yield* breaker.stats).shadowTrips).toBe(2)
          expect(tagged(yield* events(), "WouldHaveOpened")).toHaveLength(2)
          expect(tagged(yield* events(), "StateChanged").map((e) => e._tag === "StateChanged" && e.to)).toEqual([
            "Isolated",
            "Closed",
            "Disabled",
            "MetricsOnly"
          ])
        })
      ))
  })

  describe("monitoring", () => {
    it.scoped("streams every change of state, in order", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: freshName("changes"), recoveryTimeout: "1 second" })
        const seen = yield* Effect.fork(Stream.runCollect(Stream.take(breaker.changes, 4)))
        yield* Effect.yieldNow()
        yield* failTimes(breaker, 5)
        yield* TestClock.adjust("1 second")
        yield* breaker.execute(Effect.void)
        expect(Chunk.toReadonlyArray(yield* Fiber.join(seen))).toEqual(["Closed", "Open", "HalfOpen", "Closed"])
      }))

    it.scoped("publishes call and state events with durations from the Clock", () =>
      withEvents((events) =>
        Effect.gen(function*() {
          const name = freshName("events")
          const breaker = yield* CircuitBreaker.make({ name, failureThreshold: 1, recoveryTimeout: "5 seconds" })
          const ok = yield* Effect.fork(breaker.execute(Effect.sleep("250 millis")))
          yield* TestClock.adjust("250 millis")
          yield* Fiber.join(ok)
          const bad = yield* Effect.fork(breaker.execute(Effect.zipRight(Effect.sleep("100 millis"), boom)))
          yield* TestClock.adjust("100 millis")
          yield* Fiber.await(bad)
          yield* TestClock.adjust("1 second")
          yield* Effect.either(breaker.execute(Effect.void))
          const all = yield* events()
          expect(all.map((e) => e._tag)).toEqual(["CallSucceeded", "CallFailed", "StateChanged", "CallRejected"])
          expect(all[0]).toMatchObject({ pattern: "CircuitBreaker", name, duration: 250, timestamp: 250 })
          expect(all[1]).toMatchObject({ duration: 100, error: new Boom({}) })
          expect(all[2]).toMatchObject({ from: "Closed", to: "Open", retryAfter: 5_000, timestamp: 350 })
          expect(all[3]).toMatchObject({ state: "Open", retryAfter: 4_000 })
        })
      ))

    it.scoped("without metrics or listeners, skips the clock on success but times the trip", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          name: freshName("untimed"),
          failureThreshold: 2,
          recoveryTimeout: "5 seconds"
        }).pipe(Effect.provide(IntegrationPatterns.layer({ enableMetrics: false })))
        yield* breaker.execute(Effect.void)
        yield* TestClock.adjust("3 seconds")
        yield* failTimes(breaker, 2)
        expect(yield* Effect.flip(breaker.execute(Effect.void))).toMatchObject({ state: "Open", retryAfter: 5_000 })
        expect(yield* breaker.stats).toMatchObject({ successes: 1, failures: 2, lastTransitionAt: 3_000 })
        yield* TestClock.adjust("5 seconds")
        yield* breaker.execute(Effect.void)
        expect(yield* breaker.state).toBe("Closed")
      }))

    it.scoped("reports a duration of 0 for an untimed call that ends after someone starts listening", () =>
      Effect.gen(function*() {
        const bus = yield* PatternEvents.make()
        const breaker = yield* CircuitBreaker.make({ name: freshName("late-listener") }).pipe(
          Effect.provide(IntegrationPatterns.layer({ enableMetrics: false })),
          Effect.provideService(PatternEvents.PatternEvents, bus)
        )
        const call = yield* Effect.fork(breaker.execute(Effect.sleep("100 millis")))
        yield* Effect.yieldNow()
        const queue = yield* bus.subscribe
        yield* TestClock.adjust("100 millis")
        yield* Fiber.join(call)
        expect(Chunk.toReadonlyArray(yield* Queue.takeAll(queue))).toMatchObject([
          { _tag: "CallSucceeded", duration: 0, timestamp: 100 }
        ])
      }))

    it.scoped("keeps stats: calls, successes, failures, slow calls, rejections, ratio, last transition", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          name: freshName("stats"),
          failureThreshold: 3,
          slowCallDuration: "1 second"
        })
        yield* breaker.execute(Effect.void)
        yield* TestClock.adjust("2 seconds")
        yield* failTimes(breaker, 3)
        yield* failTimes(breaker, 2)
        const stats = yield* breaker.stats
        expect(stats).toEqual({
          name: stats.name,
          state: "Open",
          calls: 4,
          successes: 1,
          failures: 3,
          ignored: 0,
          slowCalls: 0,
          rejections: 2,
          failureRatio: 0.75,
          lastTransitionAt: 2_000,
          consecutiveTrips: 1,
          shadowTrips: 0,
          retryAfter: 60_000
        })
      }))

    it.scoped("records the state gauge, transitions, calls, rejections and call durations", () =>
      Effect.gen(function*() {
        const name = freshName("metrics")
        const tags = new Metrics.PatternMetrics("CircuitBreaker", name)
        const breaker = yield* CircuitBreaker.make({ name, failureThreshold: 1 })
        const ok = yield* Effect.fork(breaker.execute(Effect.sleep("2 seconds")))
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(ok)
        yield* failTimes(breaker, 3)
        const value = <In, Out>(metric: Metric.Metric<any, In, Out>, labels: typeof tags.base) =>
          Metric.value(metric.pipe(Metric.taggedWithLabels(labels)))
        expect((yield* value(Metrics.circuitBreakerState, tags.base)).value).toBe(1)
        expect((yield* value(Metrics.circuitBreakerTransitions, tags.outcome("open"))).count).toBe(1)
        expect((yield* value(Metrics.calls, tags.outcome("success"))).count).toBe(1)
        expect((yield* value(Metrics.calls, tags.outcome("failure"))).count).toBe(1)
        expect((yield* value(Metrics.calls, tags.outcome("rejected"))).count).toBe(2)
        expect((yield* value(Metrics.rejections, tags.reason("open"))).count).toBe(2)
        const durations = yield* value(Metrics.callDuration, tags.base)
        expect(durations.count).toBe(2)
        expect(durations.max).toBe(2)
      }))

    it.scoped("reports open and isolated as unhealthy, half-open as degraded", () =>
      Effect.gen(function*() {
        const registry = new Registry()
        const name = freshName("health")
        const breaker = yield* CircuitBreaker.make({ name, recoveryTimeout: "1 second" }).pipe(
          Effect.provideService(IntegrationPatterns.PatternRegistry, registry)
        )
        const health = () => registry.list().find((i) => i.name === name)!.health().status
        expect(health()).toBe("healthy")
        yield* failTimes(breaker, 5)
        expect(health()).toBe("unhealthy")
        yield* TestClock.adjust("1 second")
        yield* Effect.fork(breaker.execute(Effect.never))
        yield* Effect.yieldNow()
        expect(health()).toBe("degraded")
        yield* breaker.isolate
        expect(health()).toBe("unhealthy")
        expect(registry.list().find((i) => i.name === name)!.stats()).toMatchObject({ state: "Isolated" })
      }))
  })

  describe("persistence", () => {
    it.scoped("restores a snapshot that went through JSON", () =>
      Effect.gen(function*() {
        const a = yield* CircuitBreaker.make({ name: freshName("json"), recoveryTimeout: "30 seconds" })
        yield* failTimes(a, 5)
        yield* TestClock.adjust("10 seconds")
        const json = JSON.parse(JSON.stringify(yield* a.snapshot)) as unknown
        const b = yield* CircuitBreaker.make({ name: freshName("json"), recoveryTimeout: "30 seconds" })
        yield* b.restore(json)
        expect(yield* Effect.flip(b.execute(Effect.void))).toMatchObject({ state: "Open", retryAfter: 20_000 })
      }))

    it.scoped("saves a half-open breaker as open and due, so the restored one probes at once", () =>
      Effect.gen(function*() {
        const a = yield* CircuitBreaker.make({ name: freshName("due"), recoveryTimeout: "1 second" })
        yield* failTimes(a, 5)
        yield* TestClock.adjust("1 second")
        yield* Effect.fork(a.execute(Effect.never))
        yield* Effect.yieldNow()
        expect(yield* a.state).toBe("HalfOpen")
        const saved = yield* a.snapshot
        expect(saved).toMatchObject({ state: "Open", openUntil: 1_000 })
        const b = yield* CircuitBreaker.make({ name: freshName("due"), recoveryTimeout: "1 second" })
        yield* b.restore(saved)
        expect(yield* b.execute(Effect.succeed("probe"))).toBe("probe")
        expect(yield* b.state).toBe("Closed")
      }))

    it.scoped("fails with PersistenceError, not a crash, on a snapshot that does not decode", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: freshName("garbage") })
        for (const garbage of [null, "open", { version: 1, state: "Sideways" }, { version: 2 }]) {
          const error = yield* Effect.flip(breaker.restore(garbage))
          expect(error).toBeInstanceOf(PersistenceError)
          expect(error.reason).toBe("Decode")
        }
        expect(yield* breaker.state).toBe("Closed")
      }))

    it.effect("survives a restart when the store does", () =>
      Effect.gen(function*() {
        const store = yield* CircuitBreaker.makeStoreMemory
        const name = freshName("restart")
        const run = <A, E>(body: (b: CircuitBreaker.CircuitBreaker) => Effect.Effect<A, E>) =>
          Effect.scoped(Effect.flatMap(CircuitBreaker.make({ name, recoveryTimeout: "30 seconds" }), body)).pipe(
            Effect.provideService(CircuitBreaker.CircuitBreakerStore, store)
          )
        yield* run((b) => failTimes(b, 5))
        yield* TestClock.adjust("5 seconds")
        const rejected = yield* run((b) => Effect.flip(b.execute(Effect.void)))
        expect(rejected).toMatchObject({ state: "Open", retryAfter: 25_000 })
        expect(Option.isSome(yield* store.load(name))).toBe(true)
      }))

    it.scoped("starts closed and logs a warning when the store holds a snapshot that does not decode", () =>
      Effect.gen(function*() {
        const store: CircuitBreaker.CircuitBreakerStore = {
          load: () => Effect.succeed(Option.some({ version: 1, state: "Open", openUntil: "soon" })),
          save: () => Effect.void
        }
        const breaker = yield* CircuitBreaker.make({ name: freshName("corrupt") }).pipe(
          Effect.provideService(CircuitBreaker.CircuitBreakerStore, store)
        )
        expect(yield* breaker.state).toBe("Closed")
        expect(yield* breaker.execute(Effect.succeed(1))).toBe(1)
      }))

    it.scoped("opens a closed breaker when another node opens, and never closes one on a signal", () =>
      Effect.gen(function*() {
        const store = yield* CircuitBreaker.makeStoreMemory
        const name = freshName("shared")
        const node = CircuitBreaker.make({ name, failureThreshold: 2 }).pipe(
          Effect.provideService(CircuitBreaker.CircuitBreakerStore, store)
        )
        const a = yield* node
        const b = yield* node
        const c = yield* node
        yield* c.isolate
        yield* failTimes(a, 2)
        yield* Stream.runDrain(Stream.take(Stream.filter(b.changes, (state) => state === "Open"), 1))
        expect(yield* b.state).toBe("Open")
        expect(yield* c.state).toBe("Isolated")
        yield* a.reset
        yield* Effect.yieldNow()
        expect(yield* b.state).toBe("Open")
        expect(yield* a.state).toBe("Closed")
      }))
  })

  describe("keyed breakers", () => {
    it.scoped("keeps one breaker per key", () =>
      Effect.gen(function*() {
        const keyed = yield* CircuitBreaker.makeKeyed({ name: freshName("hosts"), failureThreshold: 2 })
        for (let i = 0; i < 2; i++) yield* Effect.either(keyed.execute("a.example", boom))
        expect(yield* keyed.state("a.example")).toBe("Open")
        expect(yield* keyed.execute("b.example", Effect.succeed("b"))).toBe("b")
        expect(yield* Effect.flip(keyed.execute("a.example", Effect.void))).toMatchObject({ state: "Open" })
        yield* keyed.reset("a.example")
        expect(yield* keyed.state("a.example")).toBe("Closed")
      }))

    it.scoped("bounds memory: evicts idle keys and keeps at most maxKeys", () =>
      Effect.gen(function*() {
        const keyed = yield* CircuitBreaker.makeKeyed({
          name: freshName("bounded"),
          failureThreshold: 1,
          maxKeys: 100,
          idleTimeToLive: "1 minute",
          recoveryTimeout: "5 minutes"
        })
        for (let i = 0; i < 1_000; i++) yield* keyed.execute(`host-${i}`, Effect.void)
        expect((yield* keyed.keys).length).toBeLessThanOrEqual(100)
        yield* Effect.either(keyed.execute("down", boom))
        yield* TestClock.adjust("2 minutes")
        yield* keyed.execute("fresh", Effect.void)
        expect(yield* keyed.keys).toEqual(["down", "fresh"])
        expect(yield* keyed.state("down")).toBe("Open")
        const stats = yield* keyed.stats
        expect(stats).toMatchObject({ keys: 2, byState: { Open: 1, Closed: 1 } })
        expect(stats.evicted).toBe(1_000)
      }))
  })

  describe("construction", () => {
    it.effect("fails with InvalidConfigError listing every bad option", () =>
      Effect.gen(function*() {
        const options: unknown = {
          name: "",
          failureThreshold: 0,
          failureRateThreshold: 1.5,
          recoveryTimeout: "soon",
          halfOpenMaxCalls: 1.5,
          failureTreshold: 3
        }
        const error = yield* Effect.flip(Effect.scoped(CircuitBreaker.make(options as CircuitBreaker.Options)))
        expect(error).toBeInstanceOf(InvalidConfigError)
        expect(error.message).toBe([
          "Invalid CircuitBreaker options (6 problems):",
          "  - failureTreshold: is not a known option",
          "  - name: expected a non-empty name",
          "  - failureThreshold: expected an integer greater than 0, got 0",
          "  - failureRateThreshold: expected a ratio greater than 0 and at most 1, got 1.5",
          "  - recoveryTimeout: expected a duration greater than zero or a Schedule",
          "  - halfOpenMaxCalls: Expected an integer, actual 1.5"
        ].join("\n"))
      }))

    it.effect("rejects options that contradict each other", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.scoped(CircuitBreaker.make({
          successThreshold: 3,
          halfOpenMaxCalls: 2,
          slowCallRateThreshold: 0.5,
          slidingWindowSize: 5,
          minimumThroughput: 6
        })))
        expect(error.issues).toEqual([
          { path: "successThreshold", message: "expected at most halfOpenMaxCalls (2), got 3" },
          { path: "slowCallRateThreshold", message: "needs slowCallDuration" },
          { path: "minimumThroughput", message: "expected at most slidingWindowSize (5), got 6" }
        ])
        const both = yield* Effect.flip(Effect.scoped(CircuitBreaker.make({
          failureThreshold: 3,
          policies: [CircuitBreaker.slowCallRate({ threshold: 0.5, window: CircuitBreaker.lastCalls(10) })]
        })))
        expect(both.issues.map((i) => i.path)).toEqual(["policies", "policies[0]"])
      }))

    it.scoped("treats an option given as undefined as an option not given", () =>
      Effect.gen(function*() {
        const options: unknown = { name: freshName("undefined"), failureThreshold: undefined }
        const breaker = yield* CircuitBreaker.make(options as CircuitBreaker.Options)
        yield* failTimes(breaker, 5)
        expect(yield* breaker.state).toBe("Open")
      }))

    it.scoped("takes trip policies in full", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({
          name: freshName("policies"),
          policies: [
            CircuitBreaker.failureRate({ threshold: 0.5, window: CircuitBreaker.lastDuration("1 minute") }),
            CircuitBreaker.consecutiveFailures(3)
          ]
        })
        yield* failTimes(breaker, 3)
        expect(yield* breaker.state).toBe("Open")
      }))

    it.effect("provides a breaker with layer and reads its options with layerConfig", () =>
      Effect.gen(function*() {
        const fromLayer = yield* Effect.flatMap(CircuitBreaker.CircuitBreaker, (b) => Effect.succeed(b.name)).pipe(
          Effect.provide(CircuitBreaker.layer({ name: "from-layer" }))
        )
        expect(fromLayer).toBe("from-layer")
        const config = Config.all({
          name: Config.string("BREAKER_NAME"),
          failureThreshold: Config.integer("BREAKER_FAILURE_THRESHOLD"),
          recoveryTimeout: Config.duration("BREAKER_RECOVERY_TIMEOUT")
        })
        const provider = ConfigProvider.fromMap(
          new Map([
            ["BREAKER_NAME", "from-config"],
            ["BREAKER_FAILURE_THRESHOLD", "2"],
            ["BREAKER_RECOVERY_TIMEOUT", "10 seconds"]
          ])
        )
        const rejected = yield* pipe(
          Effect.gen(function*() {
            const breaker = yield* CircuitBreaker.CircuitBreaker
            yield* failTimes(breaker, 2)
            return yield* Effect.flip(breaker.execute(Effect.void))
          }),
          Effect.provide(CircuitBreaker.layerConfig(config)),
          Effect.withConfigProvider(provider)
        )
        expect(rejected).toMatchObject({ breaker: "from-config", retryAfter: 10_000 })
        const bad = yield* Effect.flip(
          Effect.provide(CircuitBreaker.CircuitBreaker, CircuitBreaker.layerConfig(config)).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map([
              ["BREAKER_NAME", "x"],
              ["BREAKER_FAILURE_THRESHOLD", "-1"],
              ["BREAKER_RECOVERY_TIMEOUT", "1 second"]
            ])))
          )
        )
        expect(bad).toBeInstanceOf(InvalidConfigError)
      }))

    it.scoped("composes with withCircuitBreaker, data-first and in a pipe", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make({ name: freshName("dual"), failureThreshold: 1 })
        expect(yield* CircuitBreaker.withCircuitBreaker(Effect.succeed(1), breaker)).toBe(1)
        expect(yield* Effect.succeed(2).pipe(CircuitBreaker.withCircuitBreaker(breaker))).toBe(2)
        yield* Effect.either(boom.pipe(CircuitBreaker.withCircuitBreaker(breaker)))
        const rejected = yield* Effect.flip(Effect.succeed(3).pipe(CircuitBreaker.withCircuitBreaker(breaker)))
        expect(rejected._tag).toBe("CircuitBreakerOpenError")
        expect(rejected.retryAfter).toBe(60_000)
      }))
  })
})
