import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Admission from "../../../src/internal/requestResponse/admission.js"

const priorities: ReadonlyArray<Admission.Priority> = ["high", "normal", "low"]

describe("request-response admission", () => {
  it("runs up to the concurrency, then queues, then refuses", () => {
    const state = Admission.make<string>(2, 1)
    expect(Admission.admit(state, "normal", () => "a")._tag).toBe("Run")
    expect(Admission.admit(state, "normal", () => "b")._tag).toBe("Run")
    expect(Admission.admit(state, "normal", () => "c")._tag).toBe("Queued")
    expect(Admission.admit(state, "high", () => "d")._tag).toBe("Full")
    expect(state).toMatchObject({ running: 2, queued: 1 })
  })

  it("refuses at once with a queue size of 0 when every slot is busy", () => {
    const state = Admission.make<string>(1, 0)
    Admission.admit(state, "normal", () => "a")
    expect(Admission.admit(state, "high", () => "b")._tag).toBe("Full")
  })

  it("hands a freed slot to high, then normal, then low priority, first come first served within each", () => {
    const state = Admission.make<string>(1, 10)
    Admission.admit(state, "normal", () => "running")
    for (const [priority, value] of [["low", "l1"], ["normal", "n1"], ["high", "h1"], ["low", "l2"], ["high", "h2"]] as const) {
      Admission.admit(state, priority, () => value)
    }
    const order: Array<string> = []
    for (let ticket = Admission.release(state); ticket !== undefined; ticket = Admission.release(state)) {
      expect(ticket.status).toBe("granted")
      order.push(ticket.value)
    }
    expect(order).toEqual(["h1", "h2", "n1", "l1", "l2"])
    expect(state).toMatchObject({ running: 0, queued: 0 })
  })

  it("skips a cancelled ticket and frees its place in the queue", () => {
    const state = Admission.make<string>(1, 1)
    Admission.admit(state, "normal", () => "a")
    const queued = Admission.admit(state, "normal", () => "b")
    if (queued._tag !== "Queued") throw new Error("expected a queued ticket")
    expect(Admission.cancel(state, queued.ticket)).toBe(true)
    expect(state.queued).toBe(0)
    expect(Admission.admit(state, "low", () => "c")._tag).toBe("Queued")
    expect(Admission.release(state)?.value).toBe("c")
  })

  it("does not cancel a ticket that was already granted its slot", () => {
    const state = Admission.make<string>(1, 1)
    Admission.admit(state, "normal", () => "a")
    const queued = Admission.admit(state, "normal", () => "b")
    if (queued._tag !== "Queued") throw new Error("expected a queued ticket")
    Admission.release(state)
    expect(Admission.cancel(state, queued.ticket)).toBe(false)
    expect(state.running).toBe(1)
  })

  it("does not hold on to a long backlog of cancelled tickets", () => {
    const state = Admission.make<number>(1, 10)
    Admission.admit(state, "normal", () => -1)
    for (let i = 0; i < 10_000; i++) {
      const decision = Admission.admit(state, "normal", () => i)
      if (decision._tag === "Queued") Admission.cancel(state, decision.ticket)
    }
    expect(state.queued).toBe(0)
    expect(state.cancelled).toBeLessThanOrEqual(65)
  })

  it("reports saturation as degraded health", () => {
    const state = Admission.make<string>(1, 5)
    Admission.admit(state, "normal", () => "a")
    expect(Admission.health(state).status).toBe("healthy")
    for (let i = 0; i < 4; i++) Admission.admit(state, "normal", () => "q")
    expect(Admission.health(state)).toEqual({ status: "degraded", reasons: ["the queue holds 4 of 5 requests"] })
    Admission.admit(state, "normal", () => "q")
    expect(Admission.health(state).reasons[0]).toContain("the queue is full")
  })

  // A model: a list of waiting items sorted by (priority, arrival). Every operation on the
  // real structure must agree with it, and the limits must always hold.
  it("agrees with a sorted-list model under any sequence of operations (1,000 runs)", () => {
    type Op =
      | { readonly op: "admit"; readonly priority: Admission.Priority }
      | { readonly op: "release" }
      | { readonly op: "cancel"; readonly pick: number }
    const op: FastCheck.Arbitrary<Op> = FastCheck.oneof(
      FastCheck.constantFrom(...priorities).map((priority) => ({ op: "admit", priority }) as const),
      FastCheck.constant({ op: "release" } as const),
      FastCheck.nat(20).map((pick) => ({ op: "cancel", pick }) as const)
    )
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: 1, max: 4 }), FastCheck.integer({ min: 0, max: 6 }), FastCheck.array(op, { maxLength: 60 }), (concurrency, capacity, ops) => {
        const state = Admission.make<number>(concurrency, capacity)
        const tickets = new Map<number, Admission.Ticket<number>>()
        let running = 0
        let waiting: Array<{ readonly id: number; readonly rank: number }> = []
        let next = 0
        for (const step of ops) {
          if (step.op === "admit") {
            const id = next++
            const decision = Admission.admit(state, step.priority, () => id)
            if (running < concurrency) {
              expect(decision._tag).toBe("Run")
              running++
            } else if (waiting.length < capacity) {
              expect(decision._tag).toBe("Queued")
              if (decision._tag === "Queued") tickets.set(id, decision.ticket)
              waiting.push({ id, rank: priorities.indexOf(step.priority) })
              waiting.sort((a, b) => a.rank - b.rank || a.id - b.id)
            } else {
              expect(decision._tag).toBe("Full")
            }
          } else if (step.op === "release") {
            if (running === 0) continue
            const ticket = Admission.release(state)
            const expected = waiting.shift()
            expect(ticket?.value).toBe(expected?.id)
            if (expected === undefined) running--
          } else {
            const victim = waiting[step.pick % Math.max(1, waiting.length)]
            if (victim === undefined) continue
            expect(Admission.cancel(state, tickets.get(victim.id)!)).toBe(true)
            waiting = waiting.filter((w) => w.id !== victim.id)
          }
          expect(state.running).toBe(running)
          expect(state.queued).toBe(waiting.length)
          expect(state.running).toBeLessThanOrEqual(concurrency)
          expect(state.queued).toBeLessThanOrEqual(capacity)
        }
      }),
      { numRuns: 1000 }
    )
  })
})
