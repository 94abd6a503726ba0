/**
 * `PatternEvents` is the bus that every pattern publishes its typed events to.
 * Read it as a `Stream`, or attach plain listener functions. Publishing costs one
 * boolean check while nobody listens: patterns build an event only when
 * `events.active` is true.
 *
 * Each pattern adds its events to {@link PatternEventRegistry} by module augmentation,
 * so {@link PatternEvent} is the union of every event in the toolkit.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * The kinds of pattern in the toolkit.
 *
 * @since 0.1.0
 * @category Models
 */
export type PatternKind =
  | "CircuitBreaker"
  | "Retry"
  | "Timeout"
  | "RateLimiter"
  | "Bulkhead"
  | "CacheAside"
  | "Saga"
  | "RequestResponse"

/**
 * The fields every event carries.
 *
 * @since 0.1.0
 * @category Models
 */
export interface PatternEventBase {
  readonly _tag: string
  readonly pattern: PatternKind
  /** The pattern instance's name. */
  readonly name: string
  /** `Clock` time in milliseconds. */
  readonly timestamp: number
}

/**
 * Each pattern adds its event union here, keyed by its kind:
 *
 * ```ts skip-check
 * declare module "@integration-patterns/core/PatternEvents" {
 *   interface PatternEventRegistry { readonly Retry: RetryEvent }
 * }
 * ```
 *
 * @since 0.1.0
 * @category Models
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface PatternEventRegistry {}

/**
 * Every event of every pattern.
 *
 * @since 0.1.0
 * @category Models
 */
export type PatternEvent = PatternEventRegistry[keyof PatternEventRegistry] extends infer E extends PatternEventBase ? E
  : never

/**
 * @since 0.1.0
 * @category Models
 */
export interface PatternEventsService {
  /** True while at least one stream subscriber or listener is attached. */
  readonly active: boolean
  /** Publishes synchronously. Cheap when nobody listens; check `active` before building an event. */
  readonly unsafePublish: (event: PatternEvent) => void
  readonly publish: (event: PatternEvent) => Effect.Effect<void>
  /** A subscription that is in place as soon as this effect returns. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<PatternEvent>, never, Scope.Scope>
  /** Every event published while the stream runs. */
  readonly stream: Stream.Stream<PatternEvent>
  /** Attaches a plain listener; returns a function that detaches it. */
  readonly listen: (listener: (event: PatternEvent) => void) => () => void
}

/**
 * Options for {@link make}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /**
   * How many events a slow stream subscriber may fall behind before newer ones are
   * dropped for it (publishing never blocks a pattern). Defaults to 4096.
   */
  readonly capacity?: number
}

/**
 * The defaults of {@link Options}.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: { readonly capacity: number } = { capacity: 4096 }

class EventBus implements PatternEventsService {
  private readonly listeners = new Set<(event: PatternEvent) => void>()
  private subscribers = 0
  readonly subscribe: Effect.Effect<Queue.Dequeue<PatternEvent>, never, Scope.Scope>
  readonly stream: Stream.Stream<PatternEvent>

  constructor(private readonly pubsub: PubSub.PubSub<PatternEvent>) {
    this.subscribe = Effect.acquireRelease(
      Effect.sync(() => {
        this.subscribers++
      }),
      () =>
        Effect.sync(() => {
          this.subscribers--
        })
    ).pipe(Effect.zipRight(PubSub.subscribe(this.pubsub)))
    this.stream = Stream.unwrapScoped(Effect.map(this.subscribe, Stream.fromQueue))
  }

  get active(): boolean {
    return this.subscribers > 0 || this.listeners.size > 0
  }

  unsafePublish = (event: PatternEvent): void => {
    if (this.subscribers > 0) this.pubsub.unsafeOffer(event)
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A listener's failure must never break the pattern that published the event.
      }
    }
  }

  publish = (event: PatternEvent): Effect.Effect<void> => Effect.sync(() => this.unsafePublish(event))

  listen = (listener: (event: PatternEvent) => void): () => void => {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }
}

/**
 * Builds a bus outside of any Layer.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const unsafeMake = (options: Options = {}): PatternEventsService =>
  new EventBus(Effect.runSync(PubSub.dropping<PatternEvent>(options.capacity ?? defaults.capacity)))

/**
 * The bus patterns publish to. When no Layer provides one, a process-wide bus is used,
 * which is also what the Promise facade publishes to.
 *
 * @since 0.1.0
 * @category Tags
 */
export class PatternEvents extends Context.Reference<PatternEvents>()("@integration-patterns/core/PatternEvents", {
  defaultValue: (): PatternEventsService => unsafeMake()
}) {}

/**
 * Builds a fresh bus.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Effect.Effect<PatternEventsService> =>
  Effect.sync(() => unsafeMake(options))

/**
 * A Layer with a bus of its own, for isolating one application (or one test) from the
 * process-wide bus.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<PatternEvents> => Layer.effect(PatternEvents, make(options))

/**
 * Every event published to the current bus while the stream runs.
 *
 * @since 0.1.0
 * @category Accessors
 */
export const stream: Stream.Stream<PatternEvent> = Stream.unwrap(Effect.map(PatternEvents, (bus) => bus.stream))
