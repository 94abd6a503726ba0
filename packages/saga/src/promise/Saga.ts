/**
 * The saga for Promise code:
 *
 * ```ts
 * import { Saga } from "@integration-patterns/saga/promise"
 *
 * const inventoryService = {
 *   reserve: async (productId: string) => ({ reservationId: `r-${productId}` }),
 *   release: async (_productId: string) => {}
 * }
 *
 * const saga = new Saga()
 * saga.addStep("reserve-inventory", async (context) => inventoryService.reserve(context.productId))
 * saga.addCompensation("reserve-inventory", async (context) => inventoryService.release(context.productId))
 * const result = await saga.execute({ productId: "123" })
 * // result: { "reserve-inventory": { reservationId: "r-123" } }
 * ```
 *
 * It runs on the same engine as the Effect API (compensations as scope finalizers,
 * retried, in reverse order), with a memory log.
 *
 * @since 0.1.0
 */
import { InvalidConfigError, type PersistenceError, type SagaCompensationError, type SagaStepError } from "@integration-patterns/core/Errors"
import { processSettings } from "@integration-patterns/core/IntegrationPatterns"
import { globalRegistry } from "@integration-patterns/core/internal/registry"
import { decodeOptionsSync, Name, NonNegativeInt } from "@integration-patterns/core/internal/validation"
import { PatternEvents } from "@integration-patterns/core/PatternEvents"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as definitions from "../internal/saga/definition.js"
import * as engine from "../internal/saga/engine.js"
import * as memory from "../internal/store/memory.js"
import type * as EffectSaga from "../Saga.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface SagaOptions {
  /** Names the saga in events, metrics and health reports. Defaults to `saga`. */
  readonly name?: string
  /** Retries of a failing compensation before the saga needs attention. Defaults to 5. */
  readonly compensationRetries?: number
  /** First retry delay in milliseconds, doubling after each retry. Defaults to 100. */
  readonly compensationDelay?: number
}

/**
 * What an action receives besides the context passed to `execute`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface StepInfo {
  readonly sagaId: string
  readonly step: string
  /** `<sagaId>:<step>`, the same for the action and its compensation. */
  readonly idempotencyKey: string
  /** What the earlier steps returned, by step name. */
  readonly results: Readonly<Record<string, unknown>>
}

/**
 * What a compensation receives: the action's information and what the action returned.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CompensationInfo extends StepInfo {
  readonly result: unknown
}

/**
 * @since 0.1.0
 * @category Models
 */
export type SagaStats = EffectSaga.Stats

/**
 * What `execute` rejects with (see {@link Saga.execute}).
 *
 * @since 0.1.0
 * @category Errors
 */
export type SagaError = SagaStepError | SagaCompensationError | PersistenceError | InvalidConfigError

const OptionsSchema = Schema.Struct({
  name: Schema.optional(Name),
  compensationRetries: Schema.optional(NonNegativeInt),
  compensationDelay: Schema.optional(NonNegativeInt)
})

interface Step<C> {
  readonly name: string
  readonly action: (context: C, step: StepInfo) => unknown
  compensation: ((context: C, step: CompensationInfo) => unknown) | undefined
}

const invalid = (path: string, message: string): InvalidConfigError =>
  new InvalidConfigError({ pattern: "Saga", issues: [{ path, message }] })

/**
 * A saga: steps run one after another; when one fails (throws or rejects), the
 * compensations of the steps that completed run in reverse order.
 *
 * Each `execute` runs one saga on the same engine as the Effect API, through one
 * `Effect.runPromise`: a saga is not a hot path, and sharing the engine keeps both
 * APIs making the same decisions.
 *
 * @since 0.1.0
 * @category Constructors
 */
export class Saga<C = any> {
  /** The defaults of optional options (`compensationDelay` in milliseconds). */
  static readonly defaults: {
    readonly name: string
    readonly compensationRetries: number
    readonly compensationDelay: number
  } = {
    name: engine.defaults.name,
    compensationRetries: engine.compensationRetryDefaults.retries,
    compensationDelay: Duration.toMillis(engine.compensationRetryDefaults.delay)
  }

  readonly name: string
  private readonly steps: Array<Step<C>> = []
  private readonly env: engine.Env
  private definition: EffectSaga.SagaDefinition<C, Record<string, unknown>, unknown> | undefined

  /** Throws `InvalidConfigError` for bad options. */
  constructor(options: SagaOptions = {}) {
    const decoded = decodeOptionsSync("Saga", OptionsSchema, options)
    this.name = decoded.name ?? Saga.defaults.name
    const retry = engine.compensationRetry(
      Duration.millis(decoded.compensationDelay ?? Saga.defaults.compensationDelay),
      decoded.compensationRetries ?? Saga.defaults.compensationRetries
    )
    this.env = engine.unsafeMakeEnv({
      store: memory.make(),
      bus: Context.get(Context.empty(), PatternEvents),
      retry,
      enableMetrics: processSettings.current.enableMetrics
    })
    globalRegistry.registerWeak(this, "Saga", this.name, {
      stats: (saga) => ({ ...saga.getStats() }),
      health: (saga) =>
        saga.env.counters.needsAttention > 0
          ? { status: "unhealthy", reasons: [`${saga.env.counters.needsAttention} saga(s) need attention`] }
          : { status: "healthy", reasons: [] }
    })
  }

  /**
   * Adds a step; steps run in the order they were added. `action` receives the
   * context given to `execute` and the step's information; what it returns (or
   * resolves to) is the step's result. Throws `InvalidConfigError` for a duplicate name.
   */
  addStep(name: string, action: (context: C, step: StepInfo) => unknown): this {
    if (typeof name !== "string" || name.length === 0) throw invalid("steps", "a step needs a non-empty name")
    if (this.steps.some((step) => step.name === name)) {
      throw invalid(`steps.${name}`, `duplicate step name "${name}"`)
    }
    if (typeof action !== "function") throw invalid(`steps.${name}`, "expected a function")
    this.steps.push({ name, action, compensation: undefined })
    this.definition = undefined
    return this
  }

  /**
   * Adds the compensation of an existing step. It receives the context and the
   * step's information, with the action's `result`. Throws `InvalidConfigError` for
   * an unknown step, or a step that already has a compensation.
   */
  addCompensation(name: string, compensation: (context: C, step: CompensationInfo) => unknown): this {
    const step = this.steps.find((s) => s.name === name)
    if (step === undefined) throw invalid(`compensations.${name}`, `no step named "${name}"`)
    if (step.compensation !== undefined) {
      throw invalid(`compensations.${name}`, `step "${name}" already has a compensation`)
    }
    if (typeof compensation !== "function") throw invalid(`compensations.${name}`, "expected a function")
    step.compensation = compensation
    this.definition = undefined
    return this
  }

  /**
   * Runs the steps in order with `context`.
   *
   * - Resolves to the results of the steps, by step name:
   *   `{ "reserve-inventory": <what reserve returned>, ... }`.
   * - When a step throws or rejects, the compensations of the steps that completed
   *   run in reverse order, then it rejects with `SagaStepError`: `step` names the
   *   failed step, `cause` is what it threw, `compensated` lists the steps undone.
   * - When a compensation still fails after its retries, it rejects with
   *   `SagaCompensationError`: `compensated` and `notCompensated` say where the saga
   *   stands; it counts as needing attention, and `getHealth` reports it.
   * - With no steps, it rejects with `InvalidConfigError`.
   */
  execute(context: C): Promise<Record<string, unknown>> {
    const definition = this.definition ??= this.build()
    return Effect.runPromiseExit(engine.executeWith(this.env, definition, context)).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw Cause.squash(exit.cause)
    })
  }

  /** Counters since the saga was created. */
  getStats(): SagaStats {
    return engine.stats(this.name, this.env)
  }

  private build(): EffectSaga.SagaDefinition<C, Record<string, unknown>, unknown> {
    let definition = definitions.define(this.name, { input: Schema.Any }) as EffectSaga.SagaDefinition<
      C,
      Record<string, unknown>,
      unknown
    >
    for (const step of this.steps) {
      const { action, compensation } = step
      const info = (c: EffectSaga.StepContext<C, Record<string, unknown>>): StepInfo => ({
        sagaId: c.sagaId,
        step: c.step,
        idempotencyKey: c.idempotencyKey,
        results: c.results
      })
      definition = definition.step(step.name, {
        output: Schema.Any,
        run: (c) => Effect.tryPromise({ try: async () => action(c.input, info(c)), catch: (error) => error }),
        ...(compensation === undefined ? {} : {
          compensate: (c) =>
            Effect.tryPromise({
              try: async () => compensation(c.input, { ...info(c), result: c.output }),
              catch: (error) => error
            })
        })
      }) as EffectSaga.SagaDefinition<C, Record<string, unknown>, unknown>
    }
    return definition
  }
}
