import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { plan, type PlanEntry } from "../../src/internal/saga/plan.js"

const groups = [
  [{ name: "a", hasCompensation: true }],
  [{ name: "b", hasCompensation: false }, { name: "c", hasCompensation: true }],
  [{ name: "d", hasCompensation: true }]
]

const entries = (...specs: ReadonlyArray<string>): ReadonlyArray<PlanEntry> =>
  specs.map((spec, seq) => {
    const [kind, step] = spec.split(" ") as [PlanEntry["kind"], string]
    return { seq, kind, step }
  })

describe("plan (recovery decisions)", () => {
  it("compensates every completed step with a compensation, in completion order, by default", () => {
    expect(plan(groups, entries("completed a", "completed c", "completed b"), "compensate")).toEqual({
      _tag: "Compensate",
      completed: ["a", "c", "b"],
      pending: ["a", "c"]
    })
  })

  it("has nothing to compensate for a saga that only started", () => {
    expect(plan(groups, [], "compensate")).toEqual({ _tag: "Compensate", completed: [], pending: [] })
  })

  it("resumes forward with the steps that did not complete, group by group", () => {
    expect(plan(groups, entries("completed a", "completed c"), "forward")).toEqual({
      _tag: "Resume",
      completed: ["a", "c"],
      remaining: [["b"], ["d"]]
    })
  })

  it("finishes compensating a saga that had started compensating, whatever the mode", () => {
    const log = entries("completed a", "completed b", "completed c", "failed d", "compensated c")
    expect(plan(groups, log, "forward")).toEqual({
      _tag: "Compensate",
      completed: ["a", "b", "c"],
      pending: ["a"]
    })
    expect(plan(groups, entries("completed a", "failed b"), "forward")._tag).toBe("Compensate")
  })

  it("orders entries by seq, not by their position in the log", () => {
    const log: ReadonlyArray<PlanEntry> = [
      { seq: 2, kind: "completed", step: "c" },
      { seq: 0, kind: "completed", step: "a" }
    ]
    expect(plan(groups, log, "compensate")).toMatchObject({ pending: ["a", "c"] })
  })

  it("rejects a log that does not fit the definition", () => {
    expect(plan(groups, entries("completed x"), "compensate")).toEqual({
      _tag: "Invalid",
      reason: "the log names an unknown step \"x\""
    })
    expect(plan(groups, entries("completed a", "completed a"), "compensate")._tag).toBe("Invalid")
    expect(plan(groups, entries("compensated a"), "compensate")._tag).toBe("Invalid")
    expect(plan(groups, entries("completed a", "completed d"), "compensate")).toEqual({
      _tag: "Invalid",
      reason: "step \"b\" did not complete, yet a later group did"
    })
  })

  it("never plans a compensation twice, nor one for a step that did not complete", () => {
    const names = ["a", "b", "c", "d"]
    FastCheck.assert(
      FastCheck.property(
        FastCheck.subarray(names),
        FastCheck.nat(),
        FastCheck.constantFrom("compensate" as const, "forward" as const),
        (completed, compensatedCount, mode) => {
          // Only logs a real run can produce: groups complete in order.
          const order = ["a", "b", "c", "d"].filter((n) => completed.includes(n))
          const consistent = order.every((n) => n === "a" || completed.includes("a")) &&
            (!completed.includes("d") || (completed.includes("b") && completed.includes("c")))
          const compensated = order.slice().reverse().slice(0, compensatedCount % (order.length + 1))
          const log = entries(...order.map((n) => `completed ${n}`), ...compensated.map((n) => `compensated ${n}`))
          const result = plan(groups, log, mode)
          if (!consistent) return result._tag === "Invalid"
          if (result._tag === "Resume") {
            expect(mode).toBe("forward")
            expect(compensated).toEqual([])
            for (const group of result.remaining) for (const step of group) expect(order).not.toContain(step)
            return true
          }
          expect(result._tag).toBe("Compensate")
          if (result._tag !== "Compensate") return false
          expect(new Set(result.pending).size).toBe(result.pending.length)
          for (const step of result.pending) {
            expect(order).toContain(step)
            expect(compensated).not.toContain(step)
          }
          return true
        }
      ),
      { numRuns: 500 }
    )
  })
})
