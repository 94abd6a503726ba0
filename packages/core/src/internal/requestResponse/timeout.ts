import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { TimeoutError } from "../../Errors.js"

/**
 * The one place request-response enforces a deadline. It reads time from `Clock`
 * (so `TestClock` drives it) and fails with `TimeoutError`. The Timeout pattern's
 * `withTimeout` is meant to replace it once both are merged (issue 8).
 *
 * @internal
 */
export const withDeadline = (name: string, duration: Duration.Duration) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | TimeoutError, R> =>
  Effect.timeoutFail(self, {
    duration,
    onTimeout: () => new TimeoutError({ timeout: name, duration: Duration.toMillis(duration), phase: "Operation" })
  })
