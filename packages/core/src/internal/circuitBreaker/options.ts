/**
 * The breaker's options: their schema, the checks that span several options, the
 * defaults, and how the shorthand options become trip policies. Shared by the Effect
 * service and the Promise facade, so both accept and reject exactly the same options.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"
import * as Schema from "effect/Schema"
import { type ConfigIssue, InvalidConfigError } from "../../Errors.js"
import type { Settings } from "../../IntegrationPatterns.js"
import { fromSetting, readSetting } from "../settingDefault.js"
import * as V from "../validation.js"
import { fixedOpenDuration, type InitialState, type MachineConfig, type OpenDuration } from "./machine.js"
import { lastCalls, lastMillis, type TripPolicy, type WindowSpec } from "./policy.js"

/** The defaults of every option that has one of its own. */
export const defaults = {
  name: "circuit-breaker",
  failureThreshold: fromSetting("circuitBreakerThreshold"),
  failureRateThreshold: 0.5,
  slowCallRateThreshold: 0.5,
  recoveryTimeout: Duration.seconds(60),
  halfOpenMaxCalls: 1,
  successThreshold: 1,
  maxHalfOpenDuration: Duration.seconds(60),
  initialState: "Closed"
} as const

/** How the shorthand options build their windows, where no option says. */
export const windowDefaults = {
  slidingWindowSizeForSlowCalls: 100,
  timeWindowMinimumThroughput: 10,
  windowBuckets: 10
} as const

const RatioAboveZero = Schema.Number.pipe(
  Schema.filter((n) => (n > 0 && n <= 1) || `expected a ratio greater than 0 and at most 1, got ${n}`)
)

const WindowSchema = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Calls"), size: V.PositiveInt }),
  Schema.Struct({ _tag: Schema.Literal("Time"), duration: V.PositiveNumber, buckets: V.PositiveInt })
)

const rateFields = { threshold: RatioAboveZero, minimumThroughput: V.PositiveInt, window: WindowSchema }

/** @internal */
export const TripPolicySchema: Schema.Schema<TripPolicy> = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("ConsecutiveFailures"), threshold: V.PositiveInt }),
  Schema.Struct({ _tag: Schema.Literal("FailureRate"), ...rateFields }),
  Schema.Struct({ _tag: Schema.Literal("SlowCallRate"), ...rateFields })
)

const RecoveryTimeout = Schema.Union(V.PositiveDuration, V.ScheduleSchema).annotations({
  message: () => "expected a duration greater than zero or a Schedule"
})

const predicate = V.FunctionSchema<(u: any) => boolean>("a predicate function")

const OptionsSchema = Schema.Struct({
  name: Schema.optionalWith(V.Name, { exact: true }),
  failureThreshold: Schema.optionalWith(V.PositiveInt, { exact: true }),
  failureRateThreshold: Schema.optionalWith(RatioAboveZero, { exact: true }),
  slidingWindowSize: Schema.optionalWith(V.PositiveInt, { exact: true }),
  monitoringWindow: Schema.optionalWith(V.PositiveDuration, { exact: true }),
  minimumThroughput: Schema.optionalWith(V.PositiveInt, { exact: true }),
  slowCallDuration: Schema.optionalWith(V.PositiveDuration, { exact: true }),
  slowCallRateThreshold: Schema.optionalWith(RatioAboveZero, { exact: true }),
  policies: Schema.optionalWith(Schema.Array(TripPolicySchema), { exact: true }),
  recoveryTimeout: Schema.optionalWith(RecoveryTimeout, { exact: true }),
  halfOpenMaxCalls: Schema.optionalWith(V.PositiveInt, { exact: true }),
  successThreshold: Schema.optionalWith(V.PositiveInt, { exact: true }),
  maxHalfOpenDuration: Schema.optionalWith(V.PositiveDuration, { exact: true }),
  isFailure: Schema.optionalWith(predicate, { exact: true }),
  ignore: Schema.optionalWith(predicate, { exact: true }),
  isResultFailure: Schema.optionalWith(predicate, { exact: true }),
  initialState: Schema.optionalWith(Schema.Literal("Closed", "MetricsOnly", "Disabled"), { exact: true })
})

type Decoded = typeof OptionsSchema.Type

/** Options after validation, with every default filled in. */
export interface Resolved {
  readonly name: string
  readonly policies: ReadonlyArray<TripPolicy>
  readonly slowCallDuration: number
  readonly halfOpenMaxCalls: number
  readonly successThreshold: number
  readonly maxHalfOpenDuration: number
  readonly recoveryTimeout: Duration.Duration | Schedule.Schedule<unknown, unknown>
  readonly initialState: InitialState
  readonly isFailure: ((error: unknown) => boolean) | undefined
  readonly ignore: ((error: unknown) => boolean) | undefined
  readonly isResultFailure: ((value: unknown) => boolean) | undefined
  /** Options that are not trip policies but only matter to one shell (keyed breakers). */
  readonly extra: Readonly<Record<string, unknown>>
}

const shorthandKeys = [
  "failureThreshold",
  "failureRateThreshold",
  "slidingWindowSize",
  "monitoringWindow",
  "minimumThroughput",
  "slowCallRateThreshold"
] as const

// Checks that span several options; the schema has already checked each option alone.
const crossCheck = (o: Decoded): Array<ConfigIssue> => {
  const issues: Array<ConfigIssue> = []
  const halfOpenMaxCalls = o.halfOpenMaxCalls ?? defaults.halfOpenMaxCalls
  if (o.successThreshold !== undefined && o.successThreshold > halfOpenMaxCalls) {
    issues.push({
      path: "successThreshold",
      message: `expected at most halfOpenMaxCalls (${halfOpenMaxCalls}), got ${o.successThreshold}`
    })
  }
  if (o.policies !== undefined) {
    const given = shorthandKeys.filter((key) => o[key] !== undefined)
    if (given.length > 0) {
      issues.push({ path: "policies", message: `give either policies or ${given.join(", ")}, not both` })
    }
    o.policies.forEach((policy, i) => {
      if (policy._tag !== "ConsecutiveFailures" && policy.window._tag === "Calls") {
        if (policy.minimumThroughput > policy.window.size) {
          issues.push({
            path: `policies[${i}].minimumThroughput`,
            message: `expected at most the window size (${policy.window.size}), got ${policy.minimumThroughput}`
          })
        }
      }
      if (policy._tag === "SlowCallRate" && o.slowCallDuration === undefined) {
        issues.push({ path: `policies[${i}]`, message: "a SlowCallRate policy needs slowCallDuration" })
      }
    })
  } else {
    if (
      o.failureRateThreshold !== undefined && o.slidingWindowSize === undefined && o.monitoringWindow === undefined
    ) {
      issues.push({ path: "failureRateThreshold", message: "needs slidingWindowSize or monitoringWindow" })
    }
    if (o.slowCallRateThreshold !== undefined && o.slowCallDuration === undefined) {
      issues.push({ path: "slowCallRateThreshold", message: "needs slowCallDuration" })
    }
    if (
      o.minimumThroughput !== undefined && o.slidingWindowSize !== undefined &&
      o.minimumThroughput > o.slidingWindowSize
    ) {
      issues.push({
        path: "minimumThroughput",
        message: `expected at most slidingWindowSize (${o.slidingWindowSize}), got ${o.minimumThroughput}`
      })
    }
    if (
      o.minimumThroughput !== undefined && o.slidingWindowSize === undefined && o.monitoringWindow === undefined &&
      o.slowCallDuration === undefined
    ) {
      issues.push({
        path: "minimumThroughput",
        message: "needs slidingWindowSize, monitoringWindow or slowCallDuration"
      })
    }
  }
  return issues
}

// The shorthand options, read as policies (see the README's table):
// - failureThreshold: ConsecutiveFailures;
// - slidingWindowSize: FailureRate over the last N calls;
// - monitoringWindow: FailureRate over the last `monitoringWindow`;
// - slowCallDuration: SlowCallRate over monitoringWindow if given, else over the last
//   slidingWindowSize (or 100) calls.
const shorthandPolicies = (o: Decoded, settings: Settings): ReadonlyArray<TripPolicy> => {
  const policies: Array<TripPolicy> = [{
    _tag: "ConsecutiveFailures",
    threshold: o.failureThreshold ?? readSetting(defaults.failureThreshold, settings)
  }]
  const threshold = o.failureRateThreshold ?? defaults.failureRateThreshold
  if (o.slidingWindowSize !== undefined) {
    policies.push({
      _tag: "FailureRate",
      threshold,
      minimumThroughput: o.minimumThroughput ?? o.slidingWindowSize,
      window: lastCalls(o.slidingWindowSize)
    })
  }
  const timeWindow = o.monitoringWindow === undefined
    ? undefined
    : lastMillis(Duration.toMillis(o.monitoringWindow), windowDefaults.windowBuckets)
  if (timeWindow !== undefined) {
    policies.push({
      _tag: "FailureRate",
      threshold,
      minimumThroughput: o.minimumThroughput ?? windowDefaults.timeWindowMinimumThroughput,
      window: timeWindow
    })
  }
  if (o.slowCallDuration !== undefined) {
    const window: WindowSpec = timeWindow ??
      lastCalls(o.slidingWindowSize ?? windowDefaults.slidingWindowSizeForSlowCalls)
    policies.push({
      _tag: "SlowCallRate",
      threshold: o.slowCallRateThreshold ?? defaults.slowCallRateThreshold,
      minimumThroughput: Math.min(
        o.minimumThroughput ?? (window._tag === "Calls" ? window.size : windowDefaults.timeWindowMinimumThroughput),
        window._tag === "Calls" ? window.size : Number.POSITIVE_INFINITY
      ),
      window
    })
  }
  return policies
}

// An option given as `undefined` is an option not given. The fields are exact
// optionals, so that a bad value gets the message of its own schema rather than one
// about a union with `undefined`.
const withoutUndefined = (input: unknown): unknown =>
  typeof input === "object" && input !== null && !Array.isArray(input)
    ? Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined))
    : input

/**
 * Validates options and fills in the defaults. `extraSchema` adds the options of one
 * shell (the keyed breaker's eviction settings).
 */
export const resolve = (
  input: unknown,
  settings: Settings,
  extra: Schema.Struct.Fields = {}
): Either.Either<Resolved, InvalidConfigError> => {
  const schema = Object.keys(extra).length === 0 ? OptionsSchema : Schema.Struct({ ...OptionsSchema.fields, ...extra })
  return Either.flatMap(
    V.decodeOptionsEither(
      "CircuitBreaker",
      schema as unknown as Schema.Schema<Decoded, unknown>,
      withoutUndefined(input)
    ),
    (o): Either.Either<Resolved, InvalidConfigError> => {
      const issues = crossCheck(o)
      if (issues.length > 0) return Either.left(new InvalidConfigError({ pattern: "CircuitBreaker", issues }))
      const extraValues: Record<string, unknown> = {}
      for (const key of Object.keys(extra)) extraValues[key] = (o as Record<string, unknown>)[key]
      return Either.right({
        name: o.name ?? defaults.name,
        policies: o.policies ?? shorthandPolicies(o, settings),
        slowCallDuration: o.slowCallDuration === undefined
          ? Number.POSITIVE_INFINITY
          : Duration.toMillis(o.slowCallDuration),
        halfOpenMaxCalls: o.halfOpenMaxCalls ?? defaults.halfOpenMaxCalls,
        successThreshold: o.successThreshold ?? defaults.successThreshold,
        maxHalfOpenDuration: Duration.toMillis(o.maxHalfOpenDuration ?? defaults.maxHalfOpenDuration),
        recoveryTimeout: o.recoveryTimeout ?? defaults.recoveryTimeout,
        initialState: o.initialState ?? defaults.initialState,
        isFailure: o.isFailure,
        ignore: o.ignore,
        isResultFailure: o.isResultFailure,
        extra: extraValues
      })
    }
  )
}

/**
 * Open durations from a `Schedule`: the n-th consecutive trip keeps the breaker open for
 * the n-th delay of the schedule. When the schedule ends, the last delay is kept. The
 * schedule is stepped only when the breaker trips, never on a call's path.
 */
export const scheduleOpenDuration = (schedule: Schedule.Schedule<unknown, unknown>): OpenDuration => {
  let state: unknown = schedule.initial
  let last = 0
  const next = (now: number): number => {
    const [nextState, , decision] = Effect.runSync(schedule.step(now, undefined, state))
    if (ScheduleDecision.isDone(decision)) return last
    state = nextState
    last = Math.max(0, Intervals.start(decision.intervals) - now)
    return last
  }
  const reset = (): void => {
    state = schedule.initial
    last = 0
  }
  return {
    next,
    reset,
    restore: (trips, now) => {
      reset()
      for (let i = 0; i < trips; i++) next(now)
    }
  }
}

/** The machine's configuration; each call gives a fresh open-duration state. */
export const machineConfig = (resolved: Resolved): MachineConfig => ({
  policies: resolved.policies,
  slowCallDuration: resolved.slowCallDuration,
  halfOpenMaxCalls: resolved.halfOpenMaxCalls,
  successThreshold: resolved.successThreshold,
  maxHalfOpenDuration: resolved.maxHalfOpenDuration,
  openDuration: Schedule.isSchedule(resolved.recoveryTimeout)
    ? scheduleOpenDuration(resolved.recoveryTimeout)
    : fixedOpenDuration(Duration.toMillis(resolved.recoveryTimeout)),
  initialState: resolved.initialState
})
