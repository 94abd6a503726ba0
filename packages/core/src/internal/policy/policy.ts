/**
 * Policies as values: each one wraps an effect with a pattern's own combinator, and
 * composition is function composition, the first policy outermost. Nothing here
 * forks, allocates per call beyond what the wrapped combinators do, or reads a clock.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import type * as Bulkhead from "../../Bulkhead.js"
import type {
  BulkheadRejectedError,
  CircuitBreakerOpenError,
  PersistenceError,
  RateLimitExceededError,
  RetryExhaustedError
} from "../../Errors.js"
import type * as CircuitBreaker from "../../CircuitBreaker.js"
import type * as Policy from "../../Policy.js"
import type * as RateLimiter from "../../RateLimiter.js"
import type * as Retry from "../../Retry.js"
import type * as Timeout from "../../Timeout.js"
import { withRetry } from "../retry/retry.js"
import { withTimeout } from "../timeout/timeout.js"

/** @internal */
export const TypeId: Policy.TypeId = Symbol.for("@integration-patterns/core/Policy") as Policy.TypeId

type AnyEffect = Effect.Effect<any, any, any>
type Execute = (self: AnyEffect) => AnyEffect

const variance = {
  _A: (_: never) => _,
  _E: (_: never) => _,
  _R: (_: never) => _,
  _Handled: (_: unknown) => undefined
}

class PolicyImpl {
  readonly [TypeId] = variance
  constructor(readonly execute: Execute) {}
}

// The types are the public constructors' to state; at run time every policy is a function of effects.
const make = <A = never, E = never, R = never, Handled extends string = never>(
  execute: Execute
): Policy.Policy<A, E, R, Handled> => new PolicyImpl(execute) as unknown as Policy.Policy<A, E, R, Handled>

/** @internal */
/** @internal */
export const identity: Policy.Policy = make((self) => self)

/** @internal */
export const compose = (...policies: ReadonlyArray<Policy.Policy.Any>): Policy.Policy.Any => {
  if (policies.length === 0) return identity
  if (policies.length === 1) return policies[0]!
  const executes: ReadonlyArray<Execute> = policies.map((policy) => policy.execute)
  return make((self) => {
    let wrapped = self
    for (let i = executes.length - 1; i >= 0; i--) wrapped = executes[i]!(wrapped)
    return wrapped
  })
}

/** @internal */
export const execute = dual(
  2,
  (self: AnyEffect, policy: Policy.Policy.Any): AnyEffect => policy.execute(self)
)

/** @internal */
export const timeout = (
  timeout: Timeout.Timeout<any, any> | Timeout.Options<any, any> | Duration.DurationInput
): Policy.Policy<unknown, unknown> => make((withTimeout as (x: unknown) => Execute)(timeout))

/** @internal */
export const retry = (policyOrOptions: Retry.Retry | Retry.Options): Policy.Policy<never, RetryExhaustedError> =>
  make((withRetry as (x: unknown) => Execute)(policyOrOptions))

/** @internal */
export const circuitBreaker = (
  breaker: CircuitBreaker.CircuitBreaker | CircuitBreaker.KeyedCircuitBreaker,
  key?: string
): Policy.Policy<never, CircuitBreakerOpenError> =>
  key === undefined
    ? make((breaker as CircuitBreaker.CircuitBreaker).execute)
    : make((self) => (breaker as CircuitBreaker.KeyedCircuitBreaker).execute(key, self))

/** @internal */
export const bulkhead = (
  bulkhead: Bulkhead.Bulkhead | Bulkhead.KeyedBulkhead,
  key?: string
): Policy.Policy<never, BulkheadRejectedError> =>
  key === undefined
    ? make((bulkhead as Bulkhead.Bulkhead).execute)
    : make((self) => (bulkhead as Bulkhead.KeyedBulkhead).execute(key, self))

/** @internal */
export const rateLimit = (
  limiter: RateLimiter.RateLimiter,
  key: string,
  options?: RateLimiter.LimitOptions
): Policy.Policy<never, RateLimitExceededError | PersistenceError> =>
  make((self) => limiter.withRateLimit(self, key, options))

const tagOf = (error: unknown): string | undefined => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) return undefined
  const tag = (error as { readonly _tag: unknown })._tag
  return typeof tag === "string" ? tag : undefined
}

// Catches the typed failures whose `_tag` has a handler; every other cause (other
// errors, defects, interruptions) passes through as it was.
const recoverWith = (handlerOf: (tag: string) => ((error: unknown) => AnyEffect) | undefined) => {
  const onFailure = (cause: Cause.Cause<unknown>): AnyEffect => {
    const failure = Cause.failureOrCause(cause)
    if (Either.isLeft(failure)) {
      const tag = tagOf(failure.left)
      const handler = tag === undefined ? undefined : handlerOf(tag)
      if (handler !== undefined) return handler(failure.left)
    }
    return Effect.failCause(cause)
  }
  return make<unknown, unknown, unknown, string>((self) => Effect.catchAllCause(self, onFailure))
}

/** @internal */
export const fallback = function(): Policy.Policy<unknown, unknown, unknown, string> {
  if (arguments.length === 1) {
    const handlers = new Map(Object.entries(arguments[0] as Record<string, (error: unknown) => AnyEffect>))
    return recoverWith((tag) => handlers.get(tag))
  }
  const tags = new Set(arguments[0] as ReadonlyArray<string>)
  const value: unknown = arguments[1]
  const replacement: AnyEffect = Effect.isEffect(value) ? value : Effect.succeed(value)
  const handler = () => replacement
  return recoverWith((tag) => (tags.has(tag) ? handler : undefined))
}
