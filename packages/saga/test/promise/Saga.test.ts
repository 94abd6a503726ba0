import { describe, expect, it } from "@effect/vitest"
import { globalRegistry } from "@integration-patterns/core/internal/registry"
import * as PatternEvents from "@integration-patterns/core/PatternEvents"
import * as Context from "effect/Context"
import { InvalidConfigError, Saga, SagaCompensationError, SagaStepError } from "../../src/promise/index.js"

const inventory = () => {
  const calls: Array<string> = []
  return {
    calls,
    reserve: async (productId: string) => {
      calls.push(`reserve ${productId}`)
      return { reservationId: `r-${productId}` }
    },
    release: async (productId: string) => {
      calls.push(`release ${productId}`)
    }
  }
}

describe("Saga (Promise API)", () => {
  it("runs the brief's example and resolves to the step results by name", async () => {
    const inventoryService = inventory()
    const saga = new Saga()
    saga.addStep("reserve-inventory", async (context) => inventoryService.reserve(context.productId))
    saga.addCompensation("reserve-inventory", async (context) => inventoryService.release(context.productId))
    const result = await saga.execute({ productId: "123" })
    expect(result).toEqual({ "reserve-inventory": { reservationId: "r-123" } })
    expect(inventoryService.calls).toEqual(["reserve 123"])
    expect(saga.getStats()).toMatchObject({ name: "saga", started: 1, completed: 1, compensated: 0 })
  })

  it("compensates completed steps in reverse order and rejects with SagaStepError carrying the thrown error", async () => {
    const calls: Array<string> = []
    const saga = new Saga<{ readonly id: number }>({ name: "checkout" })
      .addStep("reserve", (context) => {
        calls.push(`reserve ${context.id}`)
        return "r-1"
      })
      .addStep("charge", async (_context, step) => {
        calls.push(`charge after ${String(step.results["reserve"])}`)
        return 10
      })
      .addStep("ship", async () => {
        throw new Error("no courier")
      })
      .addCompensation("reserve", async (_context, step) => void calls.push(`release ${String(step.result)}`))
      .addCompensation("charge", async (_context, step) => void calls.push(`refund ${String(step.result)}`))
    const error = await saga.execute({ id: 7 }).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(SagaStepError)
    expect((error as Error).name).toBe("SagaStepError")
    const stepError = error as SagaStepError
    expect(stepError.step).toBe("ship")
    expect((stepError.cause as Error).message).toBe("no courier")
    expect(stepError.compensated).toEqual(["charge", "reserve"])
    expect(calls).toEqual(["reserve 7", "charge after r-1", "refund 10", "release r-1"])
    expect(saga.getStats()).toMatchObject({ compensated: 1 })
  })

  it("gives an action and its compensation the same idempotency key", async () => {
    const keys: Array<string> = []
    const saga = new Saga()
      .addStep("a", (_c, step) => void keys.push(step.idempotencyKey))
      .addCompensation("a", (_c, step) => void keys.push(step.idempotencyKey))
      .addStep("b", () => Promise.reject(new Error("stop")))
    const error = (await saga.execute({}).catch((e: unknown) => e)) as SagaStepError
    expect(keys).toEqual([`${error.sagaId}:a`, `${error.sagaId}:a`])
  })

  it("retries a failing compensation, then rejects with SagaCompensationError and reports needing attention", async () => {
    let attempts = 0
    const saga = new Saga({ name: "promise-stuck", compensationRetries: 2, compensationDelay: 1 })
      .addStep("a", () => 1)
      .addCompensation("a", () => {
        attempts++
        throw new Error("still down")
      })
      .addStep("b", () => {
        throw new Error("boom")
      })
    const error = await saga.execute({}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SagaCompensationError)
    expect(error).toMatchObject({ failedStep: "b", compensated: [], notCompensated: ["a"] })
    expect(attempts).toBe(3)
    expect(saga.getStats().needsAttention).toBe(1)
    const entry = globalRegistry.list().find((instance) => instance.name === "promise-stuck")
    expect(entry?.health()).toEqual({ status: "unhealthy", reasons: ["1 saga(s) need attention"] })
  })

  it("publishes its events to the process-wide bus", async () => {
    const bus = Context.get(Context.empty(), PatternEvents.PatternEvents)
    const seen: Array<string> = []
    const stop = bus.listen((event) => {
      if (event.pattern === "Saga" && event.name === "evented") seen.push(event._tag)
    })
    await new Saga({ name: "evented" }).addStep("a", () => 1).execute({})
    stop()
    expect(seen).toEqual(["SagaStarted", "StepCompleted", "SagaFinished"])
  })

  it("throws InvalidConfigError synchronously for bad definitions and options", () => {
    const saga = new Saga().addStep("a", () => 1)
    expect(() => saga.addStep("a", () => 2)).toThrow(InvalidConfigError)
    expect(() => saga.addStep("a", () => 2)).toThrow("steps.a: duplicate step name \"a\"")
    expect(() => saga.addCompensation("missing", () => 0)).toThrow("compensations.missing: no step named \"missing\"")
    saga.addCompensation("a", () => 0)
    expect(() => saga.addCompensation("a", () => 0)).toThrow("step \"a\" already has a compensation")
    expect(() => new Saga({ compensationRetries: -1, name: "" })).toThrow(
      "Invalid Saga options (2 problems):\n  - name: expected a non-empty name\n  - compensationRetries: expected an integer of 0 or more, got -1"
    )
  })

  it("rejects with InvalidConfigError when executed without steps", async () => {
    await expect(new Saga().execute({})).rejects.toBeInstanceOf(InvalidConfigError)
  })
})
