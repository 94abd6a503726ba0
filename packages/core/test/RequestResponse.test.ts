import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Config from "effect/Config"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { InvalidConfigError, RequestError, TimeoutError } from "../src/Errors.js"
import * as IntegrationPatterns from "../src/IntegrationPatterns.js"
import * as Metrics from "../src/Metrics.js"
import * as PatternEvents from "../src/PatternEvents.js"
import * as RequestResponse from "../src/RequestResponse.js"
import * as Timeout from "../src/Timeout.js"

class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", { userId: Schema.String }) {}

const User = Schema.Struct({ id: Schema.String, name: Schema.String, joined: Schema.DateFromString })

const GetUser = RequestResponse.endpoint("get-user", {
  payload: Schema.Struct({ userId: Schema.String }),
  response: User,
  error: UserNotFound
})

const Work = RequestResponse.endpoint("work", { payload: Schema.String, response: Schema.String })

const joined = new Date("2024-01-02T03:04:05.000Z")

const users = (rr: RequestResponse.RequestResponse) =>
  rr.register(GetUser, (request) =>
    request.payload.userId === "ada"
      ? Effect.succeed({ id: "ada", name: "Ada", joined })
      : Effect.fail(new UserNotFound({ userId: request.payload.userId })))

const served = (name: string, outcome: string) =>
  Metric.value(
    Metrics.requestsServed.pipe(
      Metric.tagged("pattern", "RequestResponse"),
      Metric.tagged("name", name),
      Metric.tagged("outcome", outcome)
    )
  ).pipe(Effect.map((state) => state.count))

const calls = (name: string, outcome: string) =>
  Metric.value(
    Metrics.calls.pipe(
      Metric.tagged("pattern", "RequestResponse"),
      Metric.tagged("name", name),
      Metric.tagged("outcome", outcome)
    )
  ).pipe(Effect.map((state) => state.count))

/** Lets forked fibers run until `check` holds on the instance's stats (no real time passes). */
const until = (rr: RequestResponse.RequestResponse, check: (stats: RequestResponse.Stats) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) {
      if (check(yield* rr.stats)) return
      yield* Effect.yieldNow()
    }
    throw new Error(`never reached: ${JSON.stringify(yield* rr.stats)}`)
  })

/** A handler that records its start and then waits for its gate. */
const gated = (rr: RequestResponse.RequestResponse, started: Array<string>) =>
  Effect.gen(function*() {
    const gates = new Map<string, Deferred.Deferred<void>>()
    const gate = (payload: string) => {
      let found = gates.get(payload)
      if (found === undefined) {
        found = Deferred.unsafeMake<void>(FiberId.none)
        gates.set(payload, found)
      }
      return found
    }
    yield* rr.register(Work, (request) =>
      Effect.sync(() => started.push(request.payload)).pipe(
        Effect.zipRight(Deferred.await(gate(request.payload))),
        Effect.as(`done ${request.payload}`)
      ))
    return (payload: string) => Deferred.succeed(gate(payload), undefined)
  })

describe("RequestResponse", () => {
  describe("exchange", () => {
    it.scoped("decodes the payload for the handler and the response for the sender", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "exchange" })
        yield* users(rr)
        const response = yield* rr.send(GetUser, { id: "req-1", payload: { userId: "ada" } })
        expect(response).toEqual({
          id: "req-1",
          correlationId: "req-1",
          status: "success",
          payload: { id: "ada", name: "Ada", joined },
          metadata: { duration: 0, attempts: 1 }
        })
        expect(response.payload.joined).toBeInstanceOf(Date)
      }))

    it.scoped("carries the correlation id, priority and headers through to the handler and back", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "metadata" })
        const seen: Array<RequestResponse.Request<unknown>> = []
        const Echo = RequestResponse.endpoint("echo")
        yield* rr.register(Echo, (request) => Effect.sync(() => seen.push(request)).pipe(Effect.as(request.payload)))
        const response = yield* rr.send(Echo, {
          id: "req-2",
          payload: [1, 2],
          metadata: { correlationId: "order-7", priority: "high", headers: { tenant: "acme" }, timeout: "3 seconds" }
        })
        expect(response.correlationId).toBe("order-7")
        expect(response.payload).toEqual([1, 2])
        expect(seen[0]!.metadata).toEqual({
          correlationId: "order-7",
          priority: "high",
          headers: { tenant: "acme" },
          timeout: Duration.seconds(3)
        })
      }))

    it.scoped("delivers a handler's typed error as the same typed error", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "typed-error" })
        yield* users(rr)
        const error = yield* Effect.flip(rr.send(GetUser, { id: "req-3", payload: { userId: "bob" } }))
        expect(error).toBeInstanceOf(UserNotFound)
        expect(error).toEqual(new UserNotFound({ userId: "bob" }))
        const handled = yield* rr.send(GetUser, { id: "req-4", payload: { userId: "eve" } }).pipe(
          Effect.map(() => "found"),
          Effect.catchTag("UserNotFound", (e) => Effect.succeed(`missing ${e.userId}`))
        )
        expect(handled).toBe("missing eve")
      }))

    it.scoped("fails at once with NoHandler for a type nobody serves", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "no-handler" })
        const error = yield* Effect.flip(rr.send(Work, { id: "req-5", payload: "x" }))
        expect(error).toBeInstanceOf(RequestError)
        expect(error).toMatchObject({ reason: "NoHandler", requestId: "req-5", type: "work" })
        expect(yield* rr.stats).toMatchObject({ rejected: 1, served: 0 })
      }))

    it.scoped("reports a handler's defect as a Handler error instead of crashing", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "defect" })
        yield* rr.register(Work, () => Effect.die(new Error("boom")))
        const error = yield* Effect.flip(rr.send(Work, { id: "req-6", payload: "x" }))
        expect(error).toMatchObject({ _tag: "RequestError", reason: "Handler" })
        expect((error as RequestError).detail).toContain("boom")
      }))

    it.scoped("stops serving a type when the registering scope closes", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "unregister" })
        yield* Effect.scoped(rr.register(Work, (r) => Effect.succeed(r.payload)))
        const error = yield* Effect.flip(rr.send(Work, { id: "req-7", payload: "x" }))
        expect(error).toMatchObject({ reason: "NoHandler" })
      }))
  })

  describe("validation", () => {
    it.scoped("rejects a payload that does not match the endpoint's schema with InvalidRequest", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "bad-payload" })
        let ran = false
        yield* rr.register(GetUser, () => Effect.sync(() => (ran = true)).pipe(Effect.as({ id: "", name: "", joined })))
        const error = yield* Effect.flip(
          rr.send(GetUser, { id: "req-1", payload: { userId: 7 } as unknown as { userId: string } })
        )
        expect(error).toMatchObject({ _tag: "RequestError", reason: "InvalidRequest" })
        expect((error as RequestError).detail).toContain("userId")
        expect(ran).toBe(false)
      }))

    it.scoped("rejects malformed metadata and an empty id with InvalidRequest, listing each problem", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "bad-metadata" })
        yield* rr.register(Work, (r) => Effect.succeed(r.payload))
        const error = yield* Effect.flip(
          rr.send(Work, {
            id: "",
            payload: "x",
            metadata: { priority: "urgent" as "high", timeout: -5 }
          })
        )
        expect(error).toMatchObject({ _tag: "RequestError", reason: "InvalidRequest" })
        const detail = (error as RequestError).detail
        expect(detail).toContain("id")
        expect(detail).toContain("metadata.priority")
        expect(detail).toContain("metadata.timeout")
      }))

    it.scoped("answers a malformed envelope with a failure envelope, never a crash", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "bad-envelope" })
        for (const garbage of [null, 42, "text", { id: "x" }, { id: "x", type: "work", metadata: { timeout: "soon" } }]) {
          const response = yield* rr.serve(garbage)
          expect(response.status).toBe("failure")
          if (response.status === "failure") {
            expect(response.error).toMatchObject({ _tag: "RequestError", reason: "InvalidRequest" })
          }
        }
      }))

    it.scoped("rejects a handler response that does not match the endpoint's schema with InvalidResponse", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "bad-response" })
        yield* rr.register(GetUser, () => Effect.succeed({ id: "ada" } as unknown as typeof User.Type))
        const error = yield* Effect.flip(rr.send(GetUser, { id: "req-1", payload: { userId: "ada" } }))
        expect(error).toMatchObject({ _tag: "RequestError", reason: "InvalidResponse" })
        expect((error as RequestError).detail).toContain("name")
        expect(yield* served("bad-response", "invalid_response")).toBe(1)
      }))

    it.scoped("rejects a malformed response from the transport with InvalidResponse", () =>
      Effect.gen(function*() {
        const replies: Array<unknown> = [
          { nonsense: true },
          { id: "r", correlationId: "r", status: "success", payload: { id: 1 }, metadata: { duration: 0, attempts: 1 } },
          {
            id: "r",
            correlationId: "r",
            status: "failure",
            error: { _tag: "SomethingElse" },
            metadata: { duration: 0, attempts: 1 }
          }
        ]
        const garbling = Layer.succeed(RequestResponse.Transport, {
          send: () => Effect.sync(() => replies.shift())
        })
        const rr = yield* RequestResponse.make({ name: "garbled" }).pipe(Effect.provide(garbling))
        for (const what of ["malformed response", "response payload", "response error"]) {
          const error = yield* Effect.flip(rr.send(GetUser, { id: "r", payload: { userId: "ada" } }))
          expect(error).toMatchObject({ _tag: "RequestError", reason: "InvalidResponse" })
          expect((error as RequestError).detail).toContain(what)
        }
      }))
  })

  describe("timeouts", () => {
    it.scoped("fails with TimeoutError when metadata.timeout passes", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "timeout" })
        yield* rr.register(Work, () => Effect.sleep("10 seconds").pipe(Effect.as("late")))
        const fiber = yield* Effect.fork(
          Effect.flip(rr.send(Work, { id: "req-1", payload: "x", metadata: { timeout: "1 second" } }))
        )
        yield* TestClock.adjust("999 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("1 millis")
        const error = yield* Fiber.join(fiber)
        expect(error).toBeInstanceOf(TimeoutError)
        expect(error).toMatchObject({ timeout: "timeout", duration: 1000, phase: "Operation" })
        expect(yield* rr.stats).toMatchObject({ running: 0 })
        expect(yield* calls("timeout", "timeout")).toBe(1)
      }))

    it.scoped("applies the global defaultTimeout to a request without one", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "default-timeout" }).pipe(
          Effect.provideService(IntegrationPatterns.GlobalConfig, {
            get: () => ({ ...IntegrationPatterns.defaultSettings, defaultTimeout: Duration.seconds(2) })
          })
        )
        yield* rr.register(Work, () => Effect.never)
        const fiber = yield* Effect.fork(Effect.flip(rr.send(Work, { id: "req-1", payload: "x" })))
        yield* TestClock.adjust("1999 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("1 millis")
        expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "TimeoutError", duration: 2000 })
      }))

    it.scoped("prefers the instance's defaultTimeout over the global one", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "own-timeout", defaultTimeout: "300 millis" })
        yield* rr.register(Work, () => Effect.never)
        const fiber = yield* Effect.fork(Effect.flip(rr.send(Work, { id: "req-1", payload: "x" })))
        yield* TestClock.adjust("300 millis")
        expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "TimeoutError", duration: 300 })
      }))

    it.scoped("enforces the request's deadline when serving an envelope", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "serve-timeout" })
        yield* rr.register(Work, () => Effect.never)
        const fiber = yield* Effect.fork(rr.serve({ id: "s-1", type: "work", payload: "x", metadata: { timeout: 500 } }))
        yield* TestClock.adjust("500 millis")
        const response = yield* Fiber.join(fiber)
        expect(response).toMatchObject({
          status: "failure",
          error: { _tag: "TimeoutError", duration: 500 },
          metadata: { duration: 500 }
        })
        expect(yield* rr.stats).toMatchObject({ timedOut: 1, running: 0 })
      }))

    it.scoped("gives way to an enclosing Timeout whose deadline comes first, and forwards the budget left", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "nested" })
        const budgets: Array<Duration.Duration> = []
        yield* rr.register(Work, (request) =>
          Effect.sync(() => budgets.push(request.metadata.timeout)).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Effect.sync(() => budgets.push(Duration.zero)))
          ))
        const fiber = yield* Effect.fork(
          Effect.flip(
            rr.send(Work, { id: "req-1", payload: "x", metadata: { timeout: "10 seconds" } }).pipe(
              Timeout.withTimeout({ name: "caller", duration: "500 millis" })
            )
          )
        )
        yield* TestClock.adjust("499 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("1 millis")
        const error = yield* Fiber.join(fiber)
        expect(error).toBeInstanceOf(TimeoutError)
        expect(error).toMatchObject({ timeout: "caller", duration: 500, phase: "Operation" })
        // The handler was told the budget left, and was interrupted when it ran out.
        expect(budgets).toEqual([Duration.millis(500), Duration.zero])
        // The caller's timeout interrupted the exchange: the request did not time out.
        expect(yield* rr.stats).toMatchObject({ running: 0, timedOut: 0, failed: 1 })
        expect(yield* calls("nested", "interrupted")).toBe(1)
      }))

    it.scoped("keeps its own deadline inside a longer enclosing Timeout", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "inner" })
        yield* rr.register(Work, () => Effect.never)
        const fiber = yield* Effect.fork(
          Effect.flip(
            rr.send(Work, { id: "req-1", payload: "x", metadata: { timeout: "1 second" } }).pipe(
              Timeout.withTimeout({ name: "caller", duration: "5 seconds" })
            )
          )
        )
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "TimeoutError", timeout: "inner", duration: 1000 })
      }))

    it.scoped("takes a request that times out in the queue out of the queue", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "queue-timeout", concurrency: 1, queueSize: 1 })
        const started: Array<string> = []
        const open = yield* gated(rr, started)
        const first = yield* Effect.fork(rr.send(Work, { id: "a", payload: "a" }))
        const waiting = yield* Effect.fork(
          Effect.flip(rr.send(Work, { id: "b", payload: "b", metadata: { timeout: "1 second" } }))
        )
        yield* until(rr, (stats) => stats.queued === 1)
        expect(yield* rr.stats).toMatchObject({ running: 1, queued: 1 })
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(waiting)).toBeInstanceOf(TimeoutError)
        expect(yield* rr.stats).toMatchObject({ running: 1, queued: 0 })
        yield* open("a")
        yield* Fiber.join(first)
        expect(started).toEqual(["a"])
        expect(yield* rr.stats).toMatchObject({ running: 0, queued: 0 })
      }))
  })

  describe("priority and the bounded queue", () => {
    it.scoped("gives freed slots to high, then normal, then low priority requests", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "priority", concurrency: 1, queueSize: 10 })
        const started: Array<string> = []
        const open = yield* gated(rr, started)
        const send = (payload: string, priority: RequestResponse.Priority) =>
          Effect.fork(rr.send(Work, { id: payload, payload, metadata: { priority } }))
        const fibers = [yield* send("first", "low")]
        yield* until(rr, (stats) => stats.running === 1)
        for (const [payload, priority] of [["low", "low"], ["normal", "normal"], ["high", "high"]] as const) {
          fibers.push(yield* send(payload, priority))
          yield* until(rr, (stats) => stats.queued === fibers.length - 1)
        }
        for (const payload of ["first", "high", "normal", "low"]) {
          yield* open(payload)
          yield* until(rr, (stats) => stats.running === (payload === "low" ? 0 : 1))
        }
        const responses = yield* Fiber.joinAll(fibers)
        expect(started).toEqual(["first", "high", "normal", "low"])
        expect(responses.map((r) => r.payload)).toEqual(["done first", "done low", "done normal", "done high"])
      }))

    it.scoped("rejects with QueueFull once the queue is full, at once", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "queue-full", concurrency: 1, queueSize: 1 })
        const started: Array<string> = []
        const open = yield* gated(rr, started)
        const running = yield* Effect.fork(rr.send(Work, { id: "a", payload: "a" }))
        const queued = yield* Effect.fork(rr.send(Work, { id: "b", payload: "b" }))
        yield* until(rr, (stats) => stats.running === 1 && stats.queued === 1)
        const error = yield* Effect.flip(rr.send(Work, { id: "c", payload: "c", metadata: { priority: "high" } }))
        expect(error).toMatchObject({ _tag: "RequestError", reason: "QueueFull", requestId: "c" })
        yield* open("a")
        yield* open("b")
        expect((yield* Fiber.join(running)).payload).toBe("done a")
        expect((yield* Fiber.join(queued)).payload).toBe("done b")
        expect(started).toEqual(["a", "b"])
      }))

    it.scoped("reports a full queue as degraded health in the registry", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "health", concurrency: 1, queueSize: 1 })
        const open = yield* gated(rr, [])
        const instance = () =>
          IntegrationPatterns.instances.pipe(
            Effect.map((all) => all.find((i) => i.kind === "RequestResponse" && i.name === "health")!)
          )
        expect((yield* instance()).health().status).toBe("healthy")
        const fibers = [
          yield* Effect.fork(rr.send(Work, { id: "a", payload: "a" })),
          yield* Effect.fork(rr.send(Work, { id: "b", payload: "b" }))
        ]
        yield* until(rr, (stats) => stats.queued === 1)
        expect((yield* instance()).health().status).toBe("degraded")
        expect((yield* instance()).stats()).toMatchObject({ running: 1, queued: 1, handlers: ["work"] })
        yield* open("a")
        yield* open("b")
        yield* Fiber.joinAll(fibers)
        expect((yield* instance()).health().status).toBe("healthy")
      }))
  })

  describe("duplicates", () => {
    it.scoped("answers a duplicate in flight from the first request, running the handler once", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "dup-in-flight" })
        const started: Array<string> = []
        const open = yield* gated(rr, started)
        const first = yield* Effect.fork(rr.send(Work, { id: "same", payload: "one" }))
        yield* until(rr, (stats) => stats.running === 1)
        const second = yield* Effect.fork(rr.send(Work, { id: "same", payload: "one" }))
        yield* until(rr, (stats) => stats.duplicates === 1)
        yield* open("one")
        const [a, b] = [yield* Fiber.join(first), yield* Fiber.join(second)]
        expect(a).toEqual(b)
        expect(started).toEqual(["one"])
        expect(yield* rr.stats).toMatchObject({ duplicates: 1, served: 1 })
      }))

    it.scoped("answers a duplicate from the finished result within the window, and runs it again after", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "dup-window", dedupWindow: "1 minute" })
        let runs = 0
        yield* rr.register(Work, () => Effect.sync(() => ++runs).pipe(Effect.map((n) => `run ${n}`)))
        const send = rr.send(Work, { id: "same", payload: "x" }).pipe(Effect.map((r) => r.payload))
        expect(yield* send).toBe("run 1")
        yield* TestClock.adjust("59 seconds")
        expect(yield* send).toBe("run 1")
        yield* TestClock.adjust("1 second")
        expect(yield* send).toBe("run 2")
        expect(runs).toBe(2)
        expect(yield* served("dup-window", "duplicate")).toBe(1)
      }))

    it.scoped("answers a duplicate with the first request's typed failure too", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "dup-failure" })
        let runs = 0
        yield* rr.register(GetUser, (r) => Effect.sync(() => runs++).pipe(Effect.zipRight(Effect.fail(new UserNotFound(r.payload)))))
        for (let i = 0; i < 2; i++) {
          expect(yield* Effect.flip(rr.send(GetUser, { id: "u", payload: { userId: "zed" } }))).toBeInstanceOf(UserNotFound)
        }
        expect(runs).toBe(1)
      }))

    it.scoped("runs a request again when the one it duplicated timed out", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "dup-timeout" })
        let runs = 0
        yield* rr.register(Work, () => Effect.sync(() => ++runs).pipe(Effect.zipRight(Effect.sleep("2 seconds")), Effect.as("ok")))
        const first = yield* Effect.fork(
          Effect.flip(rr.send(Work, { id: "same", payload: "x", metadata: { timeout: "1 second" } }))
        )
        yield* until(rr, (stats) => stats.running === 1)
        const second = yield* Effect.fork(
          rr.send(Work, { id: "same", payload: "x", metadata: { timeout: "10 seconds" } })
        )
        yield* until(rr, (stats) => stats.duplicates === 1)
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(first)).toBeInstanceOf(TimeoutError)
        yield* TestClock.adjust("2 seconds")
        expect((yield* Fiber.join(second)).payload).toBe("ok")
        expect(runs).toBe(2)
      }))

    it.scoped("does not remember a request refused before it ran", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "dup-refused", concurrency: 1, queueSize: 0 })
        const open = yield* gated(rr, [])
        const busy = yield* Effect.fork(rr.send(Work, { id: "a", payload: "a" }))
        yield* until(rr, (stats) => stats.running === 1)
        expect(yield* Effect.flip(rr.send(Work, { id: "b", payload: "b" }))).toMatchObject({ reason: "QueueFull" })
        yield* open("a")
        yield* Fiber.join(busy)
        yield* open("b")
        expect((yield* rr.send(Work, { id: "b", payload: "b" })).payload).toBe("done b")
      }))

    it.scoped("turns duplicate detection off with a window of 0", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "dup-off", dedupWindow: 0 })
        let runs = 0
        yield* rr.register(Work, () => Effect.sync(() => ++runs).pipe(Effect.as("ok")))
        yield* rr.send(Work, { id: "same", payload: "x" })
        yield* rr.send(Work, { id: "same", payload: "x" })
        expect(runs).toBe(2)
      }))
  })

  describe("telemetry", () => {
    it.scoped("publishes events for rejected, queued, served and received requests", () =>
      Effect.gen(function*() {
        const bus = yield* PatternEvents.make()
        const events: Array<PatternEvents.PatternEvent> = []
        bus.listen((event) => events.push(event))
        const rr = yield* RequestResponse.make({ name: "events", concurrency: 1 }).pipe(
          Effect.provideService(PatternEvents.PatternEvents, bus)
        )
        const open = yield* gated(rr, [])
        yield* Effect.flip(rr.send(GetUser, { id: "nobody", payload: { userId: "x" } }))
        const a = yield* Effect.fork(rr.send(Work, { id: "a", payload: "a" }))
        yield* until(rr, (stats) => stats.running === 1)
        const b = yield* Effect.fork(rr.send(Work, { id: "b", payload: "b", metadata: { priority: "high" } }))
        yield* until(rr, (stats) => stats.queued === 1)
        yield* open("a")
        yield* open("b")
        yield* Fiber.joinAll([a, b])
        yield* rr.send(Work, { id: "a", payload: "a" })
        const seen = events.map((e) => `${e._tag}:${(e as { requestId: string }).requestId}`)
        expect(seen.slice(0, 3)).toEqual(["RequestRejected:nobody", "ResponseReceived:nobody", "RequestQueued:b"])
        expect(seen.slice(3, 7).sort()).toEqual([
          "RequestServed:a",
          "RequestServed:b",
          "ResponseReceived:a",
          "ResponseReceived:b"
        ])
        expect(seen.slice(7)).toEqual(["RequestDeduplicated:a", "ResponseReceived:a"])
        expect(events[2]).toMatchObject({ pattern: "RequestResponse", name: "events", priority: "high", queued: 1 })
      }))

    it.scoped("counts calls by outcome and records their duration", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make({ name: "metrics" })
        yield* users(rr)
        yield* rr.send(GetUser, { id: "1", payload: { userId: "ada" } })
        yield* Effect.flip(rr.send(GetUser, { id: "2", payload: { userId: "bob" } }))
        yield* Effect.flip(rr.send(Work, { id: "3", payload: "x" }))
        expect(yield* calls("metrics", "success")).toBe(1)
        expect(yield* calls("metrics", "failure")).toBe(1)
        expect(yield* calls("metrics", "rejected")).toBe(1)
        expect(yield* served("metrics", "success")).toBe(1)
        expect(yield* served("metrics", "failure")).toBe(1)
        const rejections = yield* Metric.value(
          Metrics.rejections.pipe(
            Metric.tagged("pattern", "RequestResponse"),
            Metric.tagged("name", "metrics"),
            Metric.tagged("reason", "no_handler")
          )
        )
        expect(rejections.count).toBe(1)
        const duration = yield* Metric.value(
          Metrics.callDuration.pipe(Metric.tagged("pattern", "RequestResponse"), Metric.tagged("name", "metrics"))
        )
        expect(duration.count).toBe(3)
      }))
  })

  describe("construction", () => {
    it.scoped("uses the documented defaults", () =>
      Effect.gen(function*() {
        const rr = yield* RequestResponse.make()
        expect(rr.name).toBe("request-response")
        expect(yield* rr.stats).toMatchObject({ concurrency: 10, queueSize: 100 })
        let runs = 0
        yield* rr.register(Work, () => Effect.sync(() => ++runs).pipe(Effect.as("ok")))
        yield* rr.send(Work, { id: "same", payload: "x" })
        yield* TestClock.adjust("59999 millis")
        yield* rr.send(Work, { id: "same", payload: "x" })
        expect(runs).toBe(1)
        yield* TestClock.adjust("1 millis")
        yield* rr.send(Work, { id: "same", payload: "x" })
        expect(runs).toBe(2)
        yield* rr.register(Work, () => Effect.never)
        const fiber = yield* Effect.fork(Effect.flip(rr.send(Work, { id: "slow", payload: "x" })))
        yield* TestClock.adjust("30 seconds")
        expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "TimeoutError", duration: 30_000 })
      }))


    it.effect("fails with InvalidConfigError listing every bad option", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          Effect.scoped(
            RequestResponse.make({
              name: "",
              concurrency: 0,
              queueSize: -1,
              dedupWindow: "soon",
              defaultTimeout: 0,
              priority: "high"
            } as unknown as RequestResponse.Options)
          )
        )
        expect(error).toBeInstanceOf(InvalidConfigError)
        expect(error.issues.map((issue) => issue.path)).toEqual([
          "priority",
          "name",
          "concurrency",
          "queueSize",
          "dedupWindow",
          "defaultTimeout"
        ])
      }))

    it.effect("builds from Config, and serves handlers added by layerHandler", () =>
      Effect.gen(function*() {
        const config = Config.all({
          name: Config.string("NAME"),
          concurrency: Config.integer("CONCURRENCY")
        })
        const live = RequestResponse.layerHandler(Work, (r) => Effect.succeed(r.payload.toUpperCase())).pipe(
          Layer.provideMerge(RequestResponse.layerConfig(config))
        )
        const result = yield* Effect.gen(function*() {
          const response = yield* RequestResponse.send(Work, { id: "c-1", payload: "hi" })
          const rr = yield* RequestResponse.RequestResponse
          return { payload: response.payload, name: rr.name, stats: yield* rr.stats }
        }).pipe(
          Effect.provide(live),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["NAME", "from-config"], ["CONCURRENCY", "3"]])))
        )
        expect(result).toMatchObject({ payload: "HI", name: "from-config", stats: { concurrency: 3 } })
      }))

    it.effect("fails the layer with InvalidConfigError for bad options from Config", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          Layer.build(RequestResponse.layerConfig(Config.succeed({ concurrency: -2 }))).pipe(Effect.scoped)
        )
        expect(error).toMatchObject({ _tag: "InvalidConfigError", issues: [{ path: "concurrency" }] })
      }))
  })
})
