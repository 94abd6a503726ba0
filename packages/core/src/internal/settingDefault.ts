/**
 * A default that is not a value of its own but one of the toolkit-wide settings, read
 * when a pattern is built. Patterns list these in their `defaults`, and read them
 * through {@link readSetting}, so the documented default and the one applied are the
 * same object.
 *
 * @internal
 */
import type { Settings } from "../IntegrationPatterns.js"

/** @internal */
export interface SettingDefault<K extends keyof Settings = keyof Settings> {
  readonly _tag: "SettingDefault"
  readonly setting: K
}

/** @internal */
export const fromSetting = <K extends keyof Settings>(setting: K): SettingDefault<K> => ({
  _tag: "SettingDefault",
  setting
})

/** @internal */
export const isSettingDefault = (u: unknown): u is SettingDefault =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === "SettingDefault"

/** @internal */
export const readSetting = <K extends keyof Settings>(d: SettingDefault<K>, settings: Settings): Settings[K] =>
  settings[d.setting]
