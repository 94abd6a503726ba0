import { describe, expect, it } from "@effect/vitest"
import { SagaCompensationError, SagaStepError } from "@integration-patterns/core/Errors"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { Saga, SagaStore } from "../src/index.js"

interface StepSpec {
  /** Scheduling points the action passes before it ends: where interruption can land. */
  readonly yields: number
  readonly fails: boolean
  readonly compensation: "none" | "ok" | "fails"
  readonly compensationYields: number
}

const stepSpec: FastCheck.Arbitrary<StepSpec> = FastCheck.record({
  yields: FastCheck.nat({ max: 4 }),
  fails: FastCheck.nat({ max: 9 }).map((n) => n === 0),
  compensation: FastCheck.constantFrom<StepSpec["compensation"]>("ok", "ok", "ok", "ok", "ok", "none", "fails"),
  compensationYields: FastCheck.nat({ max: 2 })
})

const sagaSpec = FastCheck.array(FastCheck.array(stepSpec, { minLength: 1, maxLength: 3 }), {
  minLength: 1,
  maxLength: 5
})

const yields = (n: number) => Effect.forEach(Array.from({ length: n }), () => Effect.yieldNow(), { discard: true })

describe("Saga (property)", () => {
  // Live: nothing here waits for time, and a TestContext per case would triple the run time.
  it.live.prop(
    "compensates exactly the completed steps, once each, in reverse order of completion, under random failures and interruptions",
    [sagaSpec, FastCheck.option(FastCheck.nat({ max: 40 }), { nil: undefined })],
    ([groups, interruptAfter]) =>
      Effect.gen(function*() {
        const completed: Array<string> = []
        const compensated: Array<string> = []
        const attempts = new Map<string, number>()
        const specs = new Map<string, StepSpec>()
        let definition: Saga.SagaDefinition<void, any, unknown, never> = Saga.define("property", {
          input: Schema.Void
        }) as Saga.SagaDefinition<void, any, unknown, never>
        groups.forEach((group, g) => {
          const steps: Record<string, Saga.StepOptions<void, any, number, unknown, never, never>> = {}
          group.forEach((spec, s) => {
            const name = `g${g}s${s}`
            specs.set(name, spec)
            steps[name] = {
              output: Schema.Number,
              run: () =>
                Effect.zipRight(
                  yields(spec.yields),
                  spec.fails ? Effect.fail(`${name} failed`) : Effect.sync(() => completed.push(name))
                ),
              ...(spec.compensation === "none" ? {} : {
                compensate: () =>
                  Effect.zipRight(
                    yields(spec.compensationYields),
                    Effect.suspend(() => {
                      attempts.set(name, (attempts.get(name) ?? 0) + 1)
                      return spec.compensation === "fails"
                        ? Effect.fail(`${name} cannot be undone`)
                        : Effect.sync(() => void compensated.push(name))
                    })
                  )
              })
            }
          })
          definition = group.length === 1
            ? definition.step(Object.keys(steps)[0]!, steps[Object.keys(steps)[0]!]!)
            : definition.parallel(steps)
        })

        const store = SagaStore.makeMemory()
        const exit = yield* Effect.gen(function*() {
          const saga = yield* Saga.Saga
          const fiber = yield* Effect.fork(saga.execute(definition, undefined))
          if (interruptAfter === undefined) return yield* Fiber.await(fiber)
          yield* yields(interruptAfter)
          return yield* Fiber.interrupt(fiber)
        }).pipe(
          Effect.provide(Saga.layer({ workerId: "p", compensationRetry: Schedule.recurs(1) })),
          Effect.provideService(SagaStore.SagaStore, store)
        )

        // Every compensation that ran belongs to a completed step and ran once.
        expect(new Set(compensated).size).toBe(compensated.length)
        for (const name of [...compensated, ...attempts.keys()]) expect(completed).toContain(name)

        const expected = completed.filter((name) => specs.get(name)!.compensation !== "none").reverse()
        // No saga is left running; one interrupted before it started was never stored.
        expect(yield* store.count("running")).toBe(0)
        const stored = (yield* store.count("completed")) + (yield* store.count("compensated")) +
          (yield* store.count("needs_attention"))
        expect(stored).toBe(interruptAfter === 0 ? 0 : 1)
        if (Exit.isSuccess(exit)) {
          expect(compensated).toEqual([])
          expect(attempts.size).toBe(0)
          expect(completed.length).toBe([...specs.values()].length)
          expect((yield* store.count("completed"))).toBe(1)
          return
        }
        const stuck = expected.findIndex((name) => specs.get(name)!.compensation === "fails")
        if (stuck === -1) {
          expect(compensated).toEqual(expected)
          expect(yield* store.count("compensated")).toBe(stored)
          const failure = Cause.failureOption(exit.cause)
          if (Option.isSome(failure)) {
            expect(failure.value).toBeInstanceOf(SagaStepError)
            expect((failure.value as SagaStepError).compensated).toEqual(expected)
          } else {
            expect(Cause.isInterruptedOnly(exit.cause)).toBe(true)
          }
        } else {
          // Compensation stops at the first that keeps failing: tried twice (one retry), and
          // the earlier steps are left for an operator, never compensated out of order.
          expect(compensated).toEqual(expected.slice(0, stuck))
          expect(attempts.get(expected[stuck]!)).toBe(2)
          for (const name of expected.slice(stuck + 1)) expect(attempts.has(name)).toBe(false)
          expect((yield* store.count("needs_attention"))).toBe(1)
          const failure = Cause.failureOption(exit.cause)
          if (Option.isSome(failure)) {
            expect(failure.value).toBeInstanceOf(SagaCompensationError)
            expect((failure.value as SagaCompensationError).notCompensated).toEqual(expected.slice(stuck))
          } else {
            expect(Cause.isInterruptedOnly(exit.cause)).toBe(true)
          }
        }
      }),
    { fastCheck: { numRuns: 1000 } }
  )
})

