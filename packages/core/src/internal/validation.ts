import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { InvalidConfigError } from "../Errors.js"

const parseOptions = { errors: "all", onExcessProperty: "error" } as const

type Issue = { readonly path: string; readonly message: string }

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((key, i) => typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`).join("")

const leafMessage = (issue: ParseResult.ParseIssue): string =>
  issue._tag === "Unexpected" ? "is not a known option" : ParseResult.ArrayFormatter.formatIssueSync(issue)[0]!.message

const hasPredicateFailure = (issue: ParseResult.ParseIssue): boolean => {
  switch (issue._tag) {
    case "Refinement":
      return issue.kind === "Predicate" || hasPredicateFailure(issue.issue)
    case "Pointer":
    case "Transformation":
      return hasPredicateFailure(issue.issue)
    case "Composite":
      return (Array.isArray(issue.issues) ? issue.issues : [issue.issues]).some(hasPredicateFailure)
    default:
      return false
  }
}

// Walks the parse tree so that a union reports one problem ("expected a | b"), or the
// message of the member whose type matched but whose constraint failed.
const collect = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>, out: Array<Issue>): void => {
  switch (issue._tag) {
    case "Pointer":
      return collect(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path])], out)
    case "Transformation":
      return collect(issue.issue, path, out)
    case "Refinement":
      // A cross-field filter names the option it blames with a Pointer.
      return issue.kind === "From" || issue.issue._tag === "Pointer"
        ? collect(issue.issue, path, out)
        : void out.push({ path: formatPath(path), message: leafMessage(issue) })
    case "Composite": {
      const members = Array.isArray(issue.issues) ? issue.issues : [issue.issues]
      if (SchemaAST.isUnion(issue.ast)) {
        // An optional option decodes as `X | undefined`; report X's own problem, not the union.
        const defined = members.filter((member) => !SchemaAST.isUndefinedKeyword(member.ast))
        if (defined.length === 1 && defined.length < members.length) return collect(defined[0]!, path, out)
        const matched = members.filter(hasPredicateFailure)
        if (matched.length > 0) return matched.forEach((member) => collect(member, path, out))
        return void out.push({
          path: formatPath(path),
          message: leafMessage(new ParseResult.Type(issue.ast, issue.actual))
        })
      }
      return members.forEach((member) => collect(member, path, out))
    }
    default:
      return void out.push({ path: formatPath(path), message: leafMessage(issue) })
  }
}

const toInvalidConfig = (pattern: string, error: ParseResult.ParseError): InvalidConfigError => {
  const found: Array<Issue> = []
  collect(error.issue, [], found)
  const seen = new Set<string>()
  const issues = found.filter((issue) => {
    const id = `${issue.path}\u0000${issue.message}`
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
  return new InvalidConfigError({ pattern, issues })
}

/**
 * Decodes a pattern's options with its schema. Every problem is collected, and unknown
 * option names are reported, so a typo never goes unnoticed.
 *
 * @internal
 */
export const decodeOptionsEither = <A, I>(
  pattern: string,
  schema: Schema.Schema<A, I, never>,
  input: unknown
): Either.Either<A, InvalidConfigError> =>
  Either.mapLeft(Schema.decodeUnknownEither(schema, parseOptions)(input), (error) => toInvalidConfig(pattern, error))

/** @internal */
export const decodeOptions = <A, I>(
  pattern: string,
  schema: Schema.Schema<A, I, never>,
  input: unknown
): Effect.Effect<A, InvalidConfigError> => decodeOptionsEither(pattern, schema, input)

/**
 * The facade's constructors throw the same error synchronously.
 *
 * @internal
 */
export const decodeOptionsSync = <A, I>(pattern: string, schema: Schema.Schema<A, I, never>, input: unknown): A => {
  const result = decodeOptionsEither(pattern, schema, input)
  if (Either.isLeft(result)) throw result.left
  return result.right
}

const durationMessage = "expected a duration: a number of milliseconds, a string such as \"5 seconds\", or a Duration"

/**
 * A duration given as milliseconds, a `Duration` string such as `"5 seconds"`, or a
 * `Duration`. Negative and non-finite numbers are rejected.
 *
 * @internal
 */
export const DurationInput: Schema.Schema<Duration.Duration, Duration.DurationInput> = Schema.transformOrFail(
  Schema.declare(
    (u: unknown): u is Duration.DurationInput =>
      (typeof u === "number" && Number.isFinite(u) && u >= 0) ||
      (typeof u !== "number" && Duration.decodeUnknown(u)._tag === "Some"),
    { message: () => durationMessage }
  ),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      const decoded = Duration.decodeUnknown(input)
      return decoded._tag === "Some"
        ? ParseResult.succeed(decoded.value)
        : ParseResult.fail(new ParseResult.Type(ast, input, durationMessage))
    },
    encode: ParseResult.succeed
  }
)

/** @internal */
export const PositiveDuration = DurationInput.pipe(
  Schema.filter((d) => Duration.greaterThan(d, Duration.zero) || "must be greater than zero")
)

/** @internal */
export const PositiveInt = Schema.Int.pipe(
  Schema.filter((n) => n > 0 || `expected an integer greater than 0, got ${n}`)
)

/** @internal */
export const NonNegativeInt = Schema.Int.pipe(
  Schema.filter((n) => n >= 0 || `expected an integer of 0 or more, got ${n}`)
)

/** @internal */
export const PositiveNumber = Schema.Number.pipe(
  Schema.filter((n) => (Number.isFinite(n) && n > 0) || `expected a finite number greater than 0, got ${n}`)
)

/** @internal */
export const Ratio = Schema.Number.pipe(
  Schema.filter((n) => (n >= 0 && n <= 1) || `expected a ratio between 0 and 1, got ${n}`)
)

/** @internal */
export const Name = Schema.String.pipe(Schema.filter((s) => s.length > 0 || "expected a non-empty name"))

/** @internal */
export const ScheduleSchema: Schema.Schema<Schedule.Schedule<unknown, unknown, never>> = Schema.declare(
  (u: unknown): u is Schedule.Schedule<unknown, unknown, never> => Schedule.isSchedule(u),
  { message: () => "expected a Schedule" }
)

/** @internal */
export const FunctionSchema = <F extends (...args: ReadonlyArray<any>) => any>(what: string): Schema.Schema<F> =>
  Schema.declare((u: unknown): u is F => typeof u === "function", { message: () => `expected ${what}` })
