import type { ConfigIssue } from "@integration-patterns/core/Errors"
import { InvalidConfigError } from "@integration-patterns/core/Errors"
import { decodeOptionsEither, FunctionSchema, Name } from "@integration-patterns/core/internal/validation"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { pipeArguments } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import type * as Saga from "../../Saga.js"

/** @internal */
export const TypeId: Saga.TypeId = Symbol.for("@integration-patterns/saga/SagaDefinition") as Saga.TypeId

const SchemaSchema: Schema.Schema<Schema.Schema<any, any, never>> = Schema.declare(
  (u: unknown): u is Schema.Schema<any, any, never> => Schema.isSchema(u),
  { message: () => "expected a Schema" }
)

const DefineOptions = Schema.Struct({
  name: Name,
  input: SchemaSchema,
  recovery: Schema.optional(Schema.Literal("compensate", "forward"))
})

const StepOptions = Schema.Struct({
  output: SchemaSchema,
  run: FunctionSchema<(context: any) => any>("a function returning an Effect"),
  compensate: Schema.optional(FunctionSchema<(context: any) => any>("a function returning an Effect"))
})

const prefixed = (prefix: string, issues: ReadonlyArray<ConfigIssue>): ReadonlyArray<ConfigIssue> =>
  issues.map((issue) => ({ path: issue.path === "" ? prefix : `${prefix}.${issue.path}`, message: issue.message }))

const checkStep = (
  name: string,
  options: unknown,
  seen: ReadonlySet<string>
): { readonly step: Saga.StepDefinition | undefined; readonly issues: ReadonlyArray<ConfigIssue> } => {
  const issues: Array<ConfigIssue> = []
  const path = `steps.${name}`
  if (typeof name !== "string" || name.length === 0) {
    issues.push({ path: "steps", message: "a step needs a non-empty name" })
  } else if (seen.has(name)) {
    issues.push({ path, message: `duplicate step name "${name}"` })
  }
  const decoded = decodeOptionsEither("Saga", StepOptions, options)
  if (Either.isLeft(decoded)) {
    issues.push(...prefixed(path, decoded.left.issues))
    return { step: undefined, issues }
  }
  return {
    step: {
      name,
      output: decoded.right.output,
      run: decoded.right.run,
      compensate: decoded.right.compensate
    },
    issues
  }
}

const variance: Saga.Variance<any, any, any, any> = {
  _I: (_: any) => _,
  _O: (_: never) => _,
  _E: (_: never) => _,
  _R: (_: never) => _
}

class Definition implements Saga.SagaDefinition<any, any, any, any> {
  readonly [TypeId] = variance
  constructor(
    readonly name: string,
    readonly input: Schema.Schema<any, any, never>,
    readonly recovery: Saga.Recovery,
    readonly groups: ReadonlyArray<ReadonlyArray<Saga.StepDefinition>>,
    readonly issues: ReadonlyArray<ConfigIssue>,
    // Every name used so far, including those of rejected steps, so that each duplicate is reported.
    private readonly names: ReadonlySet<string> = new Set()
  ) {}

  step(name: string, options: unknown): any {
    const { issues, step } = checkStep(name, options, this.names)
    return new Definition(
      this.name,
      this.input,
      this.recovery,
      step === undefined || issues.length > 0 ? this.groups : [...this.groups, [step]],
      [...this.issues, ...issues],
      new Set([...this.names, name])
    )
  }

  parallel(steps: Record<string, unknown>): any {
    const seen = new Set(this.names)
    const group: Array<Saga.StepDefinition> = []
    const issues: Array<ConfigIssue> = []
    const entries = typeof steps === "object" && steps !== null ? Object.entries(steps) : []
    if (entries.length === 0) issues.push({ path: "steps", message: "a parallel group needs at least one step" })
    for (const [name, options] of entries) {
      const checked = checkStep(name, options, seen)
      issues.push(...checked.issues)
      if (checked.step !== undefined) group.push(checked.step)
      seen.add(name)
    }
    return new Definition(
      this.name,
      this.input,
      this.recovery,
      issues.length > 0 ? this.groups : [...this.groups, group],
      [...this.issues, ...issues],
      seen
    )
  }

  pipe() {
    return pipeArguments(this, arguments)
  }
}

/** @internal */
export const define = <I, II>(name: string, options: Saga.DefineOptions<I, II>): Saga.SagaDefinition<I, {}> => {
  const decoded = decodeOptionsEither("Saga", DefineOptions, { name, ...options })
  return (Either.isLeft(decoded)
    ? new Definition(typeof name === "string" ? name : "", Schema.Unknown, "compensate", [], decoded.left.issues)
    : new Definition(decoded.right.name, decoded.right.input, decoded.right.recovery ?? "compensate", [], [])) as unknown as Saga.SagaDefinition<I, {}>
}

/** @internal */
export const isDefinition = (u: unknown): u is Saga.SagaDefinition<unknown, unknown, unknown, unknown> =>
  typeof u === "object" && u !== null && TypeId in u

/** @internal */
export const invalid = (issues: ReadonlyArray<ConfigIssue>): InvalidConfigError =>
  new InvalidConfigError({ pattern: "Saga", issues })

/** @internal */
export const validate = <D extends Saga.SagaDefinition<any, any, any, any>>(
  definition: D
): Effect.Effect<D, InvalidConfigError> =>
  !isDefinition(definition)
    ? Effect.fail(invalid([{ path: "", message: "expected a saga definition made with Saga.define" }]))
    : definition.issues.length > 0
    ? Effect.fail(invalid(definition.issues))
    : definition.groups.length === 0
    ? Effect.fail(invalid([{ path: "steps", message: `saga "${definition.name}" has no steps` }]))
    : Effect.succeed(definition)
