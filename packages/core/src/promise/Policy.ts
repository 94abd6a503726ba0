/**
 * Policy composition for Promise code: {@link wrap} nests facade instances, the first
 * outermost, as cockatiel's `wrap` does. The function receives an `AbortSignal` that
 * is aborted when any timeout of the pipeline fires.
 *
 * @since 0.1.0
 */
import { Timeout } from "./Timeout.js"

/**
 * Anything that runs a function under a pattern: `Retry`, `Timeout`, `CircuitBreaker`,
 * `Bulkhead`, or an adapter for a keyed instance
 * (`{ execute: (fn) => limiter.execute(userId, fn) }`).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Executor {
  execute<T>(fn: () => PromiseLike<T> | T): Promise<T>
}

/**
 * Policies composed by {@link wrap}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface PolicyWrap {
  /** Calls `fn` under every policy, the first outermost. */
  execute<T>(fn: (signal: AbortSignal) => PromiseLike<T> | T): Promise<T>
}

const neverAborted = new AbortController().signal

/**
 * Composes policies, the first outermost: `wrap(retry, breaker, timeout).execute(fn)`
 * is `retry.execute(() => breaker.execute(() => timeout.execute(fn)))`. The
 * recommended order is the Effect API's: timeout (overall), retry, breaker, bulkhead or
 * rate limit, timeout (each attempt).
 *
 * @example
 * ```ts
 * import { CircuitBreaker, Policy, Retry, Timeout } from "@integration-patterns/core/promise"
 *
 * const pipeline = Policy.wrap(
 *   new Timeout({ name: "overall", duration: 10_000 }),
 *   new Retry({ maxAttempts: 3, baseDelay: 200, jitter: "full" }),
 *   new CircuitBreaker({ name: "inventory", failureThreshold: 5 }),
 *   new Timeout({ name: "attempt", duration: 2_000 })
 * )
 * export const stock = (sku: string) =>
 *   pipeline.execute((signal) => fetch(`https://inventory.internal/stock/${sku}`, { signal }))
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const wrap = (...policies: ReadonlyArray<Executor>): PolicyWrap => {
  const run = <T>(
    i: number,
    signal: AbortSignal | undefined,
    fn: (signal: AbortSignal) => PromiseLike<T> | T
  ): PromiseLike<T> | T => {
    if (i === policies.length) return fn(signal ?? neverAborted)
    const policy = policies[i]!
    if (policy instanceof Timeout) {
      return (policy as Timeout).execute((own: AbortSignal) =>
        run(i + 1, signal === undefined ? own : AbortSignal.any([signal, own]), fn)
      )
    }
    return policy.execute(() => run(i + 1, signal, fn))
  }
  return {
    execute: <T>(fn: (signal: AbortSignal) => PromiseLike<T> | T): Promise<T> => {
      try {
        return Promise.resolve(run(0, undefined, fn))
      } catch (error) {
        return Promise.reject(error)
      }
    }
  }
}
