/**
 * The Effect shell of Retry.
 *
 * The first attempt costs one `matchCauseEffect` frame built once per wrapped effect:
 * no schedule driver, no Ref, no allocation until it fails (`Effect.retry` builds a
 * driver on every call). A budget adds a clock read; `maxElapsed` adds a clock read and
 * one closure per call to keep the start time. Counters are plain fields: every update
 * is synchronous, so nothing can interleave with it, and a Ref would add cost and no
 * safety.
 *
 * `pnpm bench --only retry` (3 runs, 2 shared cores at load 3.5 to 4.5): +229 / +240 /
 * +296 ns over the in-fiber baseline, `Effect.retry` +5,900 to +7,100 ns. Of ours,
 * about 230 ns is the runloop step of the success continuation (a bare
 * `catchAllCause` frame costs about 120 ns, but counts nothing) and about 100 ns the
 * `calls` metric.
 *
 * Compiled JS (`pnpm bench`, 10th percentile of 41 rounds), two runs: +233 and +467 ns
 * over in-fiber baselines of 1,010 and 1,897 ns (the VM ran at different speeds), that is
 * +223 and +239 ns scaled to PERFORMANCE.md's 970 ns floor.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Random from "effect/Random"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import type * as Scope from "effect/Scope"
import { type InvalidConfigError, RetryExhaustedError } from "../../Errors.js"
import * as IntegrationPatterns from "../../IntegrationPatterns.js"
import * as Metrics from "../../Metrics.js"
import { PatternEvents, type PatternEventsService } from "../../PatternEvents.js"
import type * as Retry from "../../Retry.js"
import { clockOf, PerEnvironment, randomOf } from "../fiberEnv.js"
import type { PatternHealth } from "../registry.js"
import { decodeOptions, decodeOptionsEither } from "../validation.js"
import { RetryBudget } from "./budget.js"
import { backoff, retryAfterOf, shapeDelay } from "./delay.js"
import { Counters, exhaustion, health, recordRetry, snapshot } from "./stats.js"
import { decide, type DecodedOptions, type GiveUpReason, OptionsSchema, type Progress, resolve, type RetryConfig } from "./policy.js"

/** @internal */
export const TypeId: Retry.TypeId = Symbol.for("@integration-patterns/core/Retry") as Retry.TypeId

class RetryImpl implements Retry.Retry<any> {
  readonly [TypeId]: Retry.TypeId = TypeId
  readonly name: string
  readonly stats: Effect.Effect<Retry.Stats>
  private readonly metrics: Metrics.PatternMetrics

  constructor(
    readonly config: RetryConfig,
    private readonly bus: PatternEventsService,
    enableMetrics: boolean,
    readonly budget: RetryBudget | undefined,
    readonly counters: Counters
  ) {
    this.name = config.name
    this.metrics = new Metrics.PatternMetrics("Retry", config.name, enableMetrics)
    this.stats = Effect.clockWith((clock) => Effect.sync(() => this.snapshot(clock.unsafeCurrentTimeMillis())))
  }

  private readonly onSuccess = <A>(a: A): Effect.Effect<A> => {
    this.counters.successes++
    this.counters.recent.record(false)
    this.metrics.count(Metrics.calls, "success")
    return Effect.succeed(a)
  }

  execute = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | RetryExhaustedError, R> => {
    const attempt = Effect.matchCauseEffect(self, {
      onSuccess: this.onSuccess,
      onFailure: (cause) => this.afterFirstFailure(self, cause, undefined)
    })
    const budget = this.budget
    if (this.config.maxElapsed === undefined) {
      return budget === undefined ? attempt : Effect.withFiberRuntime((fiber) => {
        budget.deposit(clockOf(fiber).unsafeCurrentTimeMillis())
        return attempt
      })
    }
    // `maxElapsed` counts from the start of the first attempt, so each call keeps its
    // start time. A method shorthand, not a named arrow: under tsx (esbuild keepNames)
    // a named arrow created per call costs an Object.defineProperty.
    const policy = this
    return Effect.withFiberRuntime((fiber) => {
      const now = clockOf(fiber).unsafeCurrentTimeMillis()
      budget?.deposit(now)
      return Effect.matchCauseEffect(self, {
        onSuccess: policy.onSuccess,
        onFailure(cause) {
          return policy.afterFirstFailure(self, cause, now)
        }
      })
    })
  }

  private passThrough<E>(cause: Cause.Cause<E>): Effect.Effect<never, E> {
    this.counters.failures++
    this.counters.recent.record(false)
    this.metrics.count(Metrics.calls, "failure")
    return Effect.failCause(cause)
  }

  afterFirstFailure<A, E, R>(
    self: Effect.Effect<A, E, R>,
    cause: Cause.Cause<E>,
    startedAt: number | undefined
  ): Effect.Effect<A, E | RetryExhaustedError, R> {
    const failure = Cause.failureOrCause(cause)
    if (Either.isRight(failure) || !this.config.retryable(failure.left)) return this.passThrough(cause)
    const error = failure.left
    return Effect.withFiberRuntime((fiber) => {
      const clock = clockOf(fiber)
      const progress: Progress = {
        attempts: 1,
        totalDelay: 0,
        previousDelay: this.config.delay.baseDelay,
        startedAt: startedAt ?? clock.unsafeCurrentTimeMillis()
      }
      return this.retry(self, error, progress, clock, randomOf(fiber), this.config.schedule?.initial)
    })
  }

  // The proposed delay before the next attempt: the strategy's, or the Schedule's
  // (`undefined` once the Schedule is done).
  private proposedDelay(
    error: unknown,
    progress: Progress,
    now: number,
    scheduleState: unknown
  ): Effect.Effect<readonly [number | undefined, unknown]> {
    const schedule: Schedule.Schedule<unknown, unknown> | undefined = this.config.schedule
    if (schedule === undefined) return Effect.succeed([backoff(this.config.delay, progress.attempts), undefined])
    return Effect.map(schedule.step(now, error, scheduleState), ([state, , decision]) =>
      ScheduleDecision.isDone(decision)
        ? [undefined, state] as const
        : [Math.max(0, ScheduleIntervals.start(decision.intervals) - now), state] as const)
  }

  private retry<A, E, R>(
    self: Effect.Effect<A, E, R>,
    error: E,
    progress: Progress,
    clock: Clock.Clock,
    random: Random.Random,
    scheduleState: unknown
  ): Effect.Effect<A, E | RetryExhaustedError, R> {
    const config = this.config
    const now = clock.unsafeCurrentTimeMillis()
    return this.proposedDelay(error, progress, now, scheduleState).pipe(
      Effect.zip(config.delay.jitter === "none" ? Effect.succeed(0) : random.next),
      Effect.flatMap(([[proposed, nextScheduleState], r]) => {
        const delay = proposed === undefined
          ? undefined
          : shapeDelay(config.delay, proposed, progress.previousDelay, r, retryAfterOf(error))
        const decision = decide(config, progress, delay, now, this.budget)
        if (typeof decision === "string") return this.giveUp(decision, error, progress, now)
        this.scheduled(error, progress, decision, now)
        const next = Effect.matchCauseEffect(self, {
          onSuccess: this.onSuccess,
          onFailure: (cause): Effect.Effect<A, E | RetryExhaustedError, R> => {
            const failure = Cause.failureOrCause(cause)
            if (Either.isRight(failure) || !config.retryable(failure.left)) return this.passThrough(cause)
            return this.retry(self, failure.left, progress, clock, random, nextScheduleState)
          }
        })
        progress.totalDelay += decision
        progress.previousDelay = decision
        progress.attempts++
        return decision === 0 ? next : Effect.zipRight(clock.sleep(Duration.millis(decision)), next)
      })
    )
  }

  private scheduled(error: unknown, progress: Progress, delay: number, now: number): void {
    recordRetry(this.name, this.counters, this.metrics, this.bus, error, progress, delay, now)
  }

  private giveUp(
    reason: GiveUpReason,
    error: unknown,
    progress: Progress,
    now: number
  ): Effect.Effect<never, RetryExhaustedError> {
    return Effect.fail(exhaustion(this.name, this.counters, this.metrics, this.bus, reason, error, progress, now))
  }

  snapshot(now: number): Retry.Stats {
    return snapshot(this.name, this.counters, this.budget, now)
  }

  health(now: number): PatternHealth {
    return health(this.counters, this.budget, now)
  }
}

const budgetFor = (options: DecodedOptions, config: RetryConfig): RetryBudget | undefined =>
  options.budget === undefined || config.budget === undefined ? undefined : new RetryBudget(config.budget)

/** @internal */
export const make = <E>(options: Retry.Options<E>): Effect.Effect<Retry.Retry<E>, InvalidConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const decoded = yield* decodeOptions("Retry", OptionsSchema, options)
    const settings = yield* IntegrationPatterns.settings
    const bus = yield* PatternEvents
    const config = resolve(decoded, settings)
    const policy = new RetryImpl(config, bus, settings.enableMetrics, budgetFor(decoded, config), new Counters())
    const clock = yield* Effect.clock
    yield* IntegrationPatterns.register({
      kind: "Retry",
      name: config.name,
      stats: () => ({ ...policy.snapshot(clock.unsafeCurrentTimeMillis()) }),
      health: () => policy.health(clock.unsafeCurrentTimeMillis())
    })
    return policy
  })

/** @internal */
export const isRetry = (u: unknown): u is Retry.Retry<any> => typeof u === "object" && u !== null && TypeId in u

// Inline options: validated once, resolved against the running fiber's settings and
// bus. The budget and the counters belong to the combinator, so every effect wrapped
// by one `withRetry(options)` shares them.
const fromOptions = <E>(options: Retry.Options<E>) => {
  const decoded = decodeOptionsEither("Retry", OptionsSchema, options)
  if (Either.isLeft(decoded)) {
    const error = decoded.left
    return <A, R>(_: Effect.Effect<A, E, R>): Effect.Effect<A, E | RetryExhaustedError, R> => Effect.die(error)
  }
  let budget: RetryBudget | undefined
  const counters = new Counters()
  const policies = new PerEnvironment((settings, bus) => {
    const config = resolve(decoded.right, settings)
    budget ??= budgetFor(decoded.right, config)
    return new RetryImpl(config, bus, settings.enableMetrics, budget, counters)
  })
  return <A, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | RetryExhaustedError, R> => {
    let policy: RetryImpl | undefined
    let wrapped: Effect.Effect<A, E | RetryExhaustedError, R> | undefined
    return Effect.withFiberRuntime((fiber) => {
      const current = policies.get(fiber)
      if (current !== policy || wrapped === undefined) {
        policy = current
        wrapped = current.execute(self)
      }
      return wrapped
    })
  }
}

/**
 * `withRetry(self, policyOrOptions)` or `withRetry(policyOrOptions)(self)`. Written by
 * hand rather than with `dual`: the data-last form must validate the options once and
 * share one budget between every effect it wraps, not rebuild them per application.
 *
 * @internal
 */
export const withRetry = function() {
  if (arguments.length >= 2 && Effect.isEffect(arguments[0])) {
    const [self, policyOrOptions] = arguments as unknown as [Effect.Effect<any, any, any>, Retry.Retry<any> | Retry.Options<any>]
    return isRetry(policyOrOptions) ? policyOrOptions.execute(self) : fromOptions(policyOrOptions)(self)
  }
  const policyOrOptions = arguments[0] as Retry.Retry<any> | Retry.Options<any>
  return isRetry(policyOrOptions) ? policyOrOptions.execute : fromOptions(policyOrOptions)
}
