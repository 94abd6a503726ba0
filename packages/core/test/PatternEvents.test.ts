import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as PatternEvents from "../src/PatternEvents.js"

interface Probe extends PatternEvents.PatternEventBase {
  readonly _tag: "Probe"
  readonly n: number
}

declare module "../src/PatternEvents.js" {
  interface PatternEventRegistry {
    readonly Probe: Probe
  }
}

const probe = (n: number): Probe => ({ _tag: "Probe", pattern: "Retry", name: "test", timestamp: 0, n })

describe("PatternEvents", () => {
  it.scoped("delivers events to a subscription in order", () =>
    Effect.gen(function*() {
      const bus = yield* PatternEvents.make()
      expect(bus.active).toBe(false)
      const queue = yield* bus.subscribe
      expect(bus.active).toBe(true)
      bus.unsafePublish(probe(1))
      yield* bus.publish(probe(2))
      const received = yield* Queue.takeAll(queue)
      expect(Chunk.toReadonlyArray(received).map((e) => (e as Probe).n)).toEqual([1, 2])
    }))

  it.effect("is inactive again once the subscription's scope closes", () =>
    Effect.gen(function*() {
      const bus = yield* PatternEvents.make()
      yield* Effect.scoped(bus.subscribe)
      expect(bus.active).toBe(false)
    }))

  it("calls plain listeners and survives one that throws", () => {
    const bus = PatternEvents.unsafeMake()
    const seen: Array<number> = []
    const stopBad = bus.listen(() => {
      throw new Error("listener bug")
    })
    const stop = bus.listen((e) => seen.push((e as Probe).n))
    bus.unsafePublish(probe(7))
    stop()
    stopBad()
    bus.unsafePublish(probe(8))
    expect(seen).toEqual([7])
    expect(bus.active).toBe(false)
  })

  it.scoped("drops new events for a subscriber that falls behind, without blocking the publisher", () =>
    Effect.gen(function*() {
      const bus = yield* PatternEvents.make({ capacity: 2 })
      const queue = yield* bus.subscribe
      for (const n of [1, 2, 3, 4]) bus.unsafePublish(probe(n))
      const received = yield* Queue.takeAll(queue)
      expect(Chunk.toReadonlyArray(received).map((e) => (e as Probe).n)).toEqual([1, 2])
    }))
})
