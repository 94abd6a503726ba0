import { afterEach, describe, expect, it, vi } from "vitest"
import { main as effectMain } from "../src/request-response.js"
import { main as promiseMain } from "../src/request-response-promise.js"

const captureLog = () => {
  const lines: Array<string> = []
  vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
    lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "))
  })
  return lines
}

describe("request-response examples", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it("runs the Effect example over loopback HTTP", async () => {
    const lines = captureLog()
    await effectMain()
    expect(lines).toEqual([
      "Apple costs 0.5 (correlation order-42)",
      "no product \"kiwi\"",
      "catalog ran its handlers 2 times and answered 1 duplicate",
      "timed out after 100 ms",
      "storefront: sent 4, succeeded 2, failed 2"
    ])
  })

  it("runs the Promise example", async () => {
    const lines = captureLog()
    await promiseMain()
    expect(lines[0]).toMatch(/^success: \{"query":"SELECT \* FROM users","rows":\[\{"id":1,"name":"Ada"\}\]\} in \d+ ms$/)
    expect(lines[1]).toBe("RequestError (NoHandler): no handler for \"unknown\"")
    expect(lines[2]).toBe("TimeoutError: Timeout \"data-service\": operation took longer than 50 ms")
  })
})
