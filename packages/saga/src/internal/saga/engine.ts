import { hostname } from "node:os"
import {
  type InvalidConfigError,
  PersistenceError,
  SagaCompensationError,
  SagaStepError
} from "@integration-patterns/core/Errors"
import * as IntegrationPatterns from "@integration-patterns/core/IntegrationPatterns"
import { decodeOptions, Name, PositiveDuration, PositiveInt, ScheduleSchema } from "@integration-patterns/core/internal/validation"
import { PatternMetrics, sagaCompensations, sagaExecutions, sagaStepDuration } from "@integration-patterns/core/Metrics"
import { PatternEvents, type PatternEventsService } from "@integration-patterns/core/PatternEvents"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type * as Saga from "../../Saga.js"
import type { SagaRecord, SagaStore as SagaStoreService } from "../../SagaStore.js"
import { tag as storeTag } from "../store/tag.js"
import { validate } from "./definition.js"
import * as Plan from "./plan.js"

/** @internal */
export const tag = Context.GenericTag<Saga.Saga>("@integration-patterns/saga/Saga")

const OptionsSchema = Schema.Struct({
  name: Schema.optional(Name),
  definitions: Schema.optional(Schema.Array(Schema.Any)),
  compensationRetry: Schema.optional(ScheduleSchema),
  workerId: Schema.optional(Name),
  leaseDuration: Schema.optional(PositiveDuration),
  recoveryConcurrency: Schema.optional(PositiveInt),
  recoveryInterval: Schema.optional(PositiveDuration),
  recoveryBatchSize: Schema.optional(PositiveInt)
})

/** How a failing compensation is retried by default: from 100 ms, doubling, 5 retries. @internal */
export const compensationRetryDefaults = { delay: Duration.millis(100), retries: 5 } as const

/** @internal */
export const compensationRetry = (delay: Duration.Duration, retries: number): Schedule.Schedule<unknown, unknown> =>
  Schedule.exponential(delay).pipe(Schedule.intersect(Schedule.recurs(retries)))

/** @internal */
export const defaults = {
  name: "saga",
  definitions: [],
  compensationRetry: compensationRetry(compensationRetryDefaults.delay, compensationRetryDefaults.retries),
  leaseDuration: Duration.seconds(30),
  recoveryConcurrency: 4,
  recoveryBatchSize: 100
} as const

interface Counters {
  started: number
  completed: number
  compensated: number
  needsAttention: number
  recovered: number
}

/** @internal */
export interface Env {
  readonly store: SagaStoreService
  readonly bus: PatternEventsService
  readonly retry: Schedule.Schedule<unknown, unknown>
  readonly owner: string
  readonly incarnation: string
  readonly leaseMillis: number
  readonly enableMetrics: boolean
  /** Sagas this process runs or recovers now; their leases are renewed. */
  readonly active: Set<string>
  readonly counters: Counters
  readonly metrics: Map<string, PatternMetrics>
}

/** A saga being driven: what completed, what was compensated, what went wrong. */
interface Run {
  readonly env: Env
  readonly definition: Saga.SagaDefinition.Any
  readonly metrics: PatternMetrics
  readonly sagaId: string
  readonly input: unknown
  readonly startedAt: number
  seq: number
  readonly results: Record<string, unknown>
  readonly compensated: Array<string>
  readonly notCompensated: Array<string>
  halted: boolean
  haltCause: unknown
  failedStep: string | undefined
  persistenceError: PersistenceError | undefined
}

type Outcome = "completed" | "compensated" | "needs_attention"

// Actions and compensations run in the fiber that drives the saga (the scope is closed
// there too), whose context holds their services: the caller's for `execute`, and the
// context captured at registration for recovery.
const erased = <A, E>(effect: Effect.Effect<A, E, any>): Effect.Effect<A, E> => effect as Effect.Effect<A, E>

const keyOf = (sagaId: string, step: string): string => `${sagaId}:${step}`

const describe = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string"
    ? error.message
    : typeof error === "string"
    ? error
    : String(error)

const describeCause = (cause: Cause.Cause<unknown>): string =>
  Cause.isInterruptedOnly(cause) ? "interrupted" : describe(Cause.squash(cause))

const metricsFor = (env: Env, saga: string): PatternMetrics => {
  let metrics = env.metrics.get(saga)
  if (metrics === undefined) {
    metrics = new PatternMetrics("Saga", saga, env.enableMetrics)
    env.metrics.set(saga, metrics)
  }
  return metrics
}

const publish = (run: Run, event: (timestamp: number) => Saga.SagaEvent): Effect.Effect<void> =>
  run.env.bus.active
    ? Effect.map(Clock.currentTimeMillis, (now) => run.env.bus.unsafePublish(event(now)))
    : Effect.void

const fields = (run: Run, timestamp: number) =>
  ({ pattern: "Saga", name: run.definition.name, sagaId: run.sagaId, timestamp }) as const

// Spans are cheap without a stack trace, which costs microseconds per span to capture.
const spanOptions = (run: Run, step: Saga.StepDefinition) => ({
  captureStackTrace: false,
  attributes: { "saga.name": run.definition.name, "saga.id": run.sagaId, "saga.step": step.name }
})

const recordWriteFailure = (run: Run) => (error: PersistenceError) =>
  Effect.sync(() => {
    run.persistenceError ??= error
  })

const encodeError = (run: Run, what: string) => (error: ParseResult.ParseError): PersistenceError =>
  new PersistenceError({
    store: run.env.store.label,
    reason: "Encode",
    key: run.sagaId,
    detail: `${what}: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
  })

const compensate = (
  run: Run,
  step: Saga.StepDefinition,
  context: Saga.StepContext<unknown, unknown>,
  output: unknown
): Effect.Effect<void> =>
  Effect.suspend(() => {
    // Reverse order is a promise to the steps: once one compensation gives up, the
    // compensations of earlier steps are left for an operator rather than run out of order.
    if (run.halted) {
      run.notCompensated.push(step.name)
      return Effect.void
    }
    const seq = run.seq++
    return Effect.gen(function*() {
      const at = yield* Clock.currentTimeMillis
      const exit = yield* erased(step.compensate!({ ...context, output })).pipe(
        Effect.retry(run.env.retry),
        Effect.zipRight(
          run.env.store.append(run.sagaId, { seq, step: step.name, kind: "compensated", payload: undefined, at }).pipe(
            Effect.retry(run.env.retry)
          )
        ),
        Effect.withSpan("saga.compensate", spanOptions(run, step)),
        Effect.exit
      )
      if (Exit.isSuccess(exit)) {
        run.compensated.push(step.name)
        run.metrics.count(sagaCompensations, "success")
        yield* publish(run, (t) => ({ ...fields(run, t), _tag: "CompensationRan", step: step.name, outcome: "success" }))
      } else {
        const error = Cause.squash(exit.cause)
        run.halted = true
        run.haltCause = error
        run.notCompensated.push(step.name)
        run.metrics.count(sagaCompensations, "failure")
        yield* publish(run, (t) => ({
          ...fields(run, t),
          _tag: "CompensationRan",
          step: step.name,
          outcome: "failure",
          error
        }))
      }
    })
  })

const register = (
  run: Run,
  scope: Scope.Scope,
  step: Saga.StepDefinition,
  context: Saga.StepContext<unknown, unknown>,
  output: unknown
): Effect.Effect<void> =>
  step.compensate === undefined
    ? Effect.void
    : Scope.addFinalizerExit(scope, (exit) => Exit.isSuccess(exit) ? Effect.void : compensate(run, step, context, output))

const stepContext = (
  run: Run,
  step: Saga.StepDefinition,
  results: Readonly<Record<string, unknown>>
): Saga.StepContext<unknown, unknown> => ({
  sagaId: run.sagaId,
  saga: run.definition.name,
  step: step.name,
  idempotencyKey: keyOf(run.sagaId, step.name),
  input: run.input,
  results
})

const runStep = (
  run: Run,
  scope: Scope.Scope,
  step: Saga.StepDefinition,
  results: Readonly<Record<string, unknown>>
): Effect.Effect<void, unknown> =>
  // The action is interruptible; once it has succeeded, registering its compensation
  // and storing its output are not, so that a completed step is never forgotten.
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const context = stepContext(run, step, results)
      const start = yield* Clock.currentTimeNanos
      const exit = yield* Effect.exit(restore(
        erased(step.run(context)).pipe(
          Effect.withSpan("saga.step", spanOptions(run, step))
        )
      ))
      const durationMs = Number((yield* Clock.currentTimeNanos) - start) / 1e6
      run.metrics.observe(sagaStepDuration, durationMs / 1000)
      if (Exit.isFailure(exit)) {
        if (!Cause.isInterruptedOnly(exit.cause) && run.failedStep === undefined) {
          run.failedStep = step.name
          const error = Cause.squash(exit.cause)
          const at = yield* Clock.currentTimeMillis
          // Best effort: the compensations that follow are logged on their own, and a
          // lost "failed" entry only makes recovery decide from the mode of the definition.
          yield* Effect.ignore(
            run.env.store.append(run.sagaId, {
              seq: run.seq++,
              step: step.name,
              kind: "failed",
              payload: describeCause(exit.cause),
              at
            })
          )
          yield* publish(run, (t) => ({ ...fields(run, t), _tag: "StepFailed", step: step.name, error }))
        }
        return yield* Effect.failCause(exit.cause)
      }
      const output = exit.value
      yield* register(run, scope, step, context, output)
      const payload = yield* Effect.mapError(Schema.encode(step.output)(output), encodeError(run, `output of ${step.name}`))
        .pipe(Effect.tapError(recordWriteFailure(run)))
      const at = yield* Clock.currentTimeMillis
      yield* run.env.store.append(run.sagaId, { seq: run.seq++, step: step.name, kind: "completed", payload, at })
        .pipe(Effect.tapError(recordWriteFailure(run)))
      run.results[step.name] = output
      yield* publish(run, (t) => ({ ...fields(run, t), _tag: "StepCompleted", step: step.name, durationMs }))
    })
  )

const runGroups = (
  run: Run,
  scope: Scope.Scope,
  groups: ReadonlyArray<ReadonlyArray<Saga.StepDefinition>>
): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    for (const group of groups) {
      const results = { ...run.results }
      if (group.length === 1) {
        yield* runStep(run, scope, group[0]!, results)
        continue
      }
      // Every step of the group runs to its end, so that each one either completed
      // (and is compensated) or did not; none is cut off half-way by a sibling's failure.
      const exits = yield* Effect.forEach(group, (step) => Effect.exit(runStep(run, scope, step, results)), {
        concurrency: "unbounded"
      })
      const failedIndex = group.findIndex((step) => step.name === run.failedStep)
      const failed = failedIndex >= 0 ? exits[failedIndex] : exits.find(Exit.isFailure)
      if (failed !== undefined && Exit.isFailure(failed)) return yield* Effect.failCause(failed.cause)
    }
    const at = yield* Clock.currentTimeMillis
    // A saga has completed only once that is stored; until then recovery would undo it.
    yield* run.env.store.finish(run.sagaId, "completed", null, at).pipe(Effect.tapError(recordWriteFailure(run)))
  })

interface Restored {
  readonly step: Saga.StepDefinition
  readonly output: unknown
  readonly results: Readonly<Record<string, unknown>>
}

/**
 * Drives one saga from its stored start to its end: registers the compensations of
 * steps restored from the log, runs `forward`, and closes the saga's scope with its
 * exit, which runs the compensations in reverse order when it is a failure.
 */
const drive = (
  run: Run,
  restored: ReadonlyArray<Restored>,
  forward: (scope: Scope.Scope) => Effect.Effect<void, unknown>
): Effect.Effect<{ readonly outcome: Outcome; readonly cause: Cause.Cause<unknown> }> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      for (const r of restored) {
        yield* register(run, scope, r.step, stepContext(run, r.step, r.results), r.output)
      }
      const exit = yield* Effect.exit(restore(forward(scope)))
      yield* Scope.close(scope, exit)
      const now = yield* Clock.currentTimeMillis
      const durationMs = now - run.startedAt
      if (Exit.isSuccess(exit)) {
        run.env.counters.completed++
        run.metrics.count(sagaExecutions, "completed")
        yield* publish(run, (t) => ({ ...fields(run, t), _tag: "SagaFinished", outcome: "completed", durationMs }))
        return { outcome: "completed" as const, cause: Cause.empty }
      }
      const outcome: Outcome = run.halted ? "needs_attention" : "compensated"
      const detail = run.halted
        ? `compensation failed: ${describe(run.haltCause)}; not compensated [${run.notCompensated.join(", ")}]`
        : describeCause(exit.cause)
      // When even this write fails the saga stays "running", and the next recovery finishes
      // it from the log: compensated steps are logged and are not compensated twice.
      yield* run.env.store.finish(run.sagaId, outcome, detail, now).pipe(
        Effect.retry(run.env.retry),
        Effect.catchAll(recordWriteFailure(run))
      )
      if (run.halted) run.env.counters.needsAttention++
      else run.env.counters.compensated++
      run.metrics.count(sagaExecutions, outcome)
      yield* publish(run, (t) => ({ ...fields(run, t), _tag: "SagaFinished", outcome, durationMs }))
      return { outcome, cause: exit.cause }
    })
  )

const newRun = (
  env: Env,
  definition: Saga.SagaDefinition.Any,
  sagaId: string,
  input: unknown,
  startedAt: number
): Run => ({
  env,
  definition,
  metrics: metricsFor(env, definition.name),
  sagaId,
  input,
  startedAt,
  seq: 0,
  results: {},
  compensated: [],
  notCompensated: [],
  halted: false,
  haltCause: undefined,
  failedStep: undefined,
  persistenceError: undefined
})

const randomId = (): string => globalThis.crypto.randomUUID()

/**
 * An engine without a service around it: no lease renewal, no registry entry. The
 * Promise facade uses it with a memory store.
 *
 * @internal
 */
export const unsafeMakeEnv = (options: {
  readonly store: SagaStoreService
  readonly bus: PatternEventsService
  readonly retry: Schedule.Schedule<unknown, unknown>
  readonly enableMetrics: boolean
}): Env => ({
  ...options,
  owner: hostname(),
  incarnation: randomId(),
  leaseMillis: Duration.toMillis(Duration.days(365)),
  active: new Set(),
  counters: { started: 0, completed: 0, compensated: 0, needsAttention: 0, recovered: 0 },
  metrics: new Map()
})

/** @internal */
export const executeWith = <I, O, E, R>(
  env: Env,
  definition: Saga.SagaDefinition<I, O, E, R>,
  input: I
): Effect.Effect<O, Saga.ExecuteError<E>, R> =>
  Effect.gen(function*() {
    yield* validate(definition)
    const sagaId = randomId()
    const startedAt = yield* Clock.currentTimeMillis
    const run = newRun(env, definition, sagaId, input, startedAt)
    const encodedInput = yield* Effect.mapError(Schema.encode(definition.input)(input), encodeError(run, "input"))
    env.active.add(sagaId)
    const result = yield* Effect.ensuring(
      Effect.gen(function*() {
        yield* env.store.create({
          id: sagaId,
          name: definition.name,
          input: encodedInput,
          owner: env.owner,
          incarnation: env.incarnation,
          leaseUntil: startedAt + env.leaseMillis,
          at: startedAt
        })
        env.counters.started++
        yield* publish(run, (t) => ({ ...fields(run, t), _tag: "SagaStarted", recovered: false }))
        return yield* drive(run, [], (scope) => runGroups(run, scope, definition.groups))
      }),
      Effect.sync(() => env.active.delete(sagaId))
    )
    if (result.outcome === "completed") return run.results as O
    if (run.halted) {
      return yield* new SagaCompensationError({
        saga: definition.name,
        sagaId,
        ...(run.failedStep === undefined ? {} : { failedStep: run.failedStep }),
        compensated: run.compensated,
        notCompensated: run.notCompensated,
        cause: run.haltCause
      })
    }
    if (run.persistenceError !== undefined) return yield* run.persistenceError
    const failure = Cause.failureOption(result.cause)
    if (failure._tag === "Some" && run.failedStep !== undefined) {
      return yield* (new SagaStepError({
        saga: definition.name,
        sagaId,
        step: run.failedStep,
        compensated: run.compensated,
        cause: failure.value
      }) as Saga.StepError<E>)
    }
    return yield* Effect.failCause(result.cause as Cause.Cause<never>)
  }).pipe(
    Effect.withSpan("saga.execute", { captureStackTrace: false, attributes: { "saga.name": definition.name } })
  )

interface Registered {
  readonly definition: Saga.SagaDefinition.Any
  readonly context: Context.Context<never>
}

const decodeFailure = (env: Env, sagaId: string, detail: string): PersistenceError =>
  new PersistenceError({ store: env.store.label, reason: "Decode", key: sagaId, detail })

/** Rebuilds a saga's state from its log, or says why it cannot be. */
const restoreRun = (
  env: Env,
  registered: Registered,
  record: SagaRecord,
  now: number
): Either.Either<
  { readonly run: Run; readonly plan: Exclude<Plan.Plan, { _tag: "Invalid" }>; readonly outputs: Map<string, unknown> },
  PersistenceError
> =>
  Either.gen(function*() {
    const { definition } = registered
    const input = yield* Either.mapLeft(
      Schema.decodeUnknownEither(definition.input)(record.input),
      (e) => decodeFailure(env, record.id, `input: ${ParseResult.TreeFormatter.formatErrorSync(e)}`)
    )
    const steps = new Map<string, Saga.StepDefinition>()
    for (const group of definition.groups) for (const step of group) steps.set(step.name, step)
    const plan = Plan.plan(
      definition.groups.map((group) =>
        group.map((step) => ({ name: step.name, hasCompensation: step.compensate !== undefined }))
      ),
      record.log,
      definition.recovery
    )
    if (plan._tag === "Invalid") return yield* Either.left(decodeFailure(env, record.id, plan.reason))
    const outputs = new Map<string, unknown>()
    for (const entry of record.log) {
      if (entry.kind !== "completed") continue
      const output = yield* Either.mapLeft(
        Schema.decodeUnknownEither(steps.get(entry.step)!.output)(entry.payload),
        (e) => decodeFailure(env, record.id, `output of ${entry.step}: ${ParseResult.TreeFormatter.formatErrorSync(e)}`)
      )
      outputs.set(entry.step, output)
    }
    const run = newRun(env, definition, record.id, input, now)
    run.seq = record.log.reduce((max, entry) => Math.max(max, entry.seq + 1), 0)
    for (const name of plan.completed) run.results[name] = outputs.get(name)
    return { run, plan, outputs }
  })

/** The outputs of the groups before a step's own: what its action saw. */
const resultsBefore = (
  definition: Saga.SagaDefinition.Any,
  stepName: string,
  outputs: ReadonlyMap<string, unknown>
): Record<string, unknown> => {
  const results: Record<string, unknown> = {}
  for (const group of definition.groups) {
    if (group.some((step) => step.name === stepName)) break
    for (const step of group) results[step.name] = outputs.get(step.name)
  }
  return results
}

const recoverOne = (
  env: Env,
  registered: Registered,
  record: SagaRecord
): Effect.Effect<Either.Either<Saga.RecoveredSaga, PersistenceError>> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const restoredRun = restoreRun(env, registered, record, now)
    if (Either.isLeft(restoredRun)) return Either.left(restoredRun.left)
    const { outputs, plan, run } = restoredRun.right
    const { definition } = registered
    const steps = new Map<string, Saga.StepDefinition>()
    for (const group of definition.groups) for (const step of group) steps.set(step.name, step)
    const toRestore = plan._tag === "Compensate" ? plan.pending : plan.completed
    const restored: Array<Restored> = toRestore.map((name) => ({
      step: steps.get(name)!,
      output: outputs.get(name),
      results: resultsBefore(definition, name, outputs)
    }))
    env.active.add(run.sagaId)
    env.counters.recovered++
    yield* publish(run, (t) => ({ ...fields(run, t), _tag: "SagaStarted", recovered: true }))
    const result = yield* Effect.ensuring(
      drive(
        run,
        restored,
        plan._tag === "Compensate"
          ? () => Effect.fail("compensated by recovery" as const)
          : (scope) => runGroups(run, scope, plan.remaining.map((group) => group.map((name) => steps.get(name)!)))
      ).pipe(Effect.provide(registered.context)),
      Effect.sync(() => env.active.delete(run.sagaId))
    )
    if (run.persistenceError !== undefined && result.outcome !== "completed") return Either.left(run.persistenceError)
    const error = run.halted
      ? describe(run.haltCause)
      : plan._tag === "Resume" && result.outcome !== "completed"
      ? describeCause(result.cause)
      : undefined
    return Either.right<Saga.RecoveredSaga>({
      sagaId: run.sagaId,
      saga: definition.name,
      action: plan._tag === "Compensate" ? "compensated" : "resumed",
      outcome: result.outcome,
      ...(error === undefined ? {} : { error })
    })
  })

/** @internal */
export const make = <const D extends ReadonlyArray<Saga.SagaDefinition.Any> = []>(
  options: Saga.Options<D> = {}
): Effect.Effect<
  Saga.Saga,
  InvalidConfigError | PersistenceError,
  SagaStoreService | Scope.Scope | Saga.SagaDefinition.Context<D[number]>
> =>
  Effect.gen(function*() {
    const decoded = yield* decodeOptions("Saga", OptionsSchema, options)
    const store = yield* storeTag
    const bus = yield* PatternEvents
    const settings = yield* IntegrationPatterns.settings
    const context = (yield* Effect.context<never>()) as Context.Context<never>
    const name = decoded.name ?? defaults.name
    const leaseMillis = Duration.toMillis(decoded.leaseDuration ?? defaults.leaseDuration)
    const env: Env = {
      store,
      bus,
      retry: decoded.compensationRetry ?? defaults.compensationRetry,
      owner: decoded.workerId ?? hostname(),
      incarnation: randomId(),
      leaseMillis,
      enableMetrics: settings.enableMetrics,
      active: new Set(),
      counters: {
        started: 0,
        completed: 0,
        compensated: 0,
        needsAttention: yield* store.count("needs_attention"),
        recovered: 0
      },
      metrics: new Map()
    }
    const registry = new Map<string, Registered>()
    const add = (definition: Saga.SagaDefinition.Any, ctx: Context.Context<never>) =>
      Effect.map(validate(definition), (valid) => {
        registry.set(valid.name, { definition: valid, context: ctx })
      })
    for (const definition of (decoded.definitions ?? defaults.definitions) as ReadonlyArray<Saga.SagaDefinition.Any>) {
      yield* add(definition, context)
    }

    const renew = Effect.gen(function*() {
      if (env.active.size === 0) return
      const now = yield* Clock.currentTimeMillis
      yield* store.renew(env.incarnation, [...env.active], now + leaseMillis)
    }).pipe(Effect.catchAll((error) => Effect.logWarning("saga lease renewal failed", error)))
    yield* Effect.forkScoped(
      Effect.repeat(renew, Schedule.spaced(Duration.millis(Math.max(1, Math.floor(leaseMillis / 3)))))
    )

    const recover: Effect.Effect<Saga.RecoveryReport, PersistenceError> = Effect.gen(function*() {
      const recovered: Array<Saga.RecoveredSaga> = []
      const failed: Array<PersistenceError> = []
      const names = [...registry.keys()]
      const fail = (error: PersistenceError) =>
        Effect.gen(function*() {
          failed.push(error)
          if (error.key === undefined) return
          // An unreadable saga is never dropped: it waits for an operator.
          const at = yield* Clock.currentTimeMillis
          yield* store.finish(error.key, "needs_attention", error.message, at).pipe(
            Effect.zipRight(Effect.sync(() => env.counters.needsAttention++)),
            Effect.ignore
          )
        })
      while (true) {
        const now = yield* Clock.currentTimeMillis
        const batch = yield* store.claim({
          names,
          owner: env.owner,
          incarnation: env.incarnation,
          now,
          leaseUntil: now + leaseMillis,
          limit: decoded.recoveryBatchSize ?? defaults.recoveryBatchSize
        })
        if (batch.length === 0) break
        yield* Effect.forEach(batch, (claimed) =>
          Either.isLeft(claimed)
            ? fail(claimed.left)
            : Effect.flatMap(
              recoverOne(env, registry.get(claimed.right.name)!, claimed.right),
              Either.match({ onLeft: fail, onRight: (done) => Effect.sync(() => void recovered.push(done)) })
            ), { concurrency: decoded.recoveryConcurrency ?? defaults.recoveryConcurrency, discard: true })
      }
      return { recovered, failed }
    }).pipe(Effect.withSpan("saga.recover", { captureStackTrace: false }))

    if (decoded.recoveryInterval !== undefined) {
      const interval = decoded.recoveryInterval
      yield* Effect.forkScoped(Effect.forever(Effect.zipRight(
        Effect.sleep(interval),
        recover.pipe(Effect.catchAll((error) => Effect.logWarning("saga recovery failed", error)))
      )))
    }

    const service: Saga.Saga = {
      name,
      workerId: env.owner,
      execute: (definition, input) => executeWith(env, definition, input),
      register: (definition) =>
        Effect.flatMap(Effect.context<never>(), (ctx) => add(definition, ctx as Context.Context<never>)),
      recover,
      needsAttention: (limit = 100) => store.list("needs_attention", limit),
      resolve: (sagaId, note = "resolved by an operator") =>
        Effect.gen(function*() {
          const found = yield* store.get(sagaId)
          if (found._tag === "None" || found.value.status !== "needs_attention") return false
          yield* store.finish(sagaId, "resolved", note, yield* Clock.currentTimeMillis)
          env.counters.needsAttention = Math.max(0, env.counters.needsAttention - 1)
          return true
        }),
      stats: Effect.sync(() => stats(name, env))
    }
    yield* IntegrationPatterns.register({
      kind: "Saga",
      name,
      stats: () => ({ ...stats(name, env) }),
      health: () =>
        env.counters.needsAttention > 0
          ? { status: "unhealthy", reasons: [`${env.counters.needsAttention} saga(s) need attention`] }
          : { status: "healthy", reasons: [] }
    })
    return service
  })

/** @internal */
export const stats = (name: string, env: Env): Saga.Stats => ({
  name,
  workerId: env.owner,
  running: env.active.size,
  ...env.counters
})

/** @internal */
export const layer = <const D extends ReadonlyArray<Saga.SagaDefinition.Any> = []>(
  options?: Saga.Options<D>
) => Layer.scoped(tag, make(options))

/** @internal */
export const layerConfig = <const D extends ReadonlyArray<Saga.SagaDefinition.Any> = []>(
  config: Config.Config<Saga.Options<D>>
) => Layer.unwrapEffect(Effect.map(config, (options) => layer(options)))

/** @internal */
export const execute = <I, O, E, R>(
  definition: Saga.SagaDefinition<I, O, E, R>,
  input: I
): Effect.Effect<O, Saga.ExecuteError<E>, R | Saga.Saga> =>
  Effect.flatMap(tag, (saga) => saga.execute(definition, input))

/** @internal */
export const recover: Effect.Effect<Saga.RecoveryReport, PersistenceError, Saga.Saga> = Effect.flatMap(
  tag,
  (saga) => saga.recover
)
