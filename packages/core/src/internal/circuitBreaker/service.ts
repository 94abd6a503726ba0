/**
 * The Effect shell around the state machine: reads time from `Clock`, classifies each
 * call's exit, records metrics and events, publishes state changes to a
 * `SubscriptionRef`, and saves state to the `CircuitBreakerStore`.
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type * as CB from "../../CircuitBreaker.js"
import type { CircuitBreakerOpenError, InvalidConfigError, PersistenceError } from "../../Errors.js"
import * as IntegrationPatterns from "../../IntegrationPatterns.js"
import * as Metrics from "../../Metrics.js"
import * as PatternEvents from "../../PatternEvents.js"
import { clockOf } from "../fiberEnv.js"
import * as Frames from "../frames.js"
import * as V from "../validation.js"
import { BreakerMetrics, classifyError, healthOf, openError } from "./common.js"
import { type Listener, Machine, REJECTED, type State, type Transition } from "./machine.js"
import { machineConfig, resolve, type Resolved } from "./options.js"
import type { TripReason } from "./policy.js"
import { decodeSnapshot, type Snapshot, toSnapshot } from "./snapshot.js"
import { CircuitBreakerStore } from "./store.js"

const failureOf = (cause: Cause.Cause<unknown>): Option.Option<unknown> =>
  cause._tag === "Fail" ? Option.some(cause.error) : Cause.failureOption(cause)

type EventFields = CB.CircuitBreakerEvent extends infer E
  ? E extends CB.CircuitBreakerEvent ? Omit<E, "pattern" | "name" | "key"> : never
  : never

/** Sees one call's end: its permit, and when and how it was timed. */
class CallFrame extends Frames.Frame {
  constructor(
    private readonly runner: Runner,
    private readonly permit: number,
    private readonly timed: boolean,
    private readonly start: number,
    private readonly clock: Clock.Clock
  ) {
    super()
  }

  onSuccess(value: unknown): Effect.Effect<unknown> {
    this.runner.settleSuccess(this.permit, this.timed, this.start, this.clock, value)
    return Exit.succeed(value)
  }

  onFailure(cause: Cause.Cause<unknown>): Effect.Effect<never, unknown> {
    this.runner.settleFailure(this.permit, this.timed, this.start, this.clock.unsafeCurrentTimeMillis(), cause)
    return Exit.failCause(cause)
  }
}

/**
 * One breaker's machine and everything a call through it touches. A single breaker has
 * one; a keyed breaker has one per key.
 *
 * What a closed call costs over `yield* Effect.promise(fn)` in one fiber, compiled JS,
 * best of 151 rounds of 4 ms (2 shared cores, load 4 to 14):
 *
 * | variant                                                        | overhead ns |
 * |----------------------------------------------------------------|------------:|
 * | as built, metrics on (the default)                              |   +570..650 |
 * | the same without its two clock reads                            |   +440..510 |
 * | the same without the `calls` counter, or without the histogram  |  about −50 each |
 * | metrics off: no clock read at all (`untimedWhenClosed`)         |   +300..340 |
 * | floor: a bare `matchCauseEffect` with static handlers           |   +170..210 |
 *
 * The clock reads (`Date.now()`, 60 to 120 ns each on this VM) and the duration
 * histogram that needs them are most of the gap to the 300 ns target; the rest is the
 * fiber steps. Neither `Effect.clockWith` against a cached read of the fiber's Clock,
 * nor metric hooks resolved once against `unsafeUpdate`'s cached lookup, made a
 * difference we could measure. The rows above were measured with a `matchCauseEffect`
 * returned from the deciding step; the call's frame is now pushed from that step
 * (`../frames.ts`), one step and two closures fewer, about 50 ns. BENCHMARKS.md has the
 * current figures beside the lower bounds: a step that sees the call end, and the same
 * timed by two clock reads, which alone is above 300 ns here.
 */
class Runner implements Listener {
  /**
   * True when a success in the closed state needs no time at all: no duration for
   * metrics or a slow-call policy, and only consecutive-failure policies, whose
   * success moves no time-keyed state and never trips. Such a call reads the clock
   * only if it fails (to time the trip) or someone listens to events, as cockatiel
   * times calls only for listeners: two `Date.now()` reads cost about 110 ns of a call
   * here (the clock's share of a cpu profile of `breaker.closed`).
   */
  private readonly untimedWhenClosed: boolean

  constructor(
    readonly machine: Machine,
    private readonly resolved: Resolved,
    private readonly metrics: BreakerMetrics,
    private readonly events: PatternEvents.PatternEventsService,
    private readonly key: string | undefined,
    private readonly onChange: (transition: Transition) => void
  ) {
    machine.listener = this
    this.untimedWhenClosed = !metrics.on && resolved.slowCallDuration === Number.POSITIVE_INFINITY &&
      resolved.policies.every((policy) => policy._tag === "ConsecutiveFailures")
  }

  /**
   * Runs `self` through the breaker, from inside `fiber`'s `withFiberRuntime` step.
   * `now`: the time, when the caller has already read it.
   */
  run<A, E, R>(
    fiber: Fiber.RuntimeFiber<any, any>,
    self: Effect.Effect<A, E, R>,
    clock: Clock.Clock,
    now?: number
  ): Effect.Effect<A, E | CircuitBreakerOpenError, R> {
    const machine = this.machine
    const timed = now !== undefined || !this.untimedWhenClosed || machine.state !== "Closed" || this.events.active
    const start = now ?? (timed ? clock.unsafeCurrentTimeMillis() : 0)
    const permit = machine.acquire(start)
    if (permit === REJECTED) return this.reject(start)
    const frame = new CallFrame(this, permit, timed, start, clock)
    // A probe holds one of the few half-open slots, so its end must be seen even when
    // its fiber is interrupted. Any other call's interruption counts as nothing, which is
    // what a handler skipped by the interruption records.
    if (Frames.fast()) {
      if (machine.probing) Frames.pushGuarded(fiber, frame)
      else Frames.push(fiber, frame)
      return self
    }
    return machine.probing
      ? Effect.uninterruptibleMask((restore) => Frames.observe(restore(self), frame))
      : Frames.observe(self, frame)
  }

  private reject(now: number): Effect.Effect<never, CircuitBreakerOpenError> {
    const machine = this.machine
    const state = machine.state as "Open" | "HalfOpen" | "Isolated"
    const retryAfter = machine.retryAfter(now)
    this.metrics.rejected()
    if (this.events.active) {
      this.events.unsafePublish(this.event({ _tag: "CallRejected", timestamp: now, state, retryAfter }))
    }
    // `failCause` rather than `fail`: `fail` looks up the current span to annotate the
    // error, an extra step that costs more than the rest of a rejection.
    return Effect.failCause(Cause.fail(openError(this.resolved.name, state, retryAfter)))
  }

  // An untimed call (see `untimedWhenClosed`) reads the clock on success only when
  // someone started listening meanwhile, and reports a duration of 0.
  settleSuccess(permit: number, timed: boolean, start: number, clock: Clock.Clock, value: unknown): void {
    const end = timed || this.events.active ? clock.unsafeCurrentTimeMillis() : 0
    const duration = timed ? end - start : 0
    const isResultFailure = this.resolved.isResultFailure
    if (isResultFailure !== undefined && isResultFailure(value)) this.failed(permit, end, duration, value)
    else this.succeeded(permit, end, duration)
  }

  settleFailure(permit: number, timed: boolean, start: number, end: number, cause: Cause.Cause<unknown>): void {
    if (Cause.isInterruptedOnly(cause)) return this.machine.onInterrupted(permit)
    const duration = timed ? end - start : 0
    const failure = failureOf(cause)
    if (Option.isNone(failure)) return this.failed(permit, end, duration, Cause.squash(cause))
    switch (classifyError(this.resolved, failure.value)) {
      case "ignored":
        return this.ignored(permit, duration)
      case "failure":
        return this.failed(permit, end, duration, failure.value)
      case "success":
        return this.succeeded(permit, end, duration)
    }
  }

  // The call's own event goes out before the transition it may cause.
  private succeeded(permit: number, end: number, duration: number): void {
    this.metrics.succeeded(duration)
    if (this.events.active) this.events.unsafePublish(this.event({ _tag: "CallSucceeded", timestamp: end, duration }))
    this.machine.onSuccess(permit, end, duration)
  }

  private failed(permit: number, end: number, duration: number, error: unknown): void {
    this.metrics.failed(duration)
    if (this.events.active) {
      this.events.unsafePublish(this.event({ _tag: "CallFailed", timestamp: end, duration, error }))
    }
    this.machine.onFailure(permit, end, duration)
  }

  private ignored(permit: number, duration: number): void {
    this.metrics.ignored(duration)
    this.machine.onIgnored(permit)
  }

  onTransition(transition: Transition): void {
    this.metrics.transition(transition.to)
    if (this.events.active) {
      this.events.unsafePublish(this.event({
        _tag: "StateChanged",
        timestamp: transition.at,
        from: transition.from,
        to: transition.to,
        reason: transition.reason,
        retryAfter: transition.to === "Open" ? Math.max(0, transition.openUntil - transition.at) : 0
      }))
    }
    this.onChange(transition)
  }

  onShadowTrip(reason: TripReason, at: number): void {
    this.metrics.shadowTrip()
    if (this.events.active) this.events.unsafePublish(this.event({ _tag: "WouldHaveOpened", timestamp: at, reason }))
  }

  private event(fields: EventFields): CB.CircuitBreakerEvent {
    const base = { ...fields, pattern: "CircuitBreaker", name: this.resolved.name }
    return (this.key === undefined ? base : { ...base, key: this.key }) as unknown as CB.CircuitBreakerEvent
  }
}

const withNow = <A>(f: (now: number) => A): Effect.Effect<A> =>
  Effect.clockWith((clock) => Effect.sync(() => f(clock.unsafeCurrentTimeMillis())))

const logPersistence = (what: string) => (error: PersistenceError) =>
  Effect.logWarning(`CircuitBreaker: could not ${what}: ${error.message}`)

/** @internal */
export const make = <E = unknown, A = unknown>(
  options: CB.Options<E, A> = {}
): Effect.Effect<CB.CircuitBreaker<E, A>, InvalidConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* IntegrationPatterns.settings
    const resolved = yield* resolve(options, settings)
    const name = resolved.name
    const events = yield* PatternEvents.PatternEvents
    const store = yield* Effect.serviceOption(CircuitBreakerStore)
    const clock = yield* Effect.clock
    const metrics = new BreakerMetrics(
      new Metrics.PatternMetrics("CircuitBreaker", name, settings.enableMetrics),
      true
    )
    const origin = globalThis.crypto.randomUUID()
    // The machine lives in a plain field rather than a Ref. A call touches it twice (its
    // permit, its outcome); two `Ref.modify` steps measured about 330 ns a call in one
    // fiber here, more than the whole overhead budget of a call, while each update below
    // is synchronous inside one fiber step and so already atomic. Readers get the state
    // through `state`, and its changes through the SubscriptionRef below.
    const machine = new Machine(machineConfig(resolved), clock.unsafeCurrentTimeMillis())

    // The state loaded at birth is where the breaker starts, not a transition to report.
    if (Option.isSome(store)) {
      const saved = yield* Effect.either(store.value.load(name))
      if (Either.isLeft(saved)) yield* logPersistence("load its state")(saved.left)
      else if (Option.isSome(saved.right)) {
        const decoded = decodeSnapshot("CircuitBreakerStore", name, saved.right.value)
        if (Either.isLeft(decoded)) yield* logPersistence("restore its state")(decoded.left)
        else machine.restore(decoded.right, clock.unsafeCurrentTimeMillis())
      }
    }
    metrics.state(machine.state)
    const stateRef = yield* SubscriptionRef.make<CB.State>(machine.state)
    const outbox = yield* Queue.unbounded<Transition>()
    const runner = new Runner(machine, resolved, metrics, events, undefined, (t) => outbox.unsafeOffer(t))

    const snapshot: Effect.Effect<Snapshot> = withNow((now) => toSnapshot(name, machine.snapshot(now)))
    const save = Option.match(store, {
      onNone: () => Effect.void,
      onSome: (s) =>
        Effect.flatMap(snapshot, (snap) => s.save(name, snap)).pipe(Effect.catchAll(logPersistence("save its state")))
    })
    const signals = Option.flatMap(store, (s) => Option.fromNullable(s.signals))

    // One fiber publishes transitions in the order the machine made them, so `changes`
    // never shows them out of order even when several fibers trip the breaker at once.
    const publish = (t: Transition): Effect.Effect<void> =>
      Effect.zipRight(
        SubscriptionRef.set(stateRef, t.to),
        Effect.zipRight(
          save,
          Option.isSome(signals) && t.to === "Open" && t.reason !== "RemoteOpen" && t.reason !== "Restored"
            ? signals.value.publish({ name, origin, state: "Open", at: t.at }).pipe(
              Effect.catchAll(logPersistence("publish an open signal"))
            )
            : Effect.void
        )
      )
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(outbox), publish)))

    if (Option.isSome(signals)) {
      const remote = yield* Effect.either(signals.value.subscribe)
      if (Either.isLeft(remote)) yield* logPersistence("subscribe to open signals")(remote.left)
      else {
        yield* Effect.forkScoped(Stream.runForEach(remote.right, (signal) =>
          signal.name === name && signal.origin !== origin
            ? withNow((now) => void machine.remoteOpen(now))
            : Effect.void))
      }
    }
    yield* Effect.addFinalizer(() => save)

    yield* IntegrationPatterns.register({
      kind: "CircuitBreaker",
      name,
      stats: () => ({ name, ...machine.stats(clock.unsafeCurrentTimeMillis()) }),
      health: () => healthOf(machine.state)
    })

    const breaker: CB.CircuitBreaker<E, A> = {
      name,
      execute: <A2 extends A, E2 extends E, R>(self: Effect.Effect<A2, E2, R>) =>
        Effect.withFiberRuntime<A2, E2 | CircuitBreakerOpenError, R>((fiber) => runner.run(fiber, self, clockOf(fiber))),
      state: Effect.sync(() => machine.state),
      changes: stateRef.changes,
      stats: withNow((now) => ({ name, ...machine.stats(now) })),
      isolate: withNow((now) => machine.isolate(now)),
      reset: withNow((now) => machine.reset(now)),
      disable: withNow((now) => machine.disable(now)),
      metricsOnly: withNow((now) => machine.metricsOnly(now)),
      snapshot,
      restore: (input) =>
        Effect.flatMap(
          decodeSnapshot("CircuitBreaker", name, input),
          (decoded) => withNow((now) => machine.restore(decoded, now))
        )
    }
    return breaker
  })

/** @internal */
export const withCircuitBreaker: {
  <E, A>(
    breaker: CB.CircuitBreaker<E, A>
  ): <A2 extends A, E2 extends E, R>(self: Effect.Effect<A2, E2, R>) => Effect.Effect<
    A2,
    E2 | CircuitBreakerOpenError,
    R
  >
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    breaker: CB.CircuitBreaker<E, A>
  ): Effect.Effect<A, E | CircuitBreakerOpenError, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, breaker: CB.CircuitBreaker<E, A>) => breaker.execute(self)
)

const KeyedFields = {
  maxKeys: Schema.optionalWith(V.PositiveInt, { exact: true }),
  idleTimeToLive: Schema.optionalWith(V.PositiveDuration, { exact: true })
}

/** @internal */
export const keyedDefaults = { maxKeys: 10_000, idleTimeToLive: Duration.minutes(10) } as const

interface KeyEntry {
  readonly runner: Runner
  lastUsed: number
}

/** @internal */
export const makeKeyed = <E = unknown, A = unknown>(
  options: CB.KeyedOptions<E, A> = {}
): Effect.Effect<CB.KeyedCircuitBreaker<E, A>, InvalidConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* IntegrationPatterns.settings
    const resolved = yield* resolve(options, settings, KeyedFields)
    const name = resolved.name
    const events = yield* PatternEvents.PatternEvents
    const clock = yield* Effect.clock
    const metrics = new BreakerMetrics(
      new Metrics.PatternMetrics("CircuitBreaker", name, settings.enableMetrics),
      false
    )
    const maxKeys = (resolved.extra.maxKeys as number | undefined) ?? keyedDefaults.maxKeys
    const idle = resolved.extra.idleTimeToLive as Duration.Duration | undefined
    const ttl = Duration.toMillis(idle ?? keyedDefaults.idleTimeToLive)
    // Map order is least recently used first: a touched key moves to the end.
    const entries = new Map<string, KeyEntry>()
    let evicted = 0

    const evictable = (entry: KeyEntry, now: number): boolean => {
      const m = entry.runner.machine
      return m.state !== "Isolated" && !(m.state === "Open" && m.openUntil > now) && m.state !== "HalfOpen"
    }
    const sweep = (now: number): void => {
      for (const [key, entry] of entries) {
        if (entry.lastUsed + ttl > now) break
        if (evictable(entry, now)) {
          entries.delete(key)
          evicted++
        }
      }
      while (entries.size >= maxKeys) {
        const oldest = entries.keys().next().value as string
        entries.delete(oldest)
        evicted++
      }
    }
    const entryFor = (key: string, now: number): KeyEntry => {
      let entry = entries.get(key)
      if (entry === undefined) {
        sweep(now)
        const machine = new Machine(machineConfig(resolved), now)
        entry = { runner: new Runner(machine, resolved, metrics, events, key, () => undefined), lastUsed: now }
        entries.set(key, entry)
      } else if (entry.lastUsed !== now) {
        entry.lastUsed = now
        entries.delete(key)
        entries.set(key, entry)
      }
      return entry
    }
    const withKey = <B>(key: string, f: (machine: Machine, now: number) => B): Effect.Effect<B> =>
      withNow((now) => f(entryFor(key, now).runner.machine, now))
    const count = (now: number) => {
      const byState: Record<State, number> = {
        Closed: 0,
        Open: 0,
        HalfOpen: 0,
        Isolated: 0,
        Disabled: 0,
        MetricsOnly: 0
      }
      let calls = 0
      let rejections = 0
      for (const entry of entries.values()) {
        byState[entry.runner.machine.state]++
        const s = entry.runner.machine.stats(now)
        calls += s.calls
        rejections += s.rejections
      }
      return { name, keys: entries.size, evicted, byState, calls, rejections }
    }

    yield* IntegrationPatterns.register({
      kind: "CircuitBreaker",
      name,
      stats: () => count(clock.unsafeCurrentTimeMillis()),
      health: () => {
        const { byState } = count(clock.unsafeCurrentTimeMillis())
        const notClosed = byState.Open + byState.HalfOpen + byState.Isolated
        return notClosed === 0
          ? { status: "healthy", reasons: [] }
          : {
            status: "degraded",
            reasons: [`${notClosed} of ${entries.size} keys are open, half-open or isolated`]
          }
      }
    })

    const keyed: CB.KeyedCircuitBreaker<E, A> = {
      name,
      execute: <A2 extends A, E2 extends E, R>(key: string, self: Effect.Effect<A2, E2, R>) =>
        Effect.withFiberRuntime<A2, E2 | CircuitBreakerOpenError, R>((fiber) => {
          const clock = clockOf(fiber)
          const now = clock.unsafeCurrentTimeMillis()
          return entryFor(key, now).runner.run(fiber, self, clock, now)
        }),
      state: (key) =>
        Effect.sync(() => {
          const entry = entries.get(key)
          return entry === undefined ? resolved.initialState : entry.runner.machine.state
        }),
      isolate: (key) => withKey(key, (m, now) => m.isolate(now)),
      reset: (key) => withKey(key, (m, now) => m.reset(now)),
      stats: withNow(count),
      keys: Effect.sync(() => Array.from(entries.keys()))
    }
    return keyed
  })
