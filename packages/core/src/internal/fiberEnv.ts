/**
 * Synchronous reads of a running fiber's services. Hot paths use these inside
 * `Effect.withFiberRuntime` instead of one `Effect` per service: each read is a map lookup.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as DefaultServices from "effect/DefaultServices"
import type * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import { GlobalConfig, type Settings } from "../IntegrationPatterns.js"
import { PatternEvents, type PatternEventsService } from "../PatternEvents.js"

type AnyFiber = Fiber.RuntimeFiber<any, any>

let lastServices: Context.Context<DefaultServices.DefaultServices> | undefined
let lastClock: Clock.Clock | undefined

/**
 * The fiber's `Clock` (a `TestClock` in tests); fibers mostly share one set of default
 * services. Its reads stay exact: the live clock's `Date.now()` costs 60 to 150 ns on the
 * bench VM, but a value cached for a millisecond behind a timer (as the cache package
 * does for freshness checks) would stand still through a long synchronous call, so a
 * slow call would time as 0 ms, and under fake timers that never fire.
 *
 * @internal
 */
export const clockOf = (fiber: AnyFiber): Clock.Clock => {
  const services = fiber.currentDefaultServices
  if (services !== lastServices) {
    lastServices = services
    lastClock = Context.get(services, Clock.Clock)
  }
  return lastClock!
}

/** The fiber's `Random`. @internal */
export const randomOf = (fiber: AnyFiber): Random.Random => Context.get(fiber.currentDefaultServices, Random.Random)

/**
 * A pattern built from inline options (`withRetry({ ... })`) is resolved against the
 * settings and event bus of the fiber that runs it. This keeps the last resolution and
 * rebuilds only when either changes. A fiber whose context is the one seen last pays
 * one compare and one settings read.
 *
 * @internal
 */
export class PerEnvironment<A> {
  private context: Context.Context<never> | undefined
  private config: { readonly get: () => Settings } | undefined
  private settings: Settings | undefined
  private bus: PatternEventsService | undefined
  private value: A | undefined

  constructor(private readonly build: (settings: Settings, bus: PatternEventsService) => A) {}

  get(fiber: AnyFiber): A {
    const context = fiber.currentContext
    if (context === this.context && this.value !== undefined && this.config!.get() === this.settings) {
      return this.value
    }
    const config = Context.get(context, GlobalConfig)
    const settings = config.get()
    const bus = Context.get(context, PatternEvents)
    this.context = context
    this.config = config
    if (this.value === undefined || settings !== this.settings || bus !== this.bus) {
      this.settings = settings
      this.bus = bus
      this.value = this.build(settings, bus)
    }
    return this.value
  }
}

/**
 * The last 32 outcomes of a pattern, one bit each (1 = bad), for cheap health checks.
 *
 * @internal
 */
export class RecentOutcomes {
  private bits = 0
  private count = 0

  record(bad: boolean): void {
    this.bits = ((this.bits << 1) | (bad ? 1 : 0)) >>> 0
    if (this.count < 32) this.count++
  }

  /** Bad outcomes among the last `samples`. */
  get bad(): number {
    let n = this.bits
    n = n - ((n >>> 1) & 0x55555555)
    n = (n & 0x33333333) + ((n >>> 2) & 0x33333333)
    return (((n + (n >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
  }

  /** True when at least `minSamples` outcomes are known and more than half were bad. */
  mostlyBad(minSamples: number): boolean {
    return this.count >= minSamples && this.bad * 2 > this.count
  }
}
