import { describe, expect, it, vi } from "vitest"
import { main as sagaMain } from "../src/saga.js"
import { main as sagaPromiseMain } from "../src/saga-promise.js"

describe("saga examples", () => {
  it("runs the Effect example to its end", async () => {
    await expect(sagaMain()).resolves.toBeUndefined()
  })

  it("runs the Promise example: one saga completes, the other is compensated", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {})
    try {
      await sagaPromiseMain()
      expect(log.mock.calls).toEqual([
        ["result:", { "reserve-inventory": { reservationId: "r-123" } }],
        ["released 456"],
        ["charge-card failed: card declined for 500; compensated", ["reserve-inventory"]]
      ])
    } finally {
      log.mockRestore()
    }
  })
})
