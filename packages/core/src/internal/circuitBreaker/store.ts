import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Stream from "effect/Stream"
import type * as CB from "../../CircuitBreaker.js"

/** @internal */
export const CircuitBreakerStore = Context.GenericTag<CB.CircuitBreakerStore>(
  "@integration-patterns/core/CircuitBreakerStore"
)

/** @internal */
export const makeMemory: Effect.Effect<CB.CircuitBreakerStore> = Effect.map(
  PubSub.unbounded<CB.RemoteSignal>(),
  (pubsub): CB.CircuitBreakerStore => {
    // Saved as JSON text, so the memory store hands back what a remote store would.
    const saved = new Map<string, string>()
    return {
      load: (name) =>
        Effect.sync(() => {
          const json = saved.get(name)
          return json === undefined ? Option.none() : Option.some(JSON.parse(json) as unknown)
        }),
      save: (name, snapshot) => Effect.sync(() => void saved.set(name, JSON.stringify(snapshot))),
      signals: {
        subscribe: Effect.map(PubSub.subscribe(pubsub), (queue) => Stream.fromQueue(queue)),
        publish: (signal) => Effect.asVoid(PubSub.publish(pubsub, signal))
      }
    }
  }
)

/** @internal */
export const layerMemory: Layer.Layer<CB.CircuitBreakerStore> = Layer.effect(CircuitBreakerStore, makeMemory)
