/**
 * A bulkhead caps how many calls run at once and how many may wait, so that one slow
 * dependency cannot take every fiber, connection or socket of the application.
 *
 * - A call that finds a free slot takes it at once, with no fiber forked.
 * - Otherwise it waits in a first-in, first-out queue of at most `queueSize` calls,
 *   for at most `timeout`; a full queue rejects at once with
 *   `BulkheadRejectedError { reason: "QueueFull" }`, and a call that waits too long
 *   fails with `BulkheadRejectedError { reason: "QueueTimeout" }`.
 * - Each release hands its slot to exactly one waiter. An interrupted waiter leaves
 *   the queue and an interrupted call gives its slot back: no slot ever leaks.
 * - A keyed bulkhead ({@link makeKeyed}) keeps one set of slots and one queue per key
 *   (tenant, host), so one noisy key cannot take the slots of the others. A key's
 *   state is dropped as soon as it has nothing running or waiting.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { BulkheadRejectedError, InvalidConfigError } from "./Errors.js"
import type { SettingDefault } from "./IntegrationPatterns.js"
import * as internal from "./internal/bulkhead/bulkhead.js"
import type { PatternEventBase } from "./PatternEvents.js"

/**
 * Options of a bulkhead. A keyed bulkhead applies `maxConcurrent` and `queueSize` to
 * each key.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** Tags metrics, events and errors. Defaults to `"bulkhead"`. */
  readonly name?: string
  /** Calls allowed to run at once: an integer of 1 or more. Required. */
  readonly maxConcurrent: number
  /** Calls allowed to wait for a slot: an integer of 0 or more. Defaults to 0 (no queue). */
  readonly queueSize?: number
  /**
   * The longest a call waits in the queue before it fails with
   * `BulkheadRejectedError { reason: "QueueTimeout" }`. `Duration.infinity` lets calls
   * wait as long as it takes. Defaults to `IntegrationPatterns` `defaultTimeout`
   * (30 seconds).
   */
  readonly timeout?: Duration.DurationInput
}

/**
 * A snapshot of a bulkhead.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Stats {
  readonly name: string
  readonly maxConcurrent: number
  readonly queueSize: number
  /** The queue timeout in milliseconds (`Infinity` when calls may wait forever). */
  readonly timeout: number
  /** Calls holding a slot. */
  readonly active: number
  /** Calls waiting for a slot. */
  readonly queued: number
  /** The most calls that held a slot at once since the bulkhead was made. */
  readonly peakConcurrency: number
  /** Calls that got a slot, at once or after waiting. */
  readonly admitted: number
  /** Calls turned away, by reason. */
  readonly rejected: { readonly QueueFull: number; readonly QueueTimeout: number }
  /** Every slot busy and nothing more can start without waiting. Health reports it as degraded. */
  readonly saturated: boolean
}

/**
 * A snapshot of a keyed bulkhead. `active`, `queued` and `peakConcurrency` count over
 * every key; `maxConcurrent` and `queueSize` are per key.
 *
 * @since 0.1.0
 * @category Models
 */
export interface KeyedStats extends Stats {
  /** Keys with a call running or waiting; idle keys are not kept. */
  readonly keys: number
  /** Keys whose slots are all busy. */
  readonly saturatedKeys: number
}

/**
 * The state of one key of a keyed bulkhead.
 *
 * @since 0.1.0
 * @category Models
 */
export interface KeyStats {
  readonly key: string
  readonly active: number
  readonly queued: number
  readonly saturated: boolean
}

/**
 * A bulkhead.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Bulkhead {
  readonly name: string
  /**
   * Runs an effect in a slot. Fails with `BulkheadRejectedError` when the queue is
   * full or the call waited longer than `timeout`; every other outcome is the effect's own.
   */
  readonly execute: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadRejectedError, R>
  readonly stats: Effect.Effect<Stats>
  /** The same snapshot, outside of Effect. */
  readonly unsafeStats: () => Stats
}

/**
 * A bulkhead with one set of slots and one queue per key.
 *
 * @since 0.1.0
 * @category Models
 */
export interface KeyedBulkhead {
  readonly name: string
  /** Runs an effect in a slot of `key`'s compartment. */
  readonly execute: <A, E, R>(
    key: string,
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | BulkheadRejectedError, R>
  readonly stats: Effect.Effect<KeyedStats>
  readonly unsafeStats: () => KeyedStats
  /** The state of one key; undefined when the key has nothing running or waiting. */
  readonly keyStats: (key: string) => KeyStats | undefined
}

/**
 * A call found no free slot and joined the queue. Published only while someone listens.
 *
 * @since 0.1.0
 * @category Events
 */
export interface BulkheadCallQueued extends PatternEventBase {
  readonly _tag: "BulkheadCallQueued"
  readonly pattern: "Bulkhead"
  /** The key, for a keyed bulkhead. */
  readonly key?: string
  /** Calls waiting in the call's compartment, itself included. */
  readonly queued: number
}

/**
 * A call was turned away.
 *
 * @since 0.1.0
 * @category Events
 */
export interface BulkheadRejected extends PatternEventBase {
  readonly _tag: "BulkheadRejected"
  readonly pattern: "Bulkhead"
  readonly key?: string
  readonly reason: "QueueFull" | "QueueTimeout"
  /** Milliseconds the call spent in the queue (0 for `QueueFull`). */
  readonly waited: number
}

/**
 * @since 0.1.0
 * @category Events
 */
export type BulkheadEvent = BulkheadCallQueued | BulkheadRejected

declare module "./PatternEvents.js" {
  interface PatternEventRegistry {
    readonly Bulkhead: BulkheadEvent
  }
}

/**
 * The default values of the optional options. `timeout` is the `defaultTimeout`
 * setting in force.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: {
  readonly name: string
  readonly queueSize: number
  readonly timeout: SettingDefault<"defaultTimeout">
} = internal.defaults

/**
 * The service Tag of a bulkhead.
 *
 * @since 0.1.0
 * @category Tags
 */
export const Bulkhead: Context.Tag<Bulkhead, Bulkhead> = Context.GenericTag<Bulkhead>(
  "@integration-patterns/core/Bulkhead"
)

/**
 * The service Tag of a keyed bulkhead.
 *
 * @since 0.1.0
 * @category Tags
 */
export const KeyedBulkhead: Context.Tag<KeyedBulkhead, KeyedBulkhead> = Context.GenericTag<KeyedBulkhead>(
  "@integration-patterns/core/KeyedBulkhead"
)

/**
 * Builds a bulkhead. It registers with `IntegrationPatterns` for health (a saturated
 * bulkhead is degraded) and, when `timeout` is finite, runs one timer fiber for the
 * whole queue, both for the lifetime of the scope.
 *
 * @example
 * ```ts
 * import { Bulkhead } from "@integration-patterns/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const bulkhead = yield* Bulkhead.make({ name: "payments", maxConcurrent: 5, queueSize: 10, timeout: "30 seconds" })
 *   return yield* Effect.succeed("charged").pipe(Bulkhead.withBulkhead(bulkhead))
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: (options: Options) => Effect.Effect<Bulkhead, InvalidConfigError, Scope.Scope> = internal.make

/**
 * Builds a keyed bulkhead: `maxConcurrent` slots and a queue of `queueSize` per key.
 *
 * @example
 * ```ts
 * import { Bulkhead } from "@integration-patterns/core"
 * import { Effect } from "effect"
 *
 * const perTenant = Effect.gen(function*() {
 *   const bulkhead = yield* Bulkhead.makeKeyed({ name: "tenants", maxConcurrent: 2, queueSize: 5 })
 *   return yield* Effect.succeed("report").pipe(Bulkhead.withKeyedBulkhead(bulkhead, "tenant-42"))
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeKeyed: (options: Options) => Effect.Effect<KeyedBulkhead, InvalidConfigError, Scope.Scope> =
  internal.makeKeyed

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<Bulkhead, InvalidConfigError> =>
  Layer.scoped(Bulkhead, make(options))

/**
 * Reads the options from `Config`, so environment variables work.
 *
 * @example
 * ```ts
 * import { Bulkhead } from "@integration-patterns/core"
 * import { Config } from "effect"
 *
 * const BulkheadLive = Bulkhead.layerConfig(Config.all({
 *   name: Config.succeed("search"),
 *   maxConcurrent: Config.integer("SEARCH_MAX_CONCURRENT"),
 *   queueSize: Config.integer("SEARCH_QUEUE_SIZE").pipe(Config.withDefault(0)),
 *   timeout: Config.duration("SEARCH_QUEUE_TIMEOUT").pipe(Config.withDefault("10 seconds"))
 * }))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  config: Config.Config<Options>
): Layer.Layer<Bulkhead, InvalidConfigError | ConfigError.ConfigError> =>
  Layer.scoped(Bulkhead, Effect.flatMap(config, make))

/**
 * @since 0.1.0
 * @category Layers
 */
export const layerKeyed = (options: Options): Layer.Layer<KeyedBulkhead, InvalidConfigError> =>
  Layer.scoped(KeyedBulkhead, makeKeyed(options))

/**
 * @since 0.1.0
 * @category Layers
 */
export const layerKeyedConfig = (
  config: Config.Config<Options>
): Layer.Layer<KeyedBulkhead, InvalidConfigError | ConfigError.ConfigError> =>
  Layer.scoped(KeyedBulkhead, Effect.flatMap(config, makeKeyed))

/**
 * Runs an effect in a slot of a bulkhead.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withBulkhead: {
  (bulkhead: Bulkhead): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadRejectedError, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, bulkhead: Bulkhead): Effect.Effect<A, E | BulkheadRejectedError, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, bulkhead: Bulkhead): Effect.Effect<A, E | BulkheadRejectedError, R> =>
    bulkhead.execute(self)
)

/**
 * Runs an effect in a slot of `key`'s compartment of a keyed bulkhead.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withKeyedBulkhead: {
  (
    bulkhead: KeyedBulkhead,
    key: string
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadRejectedError, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    bulkhead: KeyedBulkhead,
    key: string
  ): Effect.Effect<A, E | BulkheadRejectedError, R>
} = dual(
  3,
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    bulkhead: KeyedBulkhead,
    key: string
  ): Effect.Effect<A, E | BulkheadRejectedError, R> => bulkhead.execute(key, self)
)

/**
 * The snapshot of the bulkhead in context.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const stats: Effect.Effect<Stats, never, Bulkhead> = Effect.flatMap(Bulkhead, (bulkhead) => bulkhead.stats)
