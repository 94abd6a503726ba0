/**
 * A saga is a long-running transaction across services: named steps, each with an
 * action and an optional compensation. When a step fails, the compensations of the
 * steps that completed run in reverse order of completion.
 *
 * - **Compensation as Scope finalizers.** Each completed step registers its
 *   compensation as a finalizer of the saga's scope. A failure or interruption closes
 *   the scope and the compensations run, last completed first, exactly once each;
 *   success runs none.
 * - **A persisted log.** Every transition is written to the {@link SagaStore} before
 *   the saga moves on, so {@link recover} can finish the sagas of a process that died.
 * - **Typed steps.** Later steps see the input and the outputs of earlier steps, with
 *   their types; outputs have Schemas, so that they can be stored and read back.
 *
 * @since 0.1.0
 */
import type {
  ConfigIssue,
  InvalidConfigError,
  PersistenceError,
  SagaCompensationError,
  SagaStepError
} from "@integration-patterns/core/Errors"
import type { PatternEventBase } from "@integration-patterns/core/PatternEvents"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Layer from "effect/Layer"
import type { Pipeable } from "effect/Pipeable"
import type * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { Covariant, Invariant, Simplify } from "effect/Types"
import * as definition from "./internal/saga/definition.js"
import * as engine from "./internal/saga/engine.js"
import type { SagaStore, SagaSummary } from "./SagaStore.js"

/**
 * @since 0.1.0
 * @category Symbols
 */
export const TypeId: unique symbol = definition.TypeId

/**
 * @since 0.1.0
 * @category Symbols
 */
export type TypeId = typeof TypeId

/**
 * What recovery does with a saga that was running when its process died:
 * `compensate` (the default) undoes its completed steps; `forward` runs its remaining
 * steps, and compensates only if one of them fails. A saga that had already started
 * compensating always finishes compensating.
 *
 * @since 0.1.0
 * @category Models
 */
export type Recovery = "compensate" | "forward"

/**
 * What a step's action receives.
 *
 * @since 0.1.0
 * @category Models
 */
export interface StepContext<I, O> {
  readonly sagaId: string
  /** The saga's definition name. */
  readonly saga: string
  readonly step: string
  /**
   * `<sagaId>:<step>`: the same for the action and the compensation of a step, on
   * every attempt and after a crash. Pass it to external services so that they can
   * drop a repeat.
   */
  readonly idempotencyKey: string
  readonly input: I
  /** The outputs of the steps that ran before this one (earlier groups). */
  readonly results: O
}

/**
 * What a step's compensation receives: the action's context and its output.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CompensationContext<I, O, A> extends StepContext<I, O> {
  readonly output: A
}

/**
 * One step: an action, the Schema of its output (the log stores the encoded output,
 * and recovery decodes it), and an optional compensation.
 *
 * @since 0.1.0
 * @category Models
 */
export interface StepOptions<I, O, A, E, R, CR> {
  readonly output: Schema.Schema<A, any, never>
  readonly run: (context: StepContext<I, O>) => Effect.Effect<A, E, R>
  /**
   * Undoes the action. A failure is retried on the saga's `compensationRetry` schedule.
   * Without a compensation, the step is left as it is when the saga compensates.
   */
  readonly compensate?: (context: CompensationContext<I, O, A>) => Effect.Effect<unknown, unknown, CR>
}

/**
 * A step as the engine sees it, without types.
 *
 * @since 0.1.0
 * @category Models
 */
export interface StepDefinition {
  readonly name: string
  readonly output: Schema.Schema<any, any, never>
  readonly run: (context: StepContext<any, any>) => Effect.Effect<any, any, any>
  readonly compensate: ((context: CompensationContext<any, any, any>) => Effect.Effect<unknown, any, any>) | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface DefineOptions<I, II> {
  /** The Schema of the saga's input, which the log stores encoded. */
  readonly input: Schema.Schema<I, II, never>
  /** Defaults to `compensate`. */
  readonly recovery?: Recovery
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Variance<I, O, E, R> {
  readonly _I: Invariant<I>
  readonly _O: Covariant<O>
  readonly _E: Covariant<E>
  readonly _R: Covariant<R>
}

type ErrorOf<S> = S extends { readonly run: (context: any) => Effect.Effect<infer _A, infer E, infer _R> } ? E : never
type ContextOf<S> =
  | (S extends { readonly run: (context: any) => Effect.Effect<infer _A, infer _E, infer R> } ? R : never)
  | (S extends { readonly compensate?: (context: any) => Effect.Effect<infer _A, infer _E, infer R> } ? R : never)

/**
 * A saga's definition: its name, its input Schema and its steps, built step by step.
 * `O` is the record of step outputs, `E` the union of the steps' errors and `R` what
 * the actions and compensations need.
 *
 * Definitions are values: `step` and `parallel` return a new definition. Problems
 * (a duplicate step name, a step without a Schema) are collected and reported as
 * one `InvalidConfigError` when the definition is registered or executed.
 *
 * @since 0.1.0
 * @category Models
 */
export interface SagaDefinition<I, O, E = never, R = never> extends Pipeable {
  readonly [TypeId]: Variance<I, O, E, R>
  readonly name: string
  readonly input: Schema.Schema<I, any, never>
  readonly recovery: Recovery
  /** Steps in groups: groups run one after another, the steps of a group concurrently. */
  readonly groups: ReadonlyArray<ReadonlyArray<StepDefinition>>
  readonly issues: ReadonlyArray<ConfigIssue>

  /** Adds a step that runs after every step before it. */
  step<K extends string, A, E1 = never, R1 = never, CR = never>(
    name: K,
    options: StepOptions<I, O, A, E1, R1, CR>
  ): SagaDefinition<I, Simplify<O & { readonly [P in K]: A }>, E | E1, R | R1 | CR>

  /**
   * Adds a group of steps that run concurrently. When one fails, the group waits for
   * the others to finish (an action cut short could not be compensated reliably),
   * then the saga compensates every step that completed.
   */
  parallel<
    T extends Record<string, any>,
    S extends { readonly [K in keyof T]: StepOptions<I, O, T[K], any, any, any> }
  >(
    steps: S & { readonly [K in keyof T]: StepOptions<I, O, T[K], any, any, any> }
  ): SagaDefinition<
    I,
    Simplify<O & { readonly [P in keyof T]: T[P] }>,
    E | ErrorOf<S[keyof S]>,
    R | ContextOf<S[keyof S]>
  >
}

/**
 * @since 0.1.0
 * @category Models
 */
export declare namespace SagaDefinition {
  /**
   * @since 0.1.0
   * @category Models
   */
  export type Any = SagaDefinition<any, any, any, any>
  /**
   * @since 0.1.0
   * @category Models
   */
  export type Input<D> = D extends SagaDefinition<infer I, infer _O, infer _E, infer _R> ? I : never
  /**
   * @since 0.1.0
   * @category Models
   */
  export type Output<D> = D extends SagaDefinition<infer _I, infer O, infer _E, infer _R> ? O : never
  /**
   * @since 0.1.0
   * @category Models
   */
  export type Error<D> = D extends SagaDefinition<infer _I, infer _O, infer E, infer _R> ? E : never
  /**
   * @since 0.1.0
   * @category Models
   */
  export type Context<D> = D extends SagaDefinition<infer _I, infer _O, infer _E, infer R> ? R : never
}

/**
 * Starts a definition.
 *
 * @example
 * ```ts
 * import { Saga } from "@integration-patterns/saga"
 * import { Effect, Schema } from "effect"
 *
 * const placeOrder = Saga.define("place-order", { input: Schema.Struct({ productId: Schema.String }) })
 *   .step("reserve-inventory", {
 *     output: Schema.Struct({ reservationId: Schema.String }),
 *     run: ({ input }) => Effect.succeed({ reservationId: `r-${input.productId}` }),
 *     compensate: ({ output }) => Effect.log(`release ${output.reservationId}`)
 *   })
 *   .step("charge-card", {
 *     output: Schema.Number,
 *     run: ({ results }) => Effect.succeed(results["reserve-inventory"].reservationId.length)
 *   })
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const define: <I, II>(name: string, options: DefineOptions<I, II>) => SagaDefinition<I, {}> = definition.define

/**
 * Checks a definition: fails with `InvalidConfigError` listing every problem.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const validate: <D extends SagaDefinition.Any>(definition: D) => Effect.Effect<D, InvalidConfigError> =
  definition.validate

/**
 * A failed step, with the step's own typed error as `cause`.
 *
 * @since 0.1.0
 * @category Errors
 */
export type StepError<E> = SagaStepError & { readonly cause: E }

/**
 * Everything {@link execute} can fail with:
 * - `SagaStepError`: a step failed and every completed step was compensated; `cause`
 *   is the step's typed error;
 * - `SagaCompensationError`: a compensation still failed after its retries; the saga
 *   is stored as `needs_attention`;
 * - `PersistenceError`: the store could not record a transition (the completed steps
 *   were compensated in this process), or the input could not be encoded;
 * - `InvalidConfigError`: the definition is invalid.
 *
 * A step that dies, or an interruption, compensates the same way and then propagates
 * as the defect or interruption it was.
 *
 * @since 0.1.0
 * @category Errors
 */
export type ExecuteError<E> = StepError<E> | SagaCompensationError | PersistenceError | InvalidConfigError

/**
 * How a recovered saga ended.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RecoveredSaga {
  readonly sagaId: string
  readonly saga: string
  /** `compensated`: recovery undid its steps; `resumed`: recovery ran its remaining steps. */
  readonly action: "compensated" | "resumed"
  readonly outcome: "completed" | "compensated" | "needs_attention"
  /** Why a resumed saga compensated, or which compensation failed. */
  readonly error?: string
}

/**
 * What one {@link recover} run did. `failed` holds one `PersistenceError` per saga
 * that could not be read (its `key` is the saga id); such a saga is marked
 * `needs_attention`, and the others are unaffected.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RecoveryReport {
  readonly recovered: ReadonlyArray<RecoveredSaga>
  readonly failed: ReadonlyArray<PersistenceError>
}

/**
 * Counters since the service started; `needsAttention` starts from the store's count.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Stats {
  readonly name: string
  readonly workerId: string
  /** Sagas this process is running or recovering now. */
  readonly running: number
  readonly started: number
  readonly completed: number
  readonly compensated: number
  readonly needsAttention: number
  readonly recovered: number
}

/**
 * The saga service: it runs sagas against the {@link SagaStore}, and recovers the
 * sagas of registered definitions.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Saga {
  readonly name: string
  readonly workerId: string
  /** Runs a saga to its end and returns the outputs of its steps, by step name. */
  readonly execute: <I, O, E, R>(
    definition: SagaDefinition<I, O, E, R>,
    input: I
  ) => Effect.Effect<O, ExecuteError<E>, R>
  /** Makes a definition known to {@link recover}, by name, with the services it needs. */
  readonly register: <D extends SagaDefinition.Any>(
    definition: D
  ) => Effect.Effect<void, InvalidConfigError, SagaDefinition.Context<D>>
  /**
   * Finishes the sagas of registered definitions that a dead process left running:
   * compensates them, or resumes them when their definition says `forward`. Run it at
   * start-up. Fails only when the store cannot be queried.
   */
  readonly recover: Effect.Effect<RecoveryReport, PersistenceError>
  /** The sagas that wait for an operator. */
  readonly needsAttention: (limit?: number) => Effect.Effect<ReadonlyArray<SagaSummary>, PersistenceError>
  /** Marks a `needs_attention` saga as `resolved` by an operator; false when it was not in that state. */
  readonly resolve: (sagaId: string, note?: string) => Effect.Effect<boolean, PersistenceError>
  readonly stats: Effect.Effect<Stats>
}

/**
 * @since 0.1.0
 * @category Tags
 */
export const Saga: Context.Tag<Saga, Saga> = engine.tag

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options<D extends ReadonlyArray<SagaDefinition.Any> = ReadonlyArray<SagaDefinition.Any>> {
  /** Names this service in the registry and in health reports. Defaults to `saga`. */
  readonly name?: string
  /** Definitions that {@link recover} may run, by name. More can be added with `register`. */
  readonly definitions?: D
  /**
   * Retries a failing compensation, and a failing write of its log entry. Defaults to
   * exponential backoff from 100 ms, 5 retries (about 3 s in all).
   */
  readonly compensationRetry?: Schedule.Schedule<unknown, unknown>
  /**
   * This worker's identity, stored as the owner of the sagas it runs. A worker
   * restarted under the same id takes back its sagas at once; another worker waits for
   * their lease to run out. Defaults to the host name: give each process on one host
   * an id of its own, stable across its restarts.
   */
  readonly workerId?: string
  /** How long a worker holds a saga without renewing it. Defaults to 30 seconds; renewed every third of it. */
  readonly leaseDuration?: Duration.DurationInput
  /**
   * Runs {@link recover} in the background at this interval, so that this worker also
   * takes over the sagas of workers that died while it runs. Defaults to off: recover
   * at start-up only.
   */
  readonly recoveryInterval?: Duration.DurationInput
  /** Sagas recovered at once. Defaults to 4. */
  readonly recoveryConcurrency?: number
  /** Sagas claimed per query during recovery. Defaults to 100. */
  readonly recoveryBatchSize?: number
}

/**
 * The defaults of optional options. `compensationRetry` is exponential from 100 ms,
 * 5 retries; `workerId` defaults to the host name.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly name: string
  readonly definitions: ReadonlyArray<never>
  readonly compensationRetry: Schedule.Schedule<unknown, unknown>
  readonly leaseDuration: Duration.Duration
  readonly recoveryConcurrency: number
  readonly recoveryBatchSize: number
} = engine.defaults

/**
 * Builds the service. It registers itself for health reports (unhealthy while a saga
 * needs attention) and renews the leases of its running sagas in the background,
 * both for the lifetime of the scope.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: <const D extends ReadonlyArray<SagaDefinition.Any> = []>(
  options?: Options<D>
) => Effect.Effect<
  Saga,
  InvalidConfigError | PersistenceError,
  SagaStore | Scope.Scope | SagaDefinition.Context<D[number]>
> = engine.make

/**
 * @example
 * ```ts
 * import { Saga, SagaStore } from "@integration-patterns/saga"
 * import { Layer } from "effect"
 *
 * const SagaLive = Saga.layer({ name: "orders" }).pipe(
 *   Layer.provide(SagaStore.layerSqlite({ filename: "sagas.db" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = <const D extends ReadonlyArray<SagaDefinition.Any> = []>(
  options?: Options<D>
): Layer.Layer<Saga, InvalidConfigError | PersistenceError, SagaStore | SagaDefinition.Context<D[number]>> =>
  engine.layer(options)

/**
 * The service, with options read from `Config`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig: <const D extends ReadonlyArray<SagaDefinition.Any> = []>(
  config: Config.Config<Options<D>>
) => Layer.Layer<
  Saga,
  InvalidConfigError | PersistenceError | ConfigError.ConfigError,
  SagaStore | SagaDefinition.Context<D[number]>
> = engine.layerConfig

/**
 * Runs a saga with the service in context; `pipe`-able.
 *
 * @example
 * ```ts
 * import { Saga } from "@integration-patterns/saga"
 * import { Effect, Schema } from "effect"
 *
 * const greet = Saga.define("greet", { input: Schema.String }).step("hello", {
 *   output: Schema.String,
 *   run: ({ input }) => Effect.succeed(`hello ${input}`)
 * })
 *
 * const program = greet.pipe(Saga.execute("world"))
 * ```
 *
 * @since 0.1.0
 * @category Combinators
 */
export const execute: {
  <I>(input: NoInfer<I>): <O, E, R>(
    definition: SagaDefinition<I, O, E, R>
  ) => Effect.Effect<O, ExecuteError<E>, R | Saga>
  <I, O, E, R>(definition: SagaDefinition<I, O, E, R>, input: I): Effect.Effect<O, ExecuteError<E>, R | Saga>
} = dual(2, engine.execute)

/**
 * Recovers the sagas a dead process left running; see `Saga.recover`.
 *
 * @since 0.1.0
 * @category Recovery
 */
export const recover: Effect.Effect<RecoveryReport, PersistenceError, Saga> = engine.recover

/**
 * @since 0.1.0
 * @category Events
 */
export interface SagaEventFields extends PatternEventBase {
  readonly pattern: "Saga"
  /** The saga's definition name. */
  readonly name: string
  readonly sagaId: string
}

/**
 * A saga's first record is stored; `recovered` when recovery took it over.
 *
 * @since 0.1.0
 * @category Events
 */
export interface SagaStarted extends SagaEventFields {
  readonly _tag: "SagaStarted"
  readonly recovered: boolean
}

/**
 * A step's output is stored.
 *
 * @since 0.1.0
 * @category Events
 */
export interface StepCompleted extends SagaEventFields {
  readonly _tag: "StepCompleted"
  readonly step: string
  readonly durationMs: number
}

/**
 * A step's action failed or died; compensation follows.
 *
 * @since 0.1.0
 * @category Events
 */
export interface StepFailed extends SagaEventFields {
  readonly _tag: "StepFailed"
  readonly step: string
  readonly error: unknown
}

/**
 * A compensation ran to its end: `success` once it is stored, `failure` when it still
 * failed after its retries.
 *
 * @since 0.1.0
 * @category Events
 */
export interface CompensationRan extends SagaEventFields {
  readonly _tag: "CompensationRan"
  readonly step: string
  readonly outcome: "success" | "failure"
  readonly error?: unknown
}

/**
 * A saga ended.
 *
 * @since 0.1.0
 * @category Events
 */
export interface SagaFinished extends SagaEventFields {
  readonly _tag: "SagaFinished"
  readonly outcome: "completed" | "compensated" | "needs_attention"
  readonly durationMs: number
}

/**
 * @since 0.1.0
 * @category Events
 */
export type SagaEvent = SagaStarted | StepCompleted | StepFailed | CompensationRan | SagaFinished

declare module "@integration-patterns/core/PatternEvents" {
  interface PatternEventRegistry {
    readonly Saga: SagaEvent
  }
}
