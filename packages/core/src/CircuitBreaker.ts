/**
 * A circuit breaker stops calling a dependency that keeps failing, gives it time to
 * recover, then lets a few probe calls through before trusting it again.
 *
 * - **States.** `Closed` (calls run), `Open` (calls are rejected at once with
 *   `CircuitBreakerOpenError`), `HalfOpen` (a few probes run; everyone else is
 *   rejected), plus `Isolated` (held open by an operator), `Disabled` (always passes)
 *   and `MetricsOnly` (records and reports, never rejects: a shadow mode for trying
 *   thresholds out).
 * - **Trip policies.** Consecutive failures, the failure ratio over the last N calls,
 *   the failure ratio over a time window (with a minimum throughput), and the ratio of
 *   slow calls. The breaker opens when any of them says so.
 * - **Outcomes.** By default every typed error and every defect is a failure. `ignore`
 *   marks errors that count as neither success nor failure, `isFailure` marks which
 *   errors count as failures (the others count as successes), and `isResultFailure`
 *   marks success values that count as failures. Interruption counts as neither.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { CircuitBreakerOpenError, InvalidConfigError, PersistenceError } from "./Errors.js"
import type { SettingDefault } from "./IntegrationPatterns.js"
import * as breakerOptions from "./internal/circuitBreaker/options.js"
import * as machine from "./internal/circuitBreaker/machine.js"
import * as policy from "./internal/circuitBreaker/policy.js"
import * as snapshot from "./internal/circuitBreaker/snapshot.js"
import * as internal from "./internal/circuitBreaker/service.js"
import * as store from "./internal/circuitBreaker/store.js"
import type { PatternEventBase } from "./PatternEvents.js"

/**
 * @since 0.1.0
 * @category Models
 */
export type State = machine.State

/**
 * Why a breaker changed state: the trip policy that opened it (`ConsecutiveFailures`,
 * `FailureRate`, `SlowCallRate`), `RemoteOpen` (another node opened, see
 * {@link CircuitBreakerStore}), `RecoveryTimeoutElapsed`, `ProbeFailed`,
 * `ProbeTimedOut`, `ProbesSucceeded`, an operator's `Isolated`, `Disabled`,
 * `MetricsOnly` or `Reset`, or `Restored` from a snapshot.
 *
 * @since 0.1.0
 * @category Models
 */
export type TransitionReason = machine.TransitionReason

/**
 * A trip policy, as plain data: build one with {@link consecutiveFailures},
 * {@link failureRate} or {@link slowCallRate} and pass a list as `policies`.
 *
 * @since 0.1.0
 * @category Policies
 */
export type TripPolicy = policy.TripPolicy

/**
 * Where a rate policy counts: {@link lastCalls} or {@link lastDuration}.
 *
 * @since 0.1.0
 * @category Policies
 */
export type Window = policy.WindowSpec

/**
 * Opens after `threshold` failures in a row; any success starts the count again.
 *
 * @since 0.1.0
 * @category Policies
 */
export const consecutiveFailures = (threshold: number): TripPolicy => ({ _tag: "ConsecutiveFailures", threshold })

/**
 * A window over the last `size` calls.
 *
 * @since 0.1.0
 * @category Policies
 */
export const lastCalls = (size: number): Window => policy.lastCalls(size)

/**
 * A window over the calls of the last `duration`, kept in `buckets` buckets (10 by
 * default). A bucket leaves the window as a whole, so the window is exact to
 * `duration / buckets`.
 *
 * @since 0.1.0
 * @category Policies
 */
export const lastDuration = (duration: Duration.DurationInput, buckets?: number): Window =>
  policy.lastMillis(Duration.toMillis(duration), buckets)

/**
 * Options of a rate policy.
 *
 * @since 0.1.0
 * @category Policies
 */
export interface RateOptions {
  /** The ratio (greater than 0, at most 1) at or above which the breaker opens. */
  readonly threshold: number
  readonly window: Window
  /**
   * Calls the window must hold before the ratio counts. Defaults to the window's size
   * for {@link lastCalls}, 10 for {@link lastDuration}.
   */
  readonly minimumThroughput?: number
}

const minimumThroughputOf = (options: RateOptions): number =>
  options.minimumThroughput ?? (options.window._tag === "Calls" ? options.window.size : 10)

/**
 * Opens when the ratio of failures in the window reaches `threshold`.
 *
 * @since 0.1.0
 * @category Policies
 */
export const failureRate = (options: RateOptions): TripPolicy => ({
  _tag: "FailureRate",
  threshold: options.threshold,
  minimumThroughput: minimumThroughputOf(options),
  window: options.window
})

/**
 * Opens when the ratio of slow calls (those taking at least `slowCallDuration`) in the
 * window reaches `threshold`. Slow failures count too.
 *
 * @since 0.1.0
 * @category Policies
 */
export const slowCallRate = (options: RateOptions): TripPolicy => ({
  _tag: "SlowCallRate",
  threshold: options.threshold,
  minimumThroughput: minimumThroughputOf(options),
  window: options.window
})

/**
 * Options of {@link make}. Every option is optional.
 *
 * The brief's `{ failureThreshold, recoveryTimeout, monitoringWindow }` read as:
 * open after `failureThreshold` consecutive failures, or when at least half of the
 * calls of the last `monitoringWindow` failed (once `minimumThroughput`, 10, calls were
 * seen); stay open for `recoveryTimeout`, then probe.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options<E = unknown, A = unknown> {
  /** Tags metrics, events and health. Defaults to `"circuit-breaker"`. */
  readonly name?: string
  /**
   * Opens after this many consecutive failures. Defaults to
   * `IntegrationPatterns.settings.circuitBreakerThreshold` (5).
   */
  readonly failureThreshold?: number
  /** The failure ratio at which the window policies open. Defaults to 0.5. */
  readonly failureRateThreshold?: number
  /** Adds a failure-ratio policy over the last N calls. */
  readonly slidingWindowSize?: number
  /** Adds a failure-ratio policy over this time window. */
  readonly monitoringWindow?: Duration.DurationInput
  /**
   * Calls a window must hold before its ratio counts. Defaults to `slidingWindowSize`
   * for the call window, 10 for the time window.
   */
  readonly minimumThroughput?: number
  /**
   * Calls that take at least this long are slow. Adds a slow-call-ratio policy over
   * `monitoringWindow` if given, else over the last `slidingWindowSize` (or 100) calls.
   */
  readonly slowCallDuration?: Duration.DurationInput
  /** The slow-call ratio at which the breaker opens. Defaults to 0.5. */
  readonly slowCallRateThreshold?: number
  /** Trip policies given in full, instead of the shorthand options above. */
  readonly policies?: ReadonlyArray<TripPolicy>
  /**
   * How long the breaker stays open before it lets a probe through: a duration, or a
   * `Schedule` whose n-th delay is the open duration after the n-th consecutive trip
   * (it starts over when the breaker closes). Defaults to 60 seconds.
   */
  readonly recoveryTimeout?: Duration.DurationInput | Schedule.Schedule<unknown, unknown>
  /** Probe calls let through in each half-open period. Defaults to 1. */
  readonly halfOpenMaxCalls?: number
  /** Successful probes that close the breaker; at most `halfOpenMaxCalls`. Defaults to 1. */
  readonly successThreshold?: number
  /**
   * A half-open period whose probes neither closed nor reopened the breaker within this
   * time reopens it, so a hung probe never leaves it stuck. Defaults to 60 seconds.
   */
  readonly maxHalfOpenDuration?: Duration.DurationInput
  /** Which typed errors count as failures; the others count as successes. Defaults to all. */
  readonly isFailure?: (error: E) => boolean
  /** Typed errors that count as neither success nor failure. Checked before `isFailure`. */
  readonly ignore?: (error: E) => boolean
  /** Success values that count as failures (for example a 503 response). */
  readonly isResultFailure?: (value: A) => boolean
  /** Defaults to `"Closed"`. */
  readonly initialState?: "Closed" | "MetricsOnly" | "Disabled"
}

/**
 * A breaker's counters.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Stats extends machine.MachineStats {
  readonly name: string
}

/**
 * A breaker's saved state, JSON-friendly. Encode and decode it with {@link Snapshot}.
 *
 * @since 0.1.0
 * @category Persistence
 */
export type Snapshot = snapshot.Snapshot

/**
 * The schema of {@link Snapshot}.
 *
 * @since 0.1.0
 * @category Persistence
 */
export const Snapshot: Schema.Schema<Snapshot> = snapshot.Snapshot

/**
 * A circuit breaker. `E` and `A` are the errors and values of the calls it guards, as
 * seen by the `isFailure`, `ignore` and `isResultFailure` predicates.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CircuitBreaker<in E = unknown, in A = unknown> {
  readonly name: string
  /** Runs `self` if the breaker lets it; fails with `CircuitBreakerOpenError` otherwise. */
  readonly execute: <A2 extends A, E2 extends E, R>(
    self: Effect.Effect<A2, E2, R>
  ) => Effect.Effect<A2, E2 | CircuitBreakerOpenError, R>
  readonly state: Effect.Effect<State>
  /** The current state, then every change, in order. */
  readonly changes: Stream.Stream<State>
  readonly stats: Effect.Effect<Stats>
  /** Holds the breaker open until {@link reset}. */
  readonly isolate: Effect.Effect<void>
  /** Closes the breaker and forgets every outcome and trip. */
  readonly reset: Effect.Effect<void>
  /** Lets every call through and records nothing against the trip policies. */
  readonly disable: Effect.Effect<void>
  /** Records and reports, never rejects; trips are counted as `shadowTrips`. */
  readonly metricsOnly: Effect.Effect<void>
  /** The state to save (`toJSON`); a half-open breaker is saved as open and due. */
  readonly snapshot: Effect.Effect<Snapshot>
  /** Takes a saved state; a snapshot that does not decode fails with `PersistenceError`. */
  readonly restore: (snapshot: unknown) => Effect.Effect<void, PersistenceError>
}

/**
 * The defaults of optional options, as a breaker applies them. `failureThreshold` is
 * the `circuitBreakerThreshold` setting in force.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly name: string
  readonly failureThreshold: SettingDefault<"circuitBreakerThreshold">
  readonly failureRateThreshold: number
  readonly slowCallRateThreshold: number
  readonly recoveryTimeout: Duration.Duration
  readonly halfOpenMaxCalls: number
  readonly successThreshold: number
  readonly maxHalfOpenDuration: Duration.Duration
  readonly initialState: "Closed"
} = breakerOptions.defaults

/**
 * The breaker of an application, provided by {@link layer} or {@link layerConfig}.
 *
 * @since 0.1.0
 * @category Tags
 */
export const CircuitBreaker: Context.Tag<CircuitBreaker, CircuitBreaker> = Context.GenericTag<CircuitBreaker>(
  "@integration-patterns/core/CircuitBreaker"
)

/**
 * Builds a breaker. It registers for health reporting, restores its state from the
 * {@link CircuitBreakerStore} if one is provided, and saves it there on every
 * transition, for the lifetime of the scope.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@integration-patterns/core"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make({ name: "inventory", failureThreshold: 5, recoveryTimeout: "1 minute" })
 *   return yield* breaker.execute(Effect.succeed(42))
 * })
 *
 * Effect.runPromise(Effect.scoped(program))
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: <E = unknown, A = unknown>(
  options?: Options<E, A>
) => Effect.Effect<CircuitBreaker<E, A>, InvalidConfigError, Scope.Scope> = internal.make

/**
 * Runs an effect through a breaker; usable in `pipe`.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withCircuitBreaker: {
  <E, A>(
    breaker: CircuitBreaker<E, A>
  ): <A2 extends A, E2 extends E, R>(
    self: Effect.Effect<A2, E2, R>
  ) => Effect.Effect<A2, E2 | CircuitBreakerOpenError, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    breaker: CircuitBreaker<E, A>
  ): Effect.Effect<A, E | CircuitBreakerOpenError, R>
} = internal.withCircuitBreaker

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<CircuitBreaker, InvalidConfigError> =>
  Layer.scoped(CircuitBreaker, make(options))

/**
 * Reads the options from `Config` (environment variables by default).
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@integration-patterns/core"
 * import * as Config from "effect/Config"
 *
 * const BreakerLive = CircuitBreaker.layerConfig(Config.all({
 *   name: Config.succeed("inventory"),
 *   failureThreshold: Config.integer("BREAKER_FAILURE_THRESHOLD").pipe(Config.withDefault(5)),
 *   recoveryTimeout: Config.duration("BREAKER_RECOVERY_TIMEOUT").pipe(Config.withDefault("1 minute"))
 * }))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  config: Config.Config<Options>
): Layer.Layer<CircuitBreaker, InvalidConfigError | ConfigError.ConfigError> =>
  Layer.scoped(CircuitBreaker, Effect.flatMap(config, (options) => make(options)))

/**
 * Options of {@link makeKeyed}: those of {@link make}, plus eviction.
 *
 * @since 0.1.0
 * @category Models
 */
export interface KeyedOptions<E = unknown, A = unknown> extends Options<E, A> {
  /** At most this many keys are kept; the least recently used goes first. Defaults to 10,000. */
  readonly maxKeys?: number
  /**
   * A key unused for this long is forgotten, unless it is open (and not yet due),
   * half-open or isolated. Defaults to 10 minutes.
   */
  readonly idleTimeToLive?: Duration.DurationInput
}

/**
 * The defaults of the options {@link makeKeyed} adds.
 *
 * @since 0.1.0
 * @category Constants
 */
export const keyedDefaults: { readonly maxKeys: number; readonly idleTimeToLive: Duration.Duration } =
  internal.keyedDefaults

/**
 * Counters of a keyed breaker.
 *
 * @since 0.1.0
 * @category Models
 */
export interface KeyedStats {
  readonly name: string
  readonly keys: number
  readonly evicted: number
  readonly byState: Readonly<Record<State, number>>
  readonly calls: number
  readonly rejections: number
}

/**
 * One breaker per key (for example one per downstream host), built on demand. Memory
 * is bounded: idle keys are evicted and at most `maxKeys` are kept.
 *
 * @since 0.1.0
 * @category Models
 */
export interface KeyedCircuitBreaker<in E = unknown, in A = unknown> {
  readonly name: string
  readonly execute: <A2 extends A, E2 extends E, R>(
    key: string,
    self: Effect.Effect<A2, E2, R>
  ) => Effect.Effect<A2, E2 | CircuitBreakerOpenError, R>
  /** The state of a key's breaker; a key not seen yet is in the initial state. */
  readonly state: (key: string) => Effect.Effect<State>
  readonly isolate: (key: string) => Effect.Effect<void>
  readonly reset: (key: string) => Effect.Effect<void>
  readonly stats: Effect.Effect<KeyedStats>
  readonly keys: Effect.Effect<ReadonlyArray<string>>
}

/**
 * Builds a keyed breaker. Events carry the `key`; metrics are tagged with the breaker's
 * name only, so their number stays bounded. Keyed breakers keep their state in memory.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeKeyed: <E = unknown, A = unknown>(
  options?: KeyedOptions<E, A>
) => Effect.Effect<KeyedCircuitBreaker<E, A>, InvalidConfigError, Scope.Scope> = internal.makeKeyed

/**
 * An advisory signal that a breaker opened on another node.
 *
 * @since 0.1.0
 * @category Persistence
 */
export interface RemoteSignal {
  readonly name: string
  /** The breaker instance that opened; an instance ignores its own signals. */
  readonly origin: string
  readonly state: "Open"
  /** `Clock` time of the transition, in ms. */
  readonly at: number
}

/**
 * Where breakers save their state, so it survives a restart, and (optionally) how
 * nodes tell each other that a breaker opened. Signals are advisory: a closed breaker
 * that hears one opens, but a signal never closes a breaker, and every node still
 * trips on its own evidence.
 *
 * - `load` returns what was saved under a name, undecoded; the breaker decodes it
 *   with {@link Snapshot} and starts closed (logging a warning) if it cannot.
 * - `save` is called after every transition and when the breaker's scope closes.
 * - `signals.subscribe` must be in place when it returns.
 *
 * @since 0.1.0
 * @category Persistence
 */
export interface CircuitBreakerStore {
  readonly load: (name: string) => Effect.Effect<Option.Option<unknown>, PersistenceError>
  readonly save: (name: string, snapshot: Snapshot) => Effect.Effect<void, PersistenceError>
  readonly signals?: {
    readonly subscribe: Effect.Effect<Stream.Stream<RemoteSignal>, PersistenceError, Scope.Scope>
    readonly publish: (signal: RemoteSignal) => Effect.Effect<void, PersistenceError>
  }
}

/**
 * Without a store, a breaker keeps its state to itself.
 *
 * @since 0.1.0
 * @category Persistence
 */
export const CircuitBreakerStore: Context.Tag<CircuitBreakerStore, CircuitBreakerStore> = store.CircuitBreakerStore

/**
 * A store in memory: breakers made again in the same process (a Layer rebuilt) take up
 * where they left off, and breakers sharing it see each other's open signals.
 *
 * @since 0.1.0
 * @category Persistence
 */
export const makeStoreMemory: Effect.Effect<CircuitBreakerStore> = store.makeMemory

/**
 * @since 0.1.0
 * @category Persistence
 */
export const layerStoreMemory: Layer.Layer<CircuitBreakerStore> = store.layerMemory

interface EventBase extends PatternEventBase {
  readonly pattern: "CircuitBreaker"
  /** The key, for a keyed breaker. */
  readonly key?: string
}

/**
 * @since 0.1.0
 * @category Events
 */
export interface StateChanged extends EventBase {
  readonly _tag: "StateChanged"
  readonly from: State
  readonly to: State
  readonly reason: TransitionReason
  /** Milliseconds until a probe is let through, when the breaker opened; otherwise 0. */
  readonly retryAfter: number
}

/**
 * @since 0.1.0
 * @category Events
 */
export interface CallRejected extends EventBase {
  readonly _tag: "CallRejected"
  readonly state: "Open" | "HalfOpen" | "Isolated"
  readonly retryAfter: number
}

/**
 * @since 0.1.0
 * @category Events
 */
export interface CallSucceeded extends EventBase {
  readonly _tag: "CallSucceeded"
  /** Milliseconds. */
  readonly duration: number
}

/**
 * @since 0.1.0
 * @category Events
 */
export interface CallFailed extends EventBase {
  readonly _tag: "CallFailed"
  /** Milliseconds. */
  readonly duration: number
  /** The typed error, the defect, or the success value that counted as a failure. */
  readonly error: unknown
}

/**
 * A metrics-only breaker would have opened.
 *
 * @since 0.1.0
 * @category Events
 */
export interface WouldHaveOpened extends EventBase {
  readonly _tag: "WouldHaveOpened"
  readonly reason: policy.TripReason
}

/**
 * @since 0.1.0
 * @category Events
 */
export type CircuitBreakerEvent = StateChanged | CallRejected | CallSucceeded | CallFailed | WouldHaveOpened

declare module "./PatternEvents.js" {
  interface PatternEventRegistry {
    readonly CircuitBreaker: CircuitBreakerEvent
  }
}
