// A process for the crash test (run with `node --conditions=source --import tsx`):
//
//   child.ts '{"store":...,"effects":FILE,"recovery":"compensate","recover":true,"killAt":"after:s2"}'
//
// With `recover`, it first runs Saga.recover, as a process does at start-up, and
// prints the report. With `killAt`, it then executes saga A to its end, then saga B;
// at B's kill point it prints `@@at <point>` and blocks, so that the test kills it
// exactly there with SIGKILL:
//   started        B's first record is stored, no step has run
//   after:sN       step N's output is stored
//   during:sN      inside step N's action, before its side effect
// Every action and compensation appends one line to the effects file.
import { appendFileSync, writeSync } from "node:fs"
import * as PatternEvents from "@integration-patterns/core/PatternEvents"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { Saga, SagaStore } from "../../src/index.js"

interface Args {
  readonly recover: boolean
  readonly store: { readonly sqlite: string } | { readonly pg: string; readonly prefix: string }
  readonly effects: string
  readonly killAt?: string
  readonly recovery: Saga.Recovery
}

const args = JSON.parse(process.argv[2]!) as Args

const say = (line: string) => writeSync(1, `${line}\n`)

const block = (point: string): never => {
  say(`@@at ${point}`)
  // Blocks this thread for good: the test kills the process here.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
  throw new Error("unreachable")
}

const effect = (line: string) => Effect.sync(() => appendFileSync(args.effects, `${line}\n`))

let phase: "A" | "B" = "A"
let sagaB: string | undefined

const steps = ["s1", "s2", "s3", "s4"] as const

const step = (name: string, index: number) => ({
  output: Schema.Struct({ n: Schema.Number }),
  run: ({ idempotencyKey, input, sagaId }: Saga.StepContext<{ readonly label: string }, unknown>) =>
    Effect.gen(function*() {
      // Only this process's saga B: a saga that recovery resumes passes here too.
      if (sagaId === sagaB && args.killAt === `during:${name}`) block(args.killAt)
      yield* effect(`do ${input.label} ${name} ${idempotencyKey}`)
      return { n: index }
    }),
  compensate: ({ idempotencyKey, input, output }: Saga.CompensationContext<{ readonly label: string }, unknown, { readonly n: number }>) =>
    effect(`undo ${input.label} ${name} ${idempotencyKey} ${output.n}`)
})

const definition = steps.reduce(
  (saga, name, i) => saga.step(name, step(name, i + 1)) as typeof saga,
  Saga.define("crash-test", { input: Schema.Struct({ label: Schema.String }), recovery: args.recovery }) as Saga.SagaDefinition<
    { readonly label: string },
    any
  >
)

const store = "sqlite" in args.store
  ? SagaStore.layerSqlite({ filename: args.store.sqlite })
  : SagaStore.layerPg({ url: args.store.pg, tablePrefix: args.store.prefix, maxConnections: 2 })

const bus = PatternEvents.unsafeMake()
bus.listen((event) => {
  if (event.pattern !== "Saga") return
  if (event._tag === "SagaStarted" && event.recovered) return
  if (event._tag === "SagaStarted") say(`@@saga ${phase} ${event.sagaId}`)
  if (phase !== "B") return
  if (event._tag === "SagaStarted") {
    sagaB = event.sagaId
    if (args.killAt === "started") block("started")
  }
  if (event._tag === "StepCompleted" && event.sagaId === sagaB && args.killAt === `after:${event.step}`) {
    block(args.killAt)
  }
})

const program = Effect.gen(function*() {
  const saga = yield* Saga.Saga
  if (args.recover) {
    const report = yield* saga.recover
    say(`@@report ${JSON.stringify({ recovered: report.recovered, failed: report.failed.map((e) => e.message) })}`)
    const store = yield* SagaStore.SagaStore
    say(`@@running ${yield* store.count("running")}`)
  }
  if (args.killAt === undefined) return
  yield* saga.execute(definition, { label: "A" })
  phase = "B"
  yield* saga.execute(definition, { label: "B" })
  say("@@done")
})

Effect.runPromise(
  program.pipe(
    Effect.provide(
      Saga.layer({ workerId: "crash-node", definitions: [definition], compensationRetry: Schedule.recurs(3) }).pipe(
        Layer.provideMerge(store)
      )
    ),
    Effect.provideService(PatternEvents.PatternEvents, bus)
  )
).then(
  () => process.exit(0),
  (error) => {
    say(`@@error ${String(error)}`)
    process.exit(1)
  }
)
