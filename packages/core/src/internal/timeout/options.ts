/**
 * Timeout options, their schema and defaults. Shared by the Effect service and the
 * Promise facade.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import type { Settings } from "../../IntegrationPatterns.js"
import { fromSetting, readSetting } from "../settingDefault.js"
import * as V from "../validation.js"

/** Durations in milliseconds. @internal */
export const defaults = {
  name: "timeout",
  duration: fromSetting("defaultTimeout"),
  gracefulShutdown: false,
  gracePeriod: 1_000
} as const

/** @internal */
export const OptionsSchema = Schema.Struct({
  name: Schema.optional(V.Name),
  duration: Schema.optional(V.PositiveDuration),
  gracefulShutdown: Schema.optional(Schema.Boolean),
  gracePeriod: Schema.optional(V.PositiveDuration),
  onTimeout: Schema.optional(V.FunctionSchema<(error: any) => any>("a function from the TimeoutError to a fallback"))
}).pipe(
  Schema.filter((o) =>
    o.gracePeriod === undefined || o.gracefulShutdown === true ||
    { path: ["gracePeriod"], message: "only applies with gracefulShutdown: true" }
  )
)

/** @internal */
export type DecodedOptions = typeof OptionsSchema.Type

/** Durations in milliseconds. @internal */
export interface TimeoutConfig {
  readonly name: string
  readonly duration: number
  readonly gracefulShutdown: boolean
  readonly gracePeriod: number
}

/** Applies defaults: `duration` comes from the settings in force. @internal */
export const resolve = (options: DecodedOptions, settings: Settings): TimeoutConfig => ({
  name: options.name ?? defaults.name,
  duration: Duration.toMillis(options.duration ?? readSetting(defaults.duration, settings)),
  gracefulShutdown: options.gracefulShutdown ?? defaults.gracefulShutdown,
  gracePeriod: options.gracePeriod === undefined ? defaults.gracePeriod : Duration.toMillis(options.gracePeriod)
})
