import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { BulkheadRejectedError, InvalidConfigError, RequestError, TimeoutError } from "../../src/Errors.js"
import * as PatternEvents from "../../src/PatternEvents.js"
import { globalRegistry } from "../../src/internal/registry.js"
import { RequestResponsePattern } from "../../src/promise/index.js"
import * as Context from "effect/Context"

const gate = () => {
  let open!: () => void
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("RequestResponsePattern (Promise API)", () => {
  it("runs the brief's example once a handler is registered", async () => {
    const rr = new RequestResponsePattern()
    rr.registerHandler("data-request", async (request) => ({ rows: [{ id: 1 }], query: request.payload.query }))
    const response = await rr.sendRequest({
      id: "req-1",
      type: "data-request",
      payload: { query: "SELECT * FROM users" },
      metadata: { timeout: 5000, priority: "high" }
    })
    expect(response).toMatchObject({
      id: "req-1",
      correlationId: "req-1",
      status: "success",
      payload: { rows: [{ id: 1 }], query: "SELECT * FROM users" },
      metadata: { attempts: 1 }
    })
  })

  it("fails at once with RequestError when no handler serves the type", async () => {
    const rr = new RequestResponsePattern()
    let outcome: unknown = "pending"
    void rr.sendRequest({ id: "req-1", type: "data-request", payload: {} }).then(
      () => (outcome = "resolved"),
      (error: unknown) => (outcome = error)
    )
    await tick()
    expect(outcome).toBeInstanceOf(RequestError)
    expect(outcome).toMatchObject({ reason: "NoHandler", requestId: "req-1", type: "data-request" })
  })

  it("hands the handler every metadata field, filled in", async () => {
    const rr = new RequestResponsePattern({ defaultTimeout: 750 })
    rr.registerHandler("echo", (request) => request.metadata)
    const response = await rr.sendRequest({ id: "m-1", type: "echo", payload: null, metadata: { headers: { a: "b" } } })
    expect(response.payload).toEqual({ timeout: 750, priority: "normal", correlationId: "m-1", headers: { a: "b" } })
  })

  it("rejects with the toolkit error a handler throws, and wraps any other throw in RequestError", async () => {
    const rr = new RequestResponsePattern()
    const full = new BulkheadRejectedError({ bulkhead: "db", reason: "QueueFull", maxConcurrent: 1, queueSize: 0 })
    rr.registerHandler("typed", async () => {
      throw full
    })
    rr.registerHandler("untyped", () => {
      throw new Error("disk on fire")
    })
    await expect(rr.sendRequest({ id: "e-1", type: "typed", payload: 1 })).rejects.toBe(full)
    const error = await rr.sendRequest({ id: "e-2", type: "untyped", payload: 1 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RequestError)
    expect(error).toMatchObject({ reason: "Handler", detail: "handler failed: disk on fire" })
  })

  it("validates the payload and the response against the handler's schemas", async () => {
    const rr = new RequestResponsePattern()
    let runs = 0
    rr.registerHandler("sum", ({ payload }) => {
      runs++
      return payload.a === 0 ? ({ total: "zero" } as unknown as { total: number }) : { total: payload.a + payload.b }
    }, {
      payload: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
      response: Schema.Struct({ total: Schema.Number })
    })
    expect((await rr.sendRequest({ id: "v-1", type: "sum", payload: { a: 1, b: 2 } })).payload).toEqual({ total: 3 })
    const badRequest = await rr.sendRequest({ id: "v-2", type: "sum", payload: { a: "1" } }).catch((e: unknown) => e)
    expect(badRequest).toMatchObject({ _tag: "RequestError", reason: "InvalidRequest" })
    expect((badRequest as RequestError).detail).toContain("payload")
    const badResponse = await rr.sendRequest({ id: "v-3", type: "sum", payload: { a: 0, b: 1 } }).catch((e: unknown) => e)
    expect(badResponse).toMatchObject({ _tag: "RequestError", reason: "InvalidResponse" })
    expect(runs).toBe(2)
  })

  it("rejects a malformed request with InvalidRequest", async () => {
    const rr = new RequestResponsePattern()
    rr.registerHandler("x", () => 1)
    const error = await rr.sendRequest({ id: "", type: "x", payload: 1, metadata: { priority: "urgent" as "high" } })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "RequestError", reason: "InvalidRequest" })
    expect((error as RequestError).detail).toContain("metadata.priority")
  })

  it("times out with TimeoutError and aborts the handler's signal", async () => {
    const rr = new RequestResponsePattern({ name: "facade-timeout" })
    let aborted: unknown
    rr.registerHandler("slow", (_request, { signal }) =>
      new Promise((resolve) => {
        signal.addEventListener("abort", () => {
          aborted = signal.reason
          resolve("gave up")
        })
      }))
    const error = await rr.sendRequest({ id: "t-1", type: "slow", payload: 1, metadata: { timeout: 15 } })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(error).toMatchObject({ name: "TimeoutError", timeout: "facade-timeout", duration: 15 })
    expect(aborted).toBeInstanceOf(TimeoutError)
    await tick()
    expect(rr.getStats()).toMatchObject({ running: 0, timedOut: 1 })
  })

  it("gives freed slots to high, then normal, then low priority requests", async () => {
    const rr = new RequestResponsePattern({ concurrency: 1 })
    const started: Array<string> = []
    const first = gate()
    rr.registerHandler("work", async ({ payload }: { payload: string }) => {
      started.push(payload)
      if (payload === "first") await first.opened
      return payload
    })
    const sent = [
      rr.sendRequest({ id: "first", type: "work", payload: "first" }),
      rr.sendRequest({ id: "low", type: "work", payload: "low", metadata: { priority: "low" } }),
      rr.sendRequest({ id: "normal", type: "work", payload: "normal" }),
      rr.sendRequest({ id: "high", type: "work", payload: "high", metadata: { priority: "high" } })
    ]
    expect(rr.getStats()).toMatchObject({ running: 1, queued: 3 })
    first.open()
    await Promise.all(sent)
    expect(started).toEqual(["first", "high", "normal", "low"])
  })

  it("rejects with QueueFull once the bounded queue is full", async () => {
    const rr = new RequestResponsePattern({ concurrency: 1, queueSize: 1 })
    const first = gate()
    rr.registerHandler("work", () => first.opened.then(() => "ok"))
    const running = rr.sendRequest({ id: "a", type: "work", payload: 1 })
    const queued = rr.sendRequest({ id: "b", type: "work", payload: 1 })
    await expect(rr.sendRequest({ id: "c", type: "work", payload: 1 })).rejects.toMatchObject({
      _tag: "RequestError",
      reason: "QueueFull"
    })
    first.open()
    expect((await running).payload).toBe("ok")
    expect((await queued).payload).toBe("ok")
  })

  it("answers a duplicate id from the first request, in flight or finished, within the window", async () => {
    const rr = new RequestResponsePattern({ dedupWindow: 30 })
    let runs = 0
    const first = gate()
    rr.registerHandler("work", async () => {
      runs++
      await first.opened
      return runs
    })
    const a = rr.sendRequest({ id: "same", type: "work", payload: 1 })
    const b = rr.sendRequest({ id: "same", type: "work", payload: 1 })
    first.open()
    expect((await a).payload).toBe(1)
    expect(await b).toEqual(await a)
    expect((await rr.sendRequest({ id: "same", type: "work", payload: 1 })).payload).toBe(1)
    expect(runs).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 40))
    expect((await rr.sendRequest({ id: "same", type: "work", payload: 1 })).payload).toBe(2)
    expect(rr.getStats()).toMatchObject({ duplicates: 2, served: 2 })
  })

  it("runs a duplicate on its own when the request it duplicated timed out", async () => {
    const rr = new RequestResponsePattern()
    let runs = 0
    rr.registerHandler("work", async () => {
      runs++
      await new Promise((resolve) => setTimeout(resolve, runs === 1 ? 40 : 0))
      return runs
    })
    const first = rr.sendRequest({ id: "same", type: "work", payload: 1, metadata: { timeout: 10 } })
    const second = rr.sendRequest({ id: "same", type: "work", payload: 1, metadata: { timeout: 500 } })
    await expect(first).rejects.toBeInstanceOf(TimeoutError)
    expect((await second).payload).toBe(2)
  })

  it("publishes events to the process-wide bus and registers for health", async () => {
    const bus = Context.get(Context.empty(), PatternEvents.PatternEvents)
    const events: Array<string> = []
    const stop = bus.listen((event) => {
      if (event.name === "facade-events") events.push(event._tag)
    })
    const rr = new RequestResponsePattern({ name: "facade-events" })
    rr.registerHandler("work", () => "ok")
    await rr.sendRequest({ id: "a", type: "work", payload: 1 })
    await rr.sendRequest({ id: "b", type: "none", payload: 1 }).catch(() => undefined)
    stop()
    expect(events).toEqual(["RequestServed", "ResponseReceived", "RequestRejected", "ResponseReceived"])
    const entry = globalRegistry.list().find((i) => i.kind === "RequestResponse" && i.name === "facade-events")
    expect(entry?.health().status).toBe("healthy")
    expect(entry?.stats()).toMatchObject({ sent: 2, succeeded: 1, failed: 1, handlers: ["work"] })
  })

  it("throws InvalidConfigError synchronously for bad options and a bad registration", () => {
    expect(() => new RequestResponsePattern({ concurrency: 1.5, queueSize: -1, timeout: 5 } as never)).toThrow(
      InvalidConfigError
    )
    const error = (() => {
      try {
        new RequestResponsePattern({ concurrency: 1.5, queueSize: -1, dedupWindow: -3 })
      } catch (thrown) {
        return thrown
      }
    })()
    expect((error as InvalidConfigError).issues.map((i) => i.path)).toEqual(["concurrency", "queueSize", "dedupWindow"])
    const rr = new RequestResponsePattern()
    expect(() => rr.registerHandler("", () => 1)).toThrow(InvalidConfigError)
  })

  it("stops serving a type once its handler is removed", async () => {
    const rr = new RequestResponsePattern()
    const remove = rr.registerHandler("work", () => 1)
    remove()
    await expect(rr.sendRequest({ id: "a", type: "work", payload: 1 })).rejects.toMatchObject({ reason: "NoHandler" })
  })
})
