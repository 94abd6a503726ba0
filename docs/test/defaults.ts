/**
 * Reads the "default" cell of an options table, and compares it with the value a
 * pattern exports in its `defaults`. Both sides are normalised: durations become
 * milliseconds (`"1 minute"`, `60 seconds` and `60000 ms` are the same), numbers lose
 * their thousands separators, and a default taken from a setting names that setting.
 */
import { IntegrationPatterns } from "@integration-patterns/core"
import * as Duration from "effect/Duration"

export type Documented =
  /** `none`, `required`, `off`: the option has no default value. */
  | { readonly _tag: "Absent" }
  | { readonly _tag: "Value"; readonly value: unknown }
  | { readonly _tag: "Duration"; readonly millis: number }
  /** `` `retryAttempts` setting (3) ``: the setting in force, 3 unless configured. */
  | { readonly _tag: "Setting"; readonly setting: string; readonly value: Documented }
  /** Words: a default derived from other options or the environment. */
  | { readonly _tag: "Prose"; readonly text: string }

const units: Record<string, number> = {
  ms: 1,
  milli: 1,
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1_000,
  second: 1_000,
  seconds: 1_000,
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000
}

const parseNumber = (text: string): number | undefined =>
  /^-?\d{1,3}(,\d{3})+(\.\d+)?$|^-?\d+(_\d{3})*(\.\d+)?$/.test(text)
    ? Number(text.replace(/[,_]/g, ""))
    : undefined

export const parseDefault = (cell: string): Documented => {
  const text = cell.trim()
  const setting = /^`(\w+)` setting \((.+)\)$/.exec(text)
  if (setting !== null) return { _tag: "Setting", setting: setting[1], value: parseDefault(setting[2]) }
  if (/^(none|required|off|—)$/.test(text)) return { _tag: "Absent" }
  // A remark in parentheses after the value: `0 (off)`, `1 minute (60,000 ms)`.
  const remark = /^(.*\S) \([^()]*\)$/.exec(text)
  if (remark !== null) return parseDefault(remark[1])
  const code = /^`([^`]+)`$/.exec(text)
  if (code !== null) {
    try {
      return { _tag: "Value", value: JSON.parse(code[1]) }
    } catch {
      return { _tag: "Prose", text }
    }
  }
  const number = parseNumber(text)
  if (number !== undefined) return { _tag: "Value", value: number }
  const duration = /^(\S+) ([a-z]+)$/.exec(text)
  if (duration !== null) {
    const amount = parseNumber(duration[1])
    const unit = units[duration[2]]
    if (amount !== undefined && unit !== undefined) return { _tag: "Duration", millis: amount * unit }
  }
  return { _tag: "Prose", text }
}

const isPlainRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && Object.getPrototypeOf(u) === Object.prototype && !("_tag" in u)

/**
 * The documented leaves of a `defaults` value, by dotted path: nested plain records
 * (such as a retry budget's defaults) are documented field by field.
 */
export const leaves = (defaults: Record<string, unknown>, prefix = ""): Map<string, unknown> => {
  const out = new Map<string, unknown>()
  for (const [key, value] of Object.entries(defaults)) {
    if (isPlainRecord(value) && Object.keys(value).length > 0) {
      for (const [k, v] of leaves(value, `${prefix}${key}.`)) out.set(k, v)
    } else {
      out.set(`${prefix}${key}`, value)
    }
  }
  return out
}

/** The value at a dotted path, or `undefined`. */
export const at = (defaults: Record<string, unknown>, dotted: string): unknown =>
  dotted.split(".").reduce<unknown>((value, key) => isPlainRecord(value) ? value[key] : undefined, defaults)

const describe = (u: unknown): string =>
  Duration.isDuration(u)
    ? `${Duration.toMillis(u)} ms`
    : typeof u === "function"
    ? "a function"
    : JSON.stringify(u) ?? String(u)

/** Why the documented default and the exported one differ, or `undefined` when they agree. */
export const mismatch = (documented: Documented, exported: unknown): string | undefined => {
  switch (documented._tag) {
    case "Absent":
      return exported === undefined || isPlainRecord(exported)
        ? undefined
        : `documented without a default, but the code's default is ${describe(exported)}`
    case "Setting": {
      if (!IntegrationPatterns.isSettingDefault(exported)) {
        return `documented as the \`${documented.setting}\` setting, but the code's default is ${describe(exported)}`
      }
      if (exported.setting !== documented.setting) {
        return `documented as the \`${documented.setting}\` setting, but the code reads \`${exported.setting}\``
      }
      const settings: Record<string, unknown> = { ...IntegrationPatterns.defaultSettings }
      const why = mismatch(documented.value, settings[documented.setting])
      return why === undefined ? undefined : `the setting's default: ${why}`
    }
    case "Duration": {
      const millis = Duration.isDuration(exported)
        ? Duration.toMillis(exported)
        : typeof exported === "number"
        ? exported
        : undefined
      return millis === documented.millis
        ? undefined
        : `documented as ${documented.millis} ms, but the code's default is ${describe(exported)}`
    }
    case "Value": {
      // A zero duration may be written as a bare 0.
      const actual = Duration.isDuration(exported) && documented.value === 0 ? Duration.toMillis(exported) : exported
      return typeof actual === typeof documented.value && JSON.stringify(actual) === JSON.stringify(documented.value)
        ? undefined
        : `documented as ${describe(documented.value)}, but the code's default is ${describe(exported)}`
    }
    case "Prose":
      // Words are for defaults that are not plain values (derived from other options,
      // a Schedule, the environment); a plain value must be written as one.
      return exported === undefined || typeof exported === "function" ||
          (typeof exported === "object" && exported !== null && !Duration.isDuration(exported) &&
            !IntegrationPatterns.isSettingDefault(exported) && !Array.isArray(exported) && !isPlainRecord(exported))
        ? undefined
        : `documented in words ("${documented.text}"), but the code's default is the value ${describe(exported)}: write it as one`
  }
}
