/**
 * The typed errors of the toolkit. Every error is a `Schema.TaggedError`: its `_tag`
 * and its `name` are its class name, it has a readable `message`, and it can be
 * encoded to JSON with its schema. The Promise facade rejects with these same classes.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

const formatMillis = (millis: number): string =>
  millis >= 1000 && millis % 1000 === 0 ? `${millis / 1000} s` : `${millis} ms`

// The last error's message, or its tag when it has no message (a `Data.TaggedError`).
const describeCause = (cause: unknown): string => {
  const message = Predicate.hasProperty(cause, "message") ? String(cause.message) : ""
  if (message !== "") return `: ${message}`
  return Predicate.hasProperty(cause, "_tag") && typeof cause._tag === "string" ? `: ${cause._tag}` : ""
}

/**
 * A breaker rejected the call without running it.
 * `retryAfter` is the number of milliseconds until the breaker lets a probe through
 * (0 when a probe is already running, or when the breaker is isolated and no time is known).
 *
 * @since 0.1.0
 * @category Errors
 */
export class CircuitBreakerOpenError extends Schema.TaggedError<CircuitBreakerOpenError>()(
  "CircuitBreakerOpenError",
  {
    breaker: Schema.String,
    state: Schema.Literal("Open", "HalfOpen", "Isolated"),
    retryAfter: Schema.Number
  }
) {
  override get message(): string {
    return this.state === "Isolated"
      ? `Circuit breaker "${this.breaker}" is isolated by an operator`
      : `Circuit breaker "${this.breaker}" is ${this.state === "Open" ? "open" : "half-open and probing"}; retry after ${
        formatMillis(this.retryAfter)
      }`
  }
}

/**
 * A retry policy gave up. `cause` is the last typed error, `attempts` counts every
 * attempt (the first included) and `totalDelay` is the time spent waiting, in milliseconds.
 *
 * @since 0.1.0
 * @category Errors
 */
export class RetryExhaustedError extends Schema.TaggedError<RetryExhaustedError>()("RetryExhaustedError", {
  retry: Schema.String,
  attempts: Schema.Number,
  totalDelay: Schema.Number,
  reason: Schema.Literal("MaxAttempts", "MaxElapsed", "BudgetExhausted"),
  cause: Schema.Unknown
}) {
  override get message(): string {
    const why = this.reason === "MaxAttempts"
      ? "no attempts left"
      : this.reason === "MaxElapsed"
      ? "the time budget is spent"
      : "the retry budget is spent"
    const last = describeCause(this.cause)
    return `Retry "${this.retry}" gave up after ${this.attempts} attempt(s) and ${
      formatMillis(this.totalDelay)
    } of delay (${why})${last}`
  }
}

/**
 * An operation did not finish in time. `duration` is the budget in milliseconds.
 * `phase` says what ran out:
 * - `Operation`: the operation itself overran its budget;
 * - `GracePeriod`: after the deadline, the operation's finalizers overran the grace period;
 * - `Deadline`: an enclosing deadline had already passed before the operation started.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TimeoutError extends Schema.TaggedError<TimeoutError>()("TimeoutError", {
  timeout: Schema.String,
  duration: Schema.Number,
  phase: Schema.Literal("Operation", "GracePeriod", "Deadline")
}) {
  override get message(): string {
    return this.phase === "Deadline"
      ? `Timeout "${this.timeout}": the enclosing deadline had already passed`
      : this.phase === "GracePeriod"
      ? `Timeout "${this.timeout}" fired after ${formatMillis(this.duration)} and finalizers overran the grace period`
      : `Timeout "${this.timeout}": operation took longer than ${formatMillis(this.duration)}`
  }
}

/**
 * A bulkhead turned a call away: its queue was full, or the call waited longer than
 * the queue timeout.
 *
 * @since 0.1.0
 * @category Errors
 */
export class BulkheadRejectedError extends Schema.TaggedError<BulkheadRejectedError>()("BulkheadRejectedError", {
  bulkhead: Schema.String,
  reason: Schema.Literal("QueueFull", "QueueTimeout"),
  maxConcurrent: Schema.Number,
  queueSize: Schema.Number
}) {
  override get message(): string {
    return this.reason === "QueueFull"
      ? `Bulkhead "${this.bulkhead}" is full (${this.maxConcurrent} running, ${this.queueSize} queued)`
      : `Bulkhead "${this.bulkhead}": the call waited too long in the queue`
  }
}

/**
 * A rate limiter refused a request. `retryAfter` is the number of milliseconds until
 * the same request could be admitted, and `limit` the budget that was exceeded.
 *
 * @since 0.1.0
 * @category Errors
 */
export class RateLimitExceededError extends Schema.TaggedError<RateLimitExceededError>()("RateLimitExceededError", {
  limiter: Schema.String,
  key: Schema.String,
  retryAfter: Schema.Number,
  limit: Schema.Number
}) {
  override get message(): string {
    return `Rate limit of ${this.limit} exceeded for key "${this.key}" on "${this.limiter}"; retry after ${
      formatMillis(this.retryAfter)
    }`
  }
}

/**
 * One problem found in a pattern's options.
 *
 * @since 0.1.0
 * @category Models
 */
export const ConfigIssue = Schema.Struct({ path: Schema.String, message: Schema.String })

/**
 * @since 0.1.0
 * @category Models
 */
export type ConfigIssue = typeof ConfigIssue.Type

/**
 * A pattern was built with bad options. `issues` lists every problem found, and the
 * message names each bad field and why.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidConfigError extends Schema.TaggedError<InvalidConfigError>()("InvalidConfigError", {
  pattern: Schema.String,
  issues: Schema.Array(ConfigIssue)
}) {
  override get message(): string {
    const lines = this.issues.map((issue) => `  - ${issue.path === "" ? "(options)" : issue.path}: ${issue.message}`)
    return `Invalid ${this.pattern} options (${this.issues.length} problem${this.issues.length === 1 ? "" : "s"}):\n${
      lines.join("\n")
    }`
  }
}

/**
 * A cache loader failed. `cause` is the loader's typed error. Failed loads are not cached.
 *
 * @since 0.1.0
 * @category Errors
 */
export class CacheLoadError extends Schema.TaggedError<CacheLoadError>()("CacheLoadError", {
  cache: Schema.String,
  key: Schema.String,
  cause: Schema.Unknown
}) {
  override get message(): string {
    const inner = Predicate.hasProperty(this.cause, "message") ? `: ${String(this.cause.message)}` : ""
    return `Cache "${this.cache}" could not load key "${this.key}"${inner}`
  }
}

/**
 * A saga step failed. The compensations of the steps listed in `compensated` ran,
 * in reverse order, before this error was raised.
 *
 * @since 0.1.0
 * @category Errors
 */
export class SagaStepError extends Schema.TaggedError<SagaStepError>()("SagaStepError", {
  saga: Schema.String,
  sagaId: Schema.String,
  step: Schema.String,
  compensated: Schema.Array(Schema.String),
  cause: Schema.Unknown
}) {
  override get message(): string {
    const inner = Predicate.hasProperty(this.cause, "message") ? `: ${String(this.cause.message)}` : ""
    return `Saga "${this.saga}" (${this.sagaId}) failed at step "${this.step}"${inner}; compensation completed for [${
      this.compensated.join(", ")
    }]`
  }
}

/**
 * A saga's compensation failed even after its retries. The saga is left in the
 * "needs attention" state; `compensated` and `notCompensated` say where it stands.
 *
 * @since 0.1.0
 * @category Errors
 */
export class SagaCompensationError extends Schema.TaggedError<SagaCompensationError>()("SagaCompensationError", {
  saga: Schema.String,
  sagaId: Schema.String,
  failedStep: Schema.optional(Schema.String),
  compensated: Schema.Array(Schema.String),
  notCompensated: Schema.Array(Schema.String),
  cause: Schema.Unknown
}) {
  override get message(): string {
    return `Saga "${this.saga}" (${this.sagaId}) needs attention: compensation failed; compensated [${
      this.compensated.join(", ")
    }], not compensated [${this.notCompensated.join(", ")}]`
  }
}

/**
 * A request could not be answered. `reason` says why.
 *
 * @since 0.1.0
 * @category Errors
 */
export class RequestError extends Schema.TaggedError<RequestError>()("RequestError", {
  requestId: Schema.String,
  type: Schema.String,
  reason: Schema.Literal("NoHandler", "InvalidRequest", "InvalidResponse", "Transport", "QueueFull", "Handler"),
  detail: Schema.String,
  cause: Schema.optional(Schema.Unknown)
}) {
  override get message(): string {
    return `Request ${this.requestId} (${this.type}) failed: ${this.reason}: ${this.detail}`
  }
}

/**
 * A storage backend (memory, Redis, SQL) failed, or held data that could not be
 * decoded or encoded. A record that cannot be decoded gives this error for that
 * record alone; nothing else is lost.
 *
 * @since 0.1.0
 * @category Errors
 */
export class PersistenceError extends Schema.TaggedError<PersistenceError>()("PersistenceError", {
  store: Schema.String,
  reason: Schema.Literal("Unavailable", "Decode", "Encode"),
  key: Schema.optional(Schema.String),
  detail: Schema.String,
  cause: Schema.optional(Schema.Unknown)
}) {
  override get message(): string {
    return `${this.store}: ${this.reason}${this.key === undefined ? "" : ` (${this.key})`}: ${this.detail}`
  }
}

/**
 * Every error class of the toolkit.
 *
 * @since 0.1.0
 * @category Errors
 */
export type IntegrationPatternsError =
  | CircuitBreakerOpenError
  | RetryExhaustedError
  | TimeoutError
  | BulkheadRejectedError
  | RateLimitExceededError
  | InvalidConfigError
  | CacheLoadError
  | SagaStepError
  | SagaCompensationError
  | RequestError
  | PersistenceError

const errorClasses = [
  CircuitBreakerOpenError,
  RetryExhaustedError,
  TimeoutError,
  BulkheadRejectedError,
  RateLimitExceededError,
  InvalidConfigError,
  CacheLoadError,
  SagaStepError,
  SagaCompensationError,
  RequestError,
  PersistenceError
] as const

/**
 * The schema of every error of the toolkit, for encoding errors across a process
 * boundary and decoding them back into the same classes.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const IntegrationPatternsError: Schema.Union<typeof errorClasses> = Schema.Union(...errorClasses)

const tags: ReadonlySet<string> = new Set(errorClasses.map((cls) => cls._tag))

/**
 * Tells whether a value is one of the toolkit's errors.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isIntegrationPatternsError = (u: unknown): u is IntegrationPatternsError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag) &&
  errorClasses.some((cls) => u instanceof cls)
