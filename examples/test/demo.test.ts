import { Cause, Effect, Exit, Fiber } from "effect"
import { existsSync } from "node:fs"
import { afterEach, describe, expect, it, vi } from "vitest"
import { demo, main } from "../src/demo.js"

describe("pnpm demo", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it("runs every phase, and each pattern shows its work in the summary", async () => {
    const lines: Array<string> = []
    vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
      lines.push(args.map(String).join(" "))
    })
    const summary = await Effect.runPromise(main)
    const output = lines.join("\n")

    // The phases are printed in order, then the tables.
    const headings = [1, 2, 3, 4, 5, 6].map((n) => output.indexOf(`[${n}/6]`))
    expect(headings.every((at, i) => at >= 0 && (i === 0 || at > headings[i - 1]!))).toBe(true)
    expect(output).toContain("What each pattern did")
    expect(output).toContain("Calls per service")
    expect(output).toMatch(/circuit breaker "shipping": Closed -> Open/)
    expect(output).toMatch(/order-4 \(barbara, knife\): charge-card failed \(PaymentDeclined\); undone: reserve-stock/)

    const { cache, rateLimiter, saga, services, stored, totals } = summary
    expect(services.map((s) => s.name)).toEqual(["catalogue", "inventory", "payment", "shipping"])
    // Every request got an answer or a failure; every breaker call was counted.
    for (const s of services) {
      expect(s.requests.sent).toBe(s.requests.succeeded + s.requests.failed)
      expect(s.requests.sent).toBeGreaterThan(0)
      expect(s.bulkhead.peakConcurrency).toBeLessThanOrEqual(s.bulkhead.maxConcurrent)
    }
    const shipping = services.find((s) => s.name === "shipping")!
    expect(shipping.trips).toBeGreaterThanOrEqual(1)
    expect(shipping.recoveries).toBeGreaterThanOrEqual(1)
    expect(shipping.breaker.state).toBe("Closed")
    expect(shipping.breaker.rejections).toBeGreaterThanOrEqual(1)
    expect(totals.retries).toBeGreaterThanOrEqual(1)
    expect(totals.timeouts).toBeGreaterThanOrEqual(1)
    // The flash sale: 20 at once against 4 slots and 8 queue places.
    expect(services.find((s) => s.name === "inventory")!.bulkhead.rejected.QueueFull).toBeGreaterThanOrEqual(1)
    // The scraper: 25 at once against a burst of 10.
    expect(rateLimiter.rejected).toBeGreaterThanOrEqual(1)
    expect(rateLimiter.rejectedByKey).toBe(rateLimiter.rejected)
    expect(cache.hits).toBeGreaterThanOrEqual(1)
    expect(cache.loads).toBeLessThanOrEqual(cache.misses)
    // Six orders: the declined card is compensated, and the SQLite log agrees with the service.
    expect(summary.compensations).toBeGreaterThanOrEqual(1)
    expect(saga.compensated).toBeGreaterThanOrEqual(1)
    expect(saga.completed).toBeGreaterThanOrEqual(1)
    expect(saga.completed + saga.compensated).toBe(saga.started)
    expect(stored).toEqual({ completed: saga.completed, compensated: saga.compensated })
  })

  it("with a dashboard, serves it at the printed address and keeps shopping until interrupted", async () => {
    const lines: Array<string> = []
    vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
      lines.push(args.map(String).join(" "))
    })
    const fiber = Effect.runFork(demo({ dashboard: { port: 0 } }))
    try {
      await vi.waitFor(() => expect(lines.join("\n")).toContain("Press Ctrl-C to stop"), { timeout: 30_000 })
      const url = lines.join("\n").match(/Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/dashboard/)![1]!
      const page = await fetch(`${url}/dashboard`)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain("<title>Demo shop</title>")
      const metrics = await fetch(`${url}/metrics`).then((response) => response.text())
      expect(metrics).toMatch(/integration_patterns_calls_total\{pattern="CircuitBreaker",name="shipping",outcome="success"\} \d+/)
      const health = await fetch(`${url}/health`).then((response) => response.json() as Promise<{ patterns: Array<unknown> }>)
      expect(health.patterns.length).toBeGreaterThanOrEqual(20)
    } finally {
      await Effect.runPromise(Fiber.interrupt(fiber))
    }
    // It was still running when interrupted, and its temporary SQLite directory is gone.
    const exit = fiber.unsafePoll()!
    expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true)
    const database = lines.join("\n").match(/orders are logged in (\S+)/)![1]!
    expect(existsSync(database)).toBe(false)
  })
})
