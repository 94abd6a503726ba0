import * as Context from "effect/Context"
import type { SagaStore } from "../../SagaStore.js"

/** @internal */
export const tag = Context.GenericTag<SagaStore>("@integration-patterns/saga/SagaStore")
