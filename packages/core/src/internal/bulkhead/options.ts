import * as Schema from "effect/Schema"
import { fromSetting } from "../settingDefault.js"
import * as V from "../validation.js"
import type { Limits } from "./core.js"

/** @internal */
export const defaults = { name: "bulkhead", queueSize: 0, timeout: fromSetting("defaultTimeout") } as const

/** @internal */
export const Options = Schema.Struct({
  name: Schema.optional(V.Name),
  maxConcurrent: V.PositiveInt,
  queueSize: Schema.optional(V.NonNegativeInt),
  timeout: Schema.optional(V.PositiveDuration)
})

/** Milliseconds, or `Infinity` for no limit. */
const PositiveMillis = Schema.Number.pipe(
  Schema.filter((n) => n > 0 || `expected a number of milliseconds greater than 0 (or Infinity), got ${n}`)
)

/** The Promise facade takes milliseconds. @internal */
export const FacadeOptions = Schema.Struct({
  name: Schema.optional(V.Name),
  maxConcurrent: V.PositiveInt,
  queueSize: Schema.optional(V.NonNegativeInt),
  timeout: Schema.optional(PositiveMillis)
})

/** @internal */
export interface Resolved extends Limits {
  readonly name: string
}

/** @internal */
export const resolve = (
  options: {
    readonly name?: string | undefined
    readonly maxConcurrent: number
    readonly queueSize?: number | undefined
  },
  timeoutMillis: number
): Resolved => ({
  name: options.name ?? defaults.name,
  maxConcurrent: options.maxConcurrent,
  queueSize: options.queueSize ?? defaults.queueSize,
  timeoutMillis
})
