/**
 * The Promise facade of `@integration-patterns/saga`.
 *
 * @since 0.1.0
 */
export * from "@integration-patterns/core/Errors"
export { Saga } from "./Saga.js"
export type { CompensationInfo, SagaError, SagaOptions, SagaStats, StepInfo } from "./Saga.js"
