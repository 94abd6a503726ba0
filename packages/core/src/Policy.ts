/**
 * Policy composition: timeout, retry, circuit breaker, bulkhead, rate limit and
 * fallback as values, composed into one pipeline.
 *
 * - Each policy is built on its pattern's own combinator (`withTimeout`, `withRetry`,
 *   `breaker.execute`, `bulkhead.execute`, `limiter.withRateLimit`), so it behaves
 *   and costs exactly the same as that combinator in a `pipe`.
 * - {@link compose} nests them: the first policy is the outermost, as with cockatiel's
 *   `wrap`. `compose(a, b, c).execute(effect)` is `a(b(c(effect)))`.
 * - The error type is exact: the effect's own errors, plus what each policy can add
 *   (`TimeoutError`, `RetryExhaustedError`, `CircuitBreakerOpenError`,
 *   `BulkheadRejectedError`, `RateLimitExceededError` and `PersistenceError`), minus
 *   the tags a {@link fallback} handles, plus what its handlers can fail with. A
 *   fallback removes only the errors raised inside it: an error added by a policy
 *   outside the fallback stays.
 *
 * The recommended order, outermost first: fallback, timeout (the whole call), retry,
 * circuit breaker, bulkhead or rate limit, timeout (each attempt). See the README.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Types from "effect/Types"
import type * as Bulkhead from "./Bulkhead.js"
import type * as CircuitBreaker from "./CircuitBreaker.js"
import type {
  BulkheadRejectedError,
  CircuitBreakerOpenError,
  IntegrationPatternsError,
  PersistenceError,
  RateLimitExceededError,
  RetryExhaustedError,
  TimeoutError
} from "./Errors.js"
import * as internal from "./internal/policy/policy.js"
import type * as RateLimiter from "./RateLimiter.js"
import type * as Retry from "./Retry.js"
import type * as Timeout from "./Timeout.js"

/**
 * @since 0.1.0
 * @category Symbols
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.1.0
 * @category Symbols
 */
export type TypeId = typeof TypeId

/**
 * A resilience policy, as a value. Applied to an `Effect<A1, E1, R1>`, it gives an
 * `Effect<A1 | A, Exclude<E1, { _tag: Handled }> | E, R1 | R>`:
 * - `A`: values it may answer with instead of the effect's (a fallback's);
 * - `E`: errors it may add (a `TimeoutError`, a `RetryExhaustedError`, ...);
 * - `R`: services it needs (a fallback effect's);
 * - `Handled`: the `_tag`s of the effect's errors it handles, which leave the error type.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Policy<out A = never, out E = never, out R = never, in Handled extends string = never> {
  readonly [TypeId]: Policy.Variance<A, E, R, Handled>
  /** Runs `self` under this policy. */
  readonly execute: <A1, E1, R1>(
    self: Effect.Effect<A1, E1, R1>
  ) => Effect.Effect<A1 | A, Policy.Remaining<E1, Handled> | E, R1 | R>
}

/**
 * @since 0.1.0
 * @category Models
 */
export declare namespace Policy {
  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Variance<A, E, R, Handled> {
    readonly _A: Types.Covariant<A>
    readonly _E: Types.Covariant<E>
    readonly _R: Types.Covariant<R>
    readonly _Handled: Types.Contravariant<Handled>
  }

  /**
   * Any policy.
   *
   * @since 0.1.0
   * @category Models
   */
  export type Any = Policy<any, any, any, never>

  /**
   * The errors `E` that are left once the errors tagged `Handled` are handled.
   *
   * @since 0.1.0
   * @category Models
   */
  export type Remaining<E, Handled extends string> = Exclude<E, { readonly _tag: Handled }>

  /**
   * @since 0.1.0
   * @category Models
   */
  export type Success<P> = P extends Policy<infer A, any, any, never> ? A : never

  /**
   * @since 0.1.0
   * @category Models
   */
  export type Error<P> = P extends Policy<any, infer E, any, never> ? E : never

  /**
   * @since 0.1.0
   * @category Models
   */
  export type Context<P> = P extends Policy<any, any, infer R, never> ? R : never

  /**
   * @since 0.1.0
   * @category Models
   */
  export type Handled<P> = P extends Policy<any, any, any, infer H> ? H : never
}

/**
 * `Outer` wrapped around `Inner`: a fallback in `Outer` also handles the errors
 * `Inner` adds, never the other way round.
 *
 * @since 0.1.0
 * @category Models
 */
export type Wrap<Outer extends Policy.Any, Inner extends Policy.Any> = Policy<
  Policy.Success<Outer> | Policy.Success<Inner>,
  Policy.Error<Outer> | Policy.Remaining<Policy.Error<Inner>, Policy.Handled<Outer>>,
  Policy.Context<Outer> | Policy.Context<Inner>,
  Policy.Handled<Outer> | Policy.Handled<Inner>
>

/**
 * The policy {@link compose} builds from a list of policies, the first outermost. For
 * a list whose length is not known, tags handled by a fallback are not removed.
 *
 * @since 0.1.0
 * @category Models
 */
export type Composed<P extends ReadonlyArray<Policy.Any>> = P extends readonly [] ? Policy
  : P extends readonly [infer Outer extends Policy.Any, ...infer Inner extends ReadonlyArray<Policy.Any>]
    ? Wrap<Outer, Composed<Inner>>
  : Policy<Policy.Success<P[number]>, Policy.Error<P[number]>, Policy.Context<P[number]>>

/**
 * Composes policies into one: the first is the outermost. With no policy, the effect
 * runs as it is.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, Policy, Retry } from "@integration-patterns/core"
 * import { Effect } from "effect"
 *
 * declare const fetchStock: Effect.Effect<number, Error>
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make({ name: "inventory", failureThreshold: 5 })
 *   const retry = yield* Retry.make({ name: "inventory", maxAttempts: 3 })
 *   const resilient = Policy.compose(
 *     Policy.fallback({ CircuitBreakerOpenError: () => Effect.succeed(0) }),
 *     Policy.timeout("10 seconds"),
 *     Policy.retry(retry),
 *     Policy.circuitBreaker(breaker),
 *     Policy.timeout("2 seconds")
 *   )
 *   // Effect<number, Error | TimeoutError | RetryExhaustedError>
 *   return yield* resilient.execute(fetchStock)
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category Combinators
 */
export const compose: <const P extends ReadonlyArray<Policy.Any>>(...policies: P) => Composed<P> = internal
  .compose as any

/**
 * Runs an effect under a policy; usable in `pipe`.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const withPolicy: {
  <A, E, R, Handled extends string>(
    policy: Policy<A, E, R, Handled>
  ): <A1, E1, R1>(
    self: Effect.Effect<A1, E1, R1>
  ) => Effect.Effect<A1 | A, Policy.Remaining<E1, Handled> | E, R1 | R>
  <A1, E1, R1, A, E, R, Handled extends string>(
    self: Effect.Effect<A1, E1, R1>,
    policy: Policy<A, E, R, Handled>
  ): Effect.Effect<A1 | A, Policy.Remaining<E1, Handled> | E, R1 | R>
} = internal.execute as any

/**
 * A timeout: a {@link Timeout.Timeout}, options (validated once; bad options make the
 * effect die with `InvalidConfigError`), or a duration. Adds `TimeoutError`, or what
 * `onTimeout` makes of it. Deadlines nest: a timeout inside another never outlives it.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const timeout: {
  <A2, E2>(timeout: Timeout.Timeout<A2, E2>): Policy<A2, E2>
  (duration: Duration.DurationInput): Policy<never, TimeoutError>
  <A2 = never, E2 = TimeoutError>(options: Timeout.Options<A2, E2>): Policy<A2, E2>
} = internal.timeout as any

/**
 * A retry: a {@link Retry.Retry}, or options (validated once; every effect the policy
 * wraps shares one budget). Adds `RetryExhaustedError`; errors it does not retry pass
 * through. An error with a `retryAfter` (`CircuitBreakerOpenError`,
 * `RateLimitExceededError`) is retried no sooner than that, capped at `maxDelay`.
 *
 * A policy sees every error that reaches it, so its predicates (`shouldRetry`) take
 * `unknown`; `retryOn` and `neverRetryOn` select by `_tag`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const retry: (policyOrOptions: Retry.Retry | Retry.Options) => Policy<never, RetryExhaustedError> =
  internal.retry

/**
 * A circuit breaker, or one key of a keyed breaker. Adds `CircuitBreakerOpenError`.
 * Its predicates (`isFailure`, `ignore`, `isResultFailure`) take `unknown`, since it
 * sees whatever reaches it.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const circuitBreaker: {
  (breaker: CircuitBreaker.CircuitBreaker): Policy<never, CircuitBreakerOpenError>
  (breaker: CircuitBreaker.KeyedCircuitBreaker, key: string): Policy<never, CircuitBreakerOpenError>
} = internal.circuitBreaker

/**
 * A bulkhead, or one key's compartment of a keyed bulkhead. Adds `BulkheadRejectedError`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const bulkhead: {
  (bulkhead: Bulkhead.Bulkhead): Policy<never, BulkheadRejectedError>
  (bulkhead: Bulkhead.KeyedBulkhead, key: string): Policy<never, BulkheadRejectedError>
} = internal.bulkhead

/**
 * A rate limit on `key`. Adds `RateLimitExceededError`, and `PersistenceError` when the
 * limiter's store fails (never with the memory store).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const rateLimit: (
  limiter: RateLimiter.RateLimiter,
  key: string,
  options?: RateLimiter.LimitOptions
) => Policy<never, RateLimitExceededError | PersistenceError> = internal.rateLimit

/**
 * The error a fallback handler for `Tag` receives: the toolkit's error class for its
 * tags, otherwise any error with that `_tag` (annotate the parameter with your own
 * error class to read its fields).
 *
 * @since 0.1.0
 * @category Models
 */
export type ErrorOf<Tag extends PropertyKey> = [Extract<IntegrationPatternsError, { readonly _tag: Tag }>] extends
  [never] ? { readonly _tag: Tag } : Extract<IntegrationPatternsError, { readonly _tag: Tag }>

/**
 * Handlers of a fallback, by `_tag`. Declared as methods so that a handler may take a
 * narrower error class than {@link ErrorOf} (one with the same `_tag`).
 *
 * @since 0.1.0
 * @category Models
 */
export type Handlers<H> = {
  readonly [Tag in keyof H]: {
    handle(error: ErrorOf<Tag>): Effect.Effect<unknown, unknown, unknown>
  }["handle"]
}

type HandlerOutcome<H> = {
  [Tag in keyof H]: H[Tag] extends (error: any) => Effect.Effect<infer A, infer E, infer R> ? [A, E, R] : never
}[keyof H]

/**
 * A fallback: a typed failure whose `_tag` has a handler is replaced by what the
 * handler returns; every other failure, defect and interruption passes through. The
 * handled tags leave the error type; the handlers' own errors join it.
 *
 * - `fallback({ TimeoutError: (e) => Effect.succeed(cached), ... })`: a handler per tag,
 *   given the error;
 * - `fallback(["TimeoutError", "CircuitBreakerOpenError"], value)`: one value, or one
 *   effect (run each time), for every listed tag.
 *
 * @example
 * ```ts
 * import { Policy } from "@integration-patterns/core"
 * import { Effect } from "effect"
 *
 * const cachedPrice = Policy.fallback({
 *   TimeoutError: () => Effect.succeed(9.99),
 *   CircuitBreakerOpenError: (e) => Effect.logWarning(`breaker ${e.breaker} is open`).pipe(Effect.as(9.99))
 * })
 * const zeroStock = Policy.fallback(["BulkheadRejectedError", "RateLimitExceededError"], 0)
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fallback: {
  <const H extends Handlers<H>>(
    handlers: H
  ): Policy<HandlerOutcome<H>[0], HandlerOutcome<H>[1], HandlerOutcome<H>[2], keyof H & string>
  <const Tags extends ReadonlyArray<string>, A2, E2, R2>(
    tags: Tags,
    effect: Effect.Effect<A2, E2, R2>
  ): Policy<A2, E2, R2, Tags[number]>
  <const Tags extends ReadonlyArray<string>, A2>(tags: Tags, value: A2): Policy<A2, never, never, Tags[number]>
} = internal.fallback as any
