import { InvalidConfigError, Metrics } from "@integration-patterns/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as HttpEndpoints from "../src/HttpEndpoints.js"
import { FakeBreaker, start, unique } from "./fakes.js"
import { family, histogram, parse, value } from "./prometheusParser.js"

/** Reads server-sent events from a response until `until` has seen what it needs. */
const readEvents = async (
  response: Response,
  until: (events: ReadonlyArray<{ event: string; data: any }>) => boolean
): Promise<ReadonlyArray<{ event: string; data: any }>> => {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  const events: Array<{ event: string; data: any }> = []
  let buffer = ""
  while (!until(events)) {
    const { done, value } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    let end: number
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const lines = block.split("\n")
      const event = lines.find((line) => line.startsWith("event: "))?.slice(7)
      const data = lines.find((line) => line.startsWith("data: "))?.slice(6)
      if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) })
    }
  }
  await reader.cancel()
  return events
}

const get = (url: string) => Effect.promise(() => fetch(url))
const text = (response: Response) => Effect.promise(() => response.text())

describe("GET /metrics", () => {
  it.scoped("serves Prometheus text that the parser reads back with the recorded values", () =>
    Effect.gen(function*() {
      const { url } = yield* start()
      const name = unique("inventory")
      const m = new Metrics.PatternMetrics("Retry", name)
      m.count(Metrics.calls, "success", 4)
      m.count(Metrics.retries, "scheduled", 3)
      m.observe(Metrics.retryDelay, 0.1)
      m.observe(Metrics.retryDelay, 0.4)

      const response = yield* get(`${url}/metrics`)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
      const body = yield* text(response)
      const families = parse(body)
      expect(value(families, "integration_patterns_calls_total", { name, outcome: "success" })).toBe(4)
      expect(value(families, "integration_patterns_retries_total", { name, outcome: "scheduled" })).toBe(3)
      expect(family(families, "integration_patterns_retry_delay_seconds").type).toBe("HISTOGRAM")
      const delays = histogram(body, "integration_patterns_retry_delay_seconds", { name })
      expect(delays).toMatchObject({ count: 2, sum: 0.5 })
      expect(delays.buckets["0.1"]).toBe(1)
      expect(delays.buckets["0.5"]).toBe(2)
      expect(delays.buckets["+Inf"]).toBe(2)

      m.count(Metrics.calls, "failure")
      const again = parse(yield* text(yield* get(`${url}/metrics`)))
      expect(value(again, "integration_patterns_calls_total", { name, outcome: "failure" })).toBe(1)
    }))
})

describe("GET /health", () => {
  it.scoped("answers 200 while the breaker is closed or half-open, and 503 while it is open", () =>
    Effect.gen(function*() {
      const { bus, register, url } = yield* start()
      const breaker = new FakeBreaker(unique("payments"), bus)
      yield* register(breaker.instance)

      const closed = yield* get(`${url}/health`)
      expect(closed.status).toBe(200)
      expect(closed.headers.get("content-type")).toContain("application/json")
      expect(yield* Effect.promise(() => closed.json())).toMatchObject({
        status: "healthy",
        patterns: [{ kind: "CircuitBreaker", name: breaker.name, status: "healthy" }]
      })

      for (let i = 0; i < 3; i++) breaker.fail()
      expect(breaker.state).toBe("Open")
      const open = yield* get(`${url}/health`)
      expect(open.status).toBe(503)
      expect(yield* Effect.promise(() => open.json())).toMatchObject({
        status: "unhealthy",
        reasons: [`CircuitBreaker "${breaker.name}": breaker is Open`]
      })

      breaker.transition("HalfOpen", "RecoveryTimeoutElapsed")
      const halfOpen = yield* get(`${url}/health`)
      expect(halfOpen.status).toBe(200)
      expect((yield* Effect.promise(() => halfOpen.json())).status).toBe("degraded")

      breaker.transition("Closed", "ProbesSucceeded")
      expect((yield* get(`${url}/health`)).status).toBe(200)
    }))
})

describe("GET /events", () => {
  it.scoped("sends a snapshot with one tile per instance, then every pattern event", () =>
    Effect.gen(function*() {
      const { bus, register, url } = yield* start({ snapshotInterval: "1 hour" })
      const breaker = new FakeBreaker(unique("payments"), bus)
      yield* register(breaker.instance)
      breaker.succeed()
      breaker.fail()

      const response = yield* get(`${url}/events`)
      expect(response.headers.get("content-type")).toBe("text/event-stream")
      const received = yield* Effect.promise(() =>
        readEvents(response, (events) => {
          // trip the breaker once the first snapshot is in: its events must follow
          if (events.length === 1) for (let i = 0; i < 3; i++) breaker.fail()
          return events.length >= 2
        })
      )
      expect(received[0]!.event).toBe("snapshot")
      expect(received[0]!.data).toMatchObject({
        status: "healthy",
        tiles: [{
          kind: "CircuitBreaker",
          name: breaker.name,
          state: "Closed",
          status: "healthy",
          requests: 2,
          failures: 1,
          rejections: 0,
          stats: { state: "Closed", consecutiveFailures: 1 }
        }]
      })
      expect(received[1]).toEqual({
        event: "pattern",
        data: {
          _tag: "StateChanged",
          pattern: "CircuitBreaker",
          name: breaker.name,
          timestamp: expect.any(Number),
          from: "Closed",
          to: "Open",
          reason: "ConsecutiveFailures",
          retryAfter: 0
        }
      })
    }))

  it.effect("ends open streams when the Layer is released", () =>
    Effect.gen(function*() {
      const response = yield* Effect.scoped(Effect.gen(function*() {
        const { url } = yield* start({ snapshotInterval: "1 hour" })
        const response = yield* get(`${url}/events`)
        expect(response.status).toBe(200)
        return response
      }))
      // the scope is closed: the stream is finished, not hanging
      const rest = yield* Effect.promise(() => response.text())
      expect(rest).toContain("event: snapshot")
    }))
})

describe("GET /dashboard", () => {
  it.scoped("serves a self-contained page that loads its data from /events", () =>
    Effect.gen(function*() {
      const { url } = yield* start({ title: "Checkout <ops>" })
      const response = yield* get(`${url}/dashboard`)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("text/html")
      const html = yield* text(response)
      expect(html).toContain("<title>Checkout &lt;ops&gt;</title>")
      expect(html).toContain("new EventSource(config.events)")
      // nothing is fetched from elsewhere: no src or href attributes, no CSS imports or urls
      expect(html).not.toMatch(/\b(src|href)\s*=|@import|url\(/)

      const root = yield* Effect.promise(() => fetch(`${url}/`, { redirect: "manual" }))
      expect(root.status).toBe(302)
      expect(root.headers.get("location")).toBe("dashboard")
      expect((yield* get(`${url}/nothing-here`)).status).toBe(404)
    }))
})

describe("HttpEndpoints options", () => {
  it.effect("rejects bad options with InvalidConfigError listing every problem", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(
        HttpEndpoints.layerNode({ port: 70000, snapshotInterval: -1, title: "" })
      )))
      expect(error).toBeInstanceOf(InvalidConfigError)
      expect((error as InvalidConfigError).issues.map((i) => i.path).sort()).toEqual(["port", "snapshotInterval", "title"])
    }))
})

describe("HttpEndpoints.serve", () => {
  it("starts a server for Promise code and stops it, open event streams included", async () => {
    const server = await HttpEndpoints.serve({ port: 0 })
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
    const health = await fetch(`${server.url}/health`)
    expect(health.status).toBe(200)
    await health.text()
    const events = await fetch(`${server.url}/events`)
    const stream = events.text()
    await server.close()
    expect(await stream).toContain("event: snapshot")
    await expect(fetch(`${server.url}/health`)).rejects.toThrow()
  })

  it("throws InvalidConfigError synchronously for bad options", () => {
    expect(() => HttpEndpoints.serve({ port: -1 })).toThrow(InvalidConfigError)
  })

  it("rejects when the port is taken", async () => {
    const first = await HttpEndpoints.serve({ port: 0 })
    try {
      await expect(HttpEndpoints.serve({ port: first.port })).rejects.toMatchObject({ _tag: "ServeError" })
    } finally {
      await first.close()
    }
  })
})
