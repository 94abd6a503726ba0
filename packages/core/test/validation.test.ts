import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InvalidConfigError } from "../src/Errors.js"
import * as V from "../src/internal/validation.js"

const Options = Schema.Struct({
  name: V.Name,
  maxAttempts: V.PositiveInt,
  delay: V.PositiveDuration,
  strategy: Schema.Literal("fixed", "exponential"),
  ratio: Schema.optional(V.Ratio),
  grace: Schema.optional(V.DurationInput)
})

describe("option validation", () => {
  it("lists every problem in one message", () => {
    const run = () =>
      V.decodeOptionsSync("Retry", Options, {
        name: "",
        maxAttempts: -1,
        delay: "soon",
        strategy: "random",
        ratio: 2,
        maxAtempts: 3
      })
    expect(run).toThrow(InvalidConfigError)
    try {
      run()
    } catch (error) {
      expect((error as InvalidConfigError).message).toBe(
        [
          "Invalid Retry options (6 problems):",
          "  - maxAtempts: is not a known option",
          "  - name: expected a non-empty name",
          "  - maxAttempts: expected an integer greater than 0, got -1",
          "  - delay: expected a duration: a number of milliseconds, a string such as \"5 seconds\", or a Duration",
          "  - strategy: Expected \"fixed\" | \"exponential\", actual \"random\"",
          "  - ratio: expected a ratio between 0 and 1, got 2"
        ].join("\n")
      )
    }
  })

  it("reports an optional field's own problem rather than its union with undefined", () => {
    const error = V.decodeOptionsEither("Retry", Options, {
      name: "r",
      maxAttempts: 1,
      delay: 5,
      strategy: "fixed",
      ratio: "half",
      grace: "later"
    })
    expect(error._tag === "Left" && error.left.issues).toEqual([
      { path: "ratio", message: "Expected number, actual \"half\"" },
      {
        path: "grace",
        message: "expected a duration: a number of milliseconds, a string such as \"5 seconds\", or a Duration"
      }
    ])
  })

  it("accepts milliseconds, duration strings and Durations", () => {
    for (const delay of [250, "250 millis", Duration.millis(250)]) {
      const decoded = V.decodeOptionsSync("Retry", Options, { name: "r", maxAttempts: 1, delay, strategy: "fixed" })
      expect(Duration.toMillis(decoded.delay)).toBe(250)
    }
  })

  it("rejects zero, negative and non-finite durations", () => {
    for (const delay of [0, -5, Number.POSITIVE_INFINITY, Number.NaN]) {
      expect(() => V.decodeOptionsSync("Retry", Options, { name: "r", maxAttempts: 1, delay, strategy: "fixed" }))
        .toThrow(InvalidConfigError)
    }
  })

  it.effect("fails with InvalidConfigError in the Effect API", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(V.decodeOptions("Retry", Options, { name: "r" }))
      expect(error._tag).toBe("InvalidConfigError")
      expect(error.issues.map((issue) => issue.path)).toEqual(["maxAttempts", "delay", "strategy"])
    }))
})
