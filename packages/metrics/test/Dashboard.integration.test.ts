import { Metrics } from "@integration-patterns/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"
import { FakeBreaker, start } from "./fakes.js"

// Debian's chromium, installed by scripts/services.sh, which also exports CHROMIUM_PATH.
const chromiumPath = (): string => {
  const path = process.env.CHROMIUM_PATH
  if (path === undefined || path === "") {
    throw new Error("CHROMIUM_PATH is not set: run `bash scripts/services.sh start && source .services/env`")
  }
  return path
}

const artifacts = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "test-artifacts")

const launch = Effect.acquireRelease(
  Effect.promise(() =>
    chromium.launch({
      executablePath: chromiumPath(),
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    })
  ),
  (browser: Browser) => Effect.promise(() => browser.close())
)

const attribute = (page: Page, selector: string, name: string) =>
  Effect.promise(() => page.locator(selector).getAttribute(name))

describe("the dashboard in Chromium", () => {
  it.scopedLive("shows a breaker Open within seconds of the failures that open it", () =>
    Effect.gen(function*() {
      const { bus, register, url } = yield* start({ snapshotInterval: "250 millis", title: "Checkout operations" })
      const breaker = new FakeBreaker("payments", bus, 5)
      yield* register(breaker.instance)

      // a bulkhead and a limiter beside it, under steady traffic
      const bulkhead = new Metrics.PatternMetrics("Bulkhead", "inventory-db")
      let queued = 0
      yield* register({
        kind: "Bulkhead",
        name: "inventory-db",
        stats: () => ({ active: 10, queued, maxConcurrent: 10 }),
        health: () =>
          queued > 0 ? { status: "degraded", reasons: [`saturated: 10 running, ${queued} queued`] } : {
            status: "healthy",
            reasons: []
          }
      })
      const limiter = new Metrics.PatternMetrics("RateLimiter", "public-api")
      const decisions = { allowed: 0, rejected: 0 }
      yield* register({
        kind: "RateLimiter",
        name: "public-api",
        stats: () => ({ ...decisions }),
        health: () => ({ status: "healthy", reasons: [] })
      })
      let tick = 0
      const traffic = setInterval(() => {
        tick++
        // once open, the breaker turns these calls away
        breaker.succeed()
        bulkhead.count(Metrics.calls, tick % 7 === 0 ? "failure" : "success", 3)
        queued = 1 + (tick % 10)
        bulkhead.set(Metrics.bulkheadQueued, queued)
        const rejected = tick % 3 === 0 ? 1 : 0
        decisions.allowed += 4
        decisions.rejected += rejected
        limiter.count(Metrics.rateLimiterDecisions, "allowed", 4)
        limiter.count(Metrics.rateLimiterDecisions, "rejected", rejected)
      }, 50)
      yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(traffic)))

      const browser = yield* launch
      const page = yield* Effect.promise(() => browser.newPage({ viewport: { width: 1280, height: 900 } }))
      yield* Effect.promise(() => page.goto(`${url}/dashboard`))

      const tile = "[data-tile=\"CircuitBreaker/payments\"]"
      yield* Effect.promise(() => page.waitForSelector(`${tile}[data-state="Closed"]`, { timeout: 5_000 }))
      expect(yield* Effect.promise(() => page.locator("#overall").textContent())).toBe("degraded")
      // a few snapshots, so that the charts have points
      yield* Effect.sleep("1500 millis")
      const points = yield* attribute(page, `${tile} [data-series="req"] polyline`, "points")
      expect((points ?? "").split(" ").length).toBeGreaterThan(2)

      // inject failures until the breaker opens
      while (breaker.state !== "Open") breaker.fail()
      const openedAt = Date.now()

      yield* Effect.promise(() => page.waitForSelector(`${tile}[data-state="Open"]`, { timeout: 3_000 }))
      expect(Date.now() - openedAt).toBeLessThan(3_000)
      expect(yield* Effect.promise(() => page.locator(`${tile} .badge.state`).textContent())).toBe("Open")
      expect(yield* Effect.promise(() => page.locator(`${tile} .tile-change`).textContent())).toContain(
        "Closed → Open"
      )
      expect(yield* attribute(page, tile, "class")).toContain("changed")
      yield* Effect.promise(() =>
        page.waitForSelector(`${tile}[data-status="unhealthy"]`, { timeout: 3_000 })
      )
      expect(yield* Effect.promise(() => page.locator("#overall").textContent())).toBe("unhealthy")
      expect(yield* Effect.promise(() => page.locator("tr.state-change").first().textContent())).toContain(
        "StateChanged"
      )
      expect((yield* Effect.promise(() => fetch(`${url}/health`))).status).toBe(503)
      // calls turned away by the open breaker show as rejections
      yield* Effect.promise(() =>
        page.waitForFunction(
          (selector) => Number(document.querySelector(selector)?.textContent ?? "0") > 0,
          `${tile} [data-series="rej"] .cell-value`,
          { timeout: 3_000 }
        )
      )

      mkdirSync(artifacts, { recursive: true })
      const screenshot = join(artifacts, "dashboard-breaker-open.png")
      yield* Effect.promise(() => page.screenshot({ path: screenshot, fullPage: true }))
    }), { timeout: 60_000 })
})
