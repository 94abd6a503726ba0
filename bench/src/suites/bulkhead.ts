import { Bulkhead, BulkheadRejectedError } from "@integration-patterns/core"
import * as Facade from "@integration-patterns/core/promise"
import { bulkhead as cockatielBulkhead } from "cockatiel"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import pLimit from "p-limit"
import * as Bound from "../bounds.js"
import { collectGarbage, measure, measureWall, median, round2, type Row, type Suite, type SuiteContext } from "../harness.js"

const fn = async () => 1

/** Builds a scoped value outside of any fiber; the caller closes the scope. */
const scoped = <A, E>(make: Effect.Effect<A, E, Scope.Scope>): { readonly value: A; readonly close: () => void } => {
  const scope = Effect.runSync(Scope.make())
  const value = Effect.runSync(Scope.extend(make, scope))
  return { value, close: () => Effect.runFork(Scope.close(scope, Exit.void)) }
}

// ---------------------------------------------------------------------------------------
// bulkhead.contended: n callers at once, 100 slots. Each call holds its slot for one turn
// of the event loop (setImmediate), so the limit decides how long the whole run takes.
// Effect callers are fibers, forked the cheapest way we know (forkDaemon + an observer),
// the same way for the no-limit floor, this project and Effect's Semaphore.
// ---------------------------------------------------------------------------------------

const LIMIT = 100
const work = (): Promise<number> => new Promise((resolve) => setImmediate(resolve, 1))
const workEffect = Effect.promise(work)

const forkAll = (n: number, call: Effect.Effect<unknown, unknown>): Effect.Effect<void> =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<void>()
    let left = n
    const onExit = () => {
      if (--left === 0) Deferred.unsafeDone(done, Exit.void)
    }
    const fork = Effect.forkDaemon(call)
    for (let i = 0; i < n; i++) (yield* fork).addObserver(onExit)
    yield* Deferred.await(done)
  })

const ours = (n: number) => () => {
  const { close, value } = scoped(Bulkhead.make({ name: "bench-contended", maxConcurrent: LIMIT, queueSize: n }))
  return Effect.runPromise(forkAll(n, value.execute(workEffect))).finally(close)
}

const semaphore = (n: number) => () =>
  Effect.runPromise(Effect.flatMap(Effect.makeSemaphore(LIMIT), (sem) => forkAll(n, sem.withPermits(1)(workEffect))))

const facade = (n: number) => () => {
  const bulkhead = new Facade.Bulkhead({ name: "bench-contended", maxConcurrent: LIMIT, queueSize: n })
  return Promise.all(Array.from({ length: n }, () => bulkhead.execute(work)))
}

/** Wall time of single runs, for the rows too slow to repeat five times. */
const wall = async (
  suite: string,
  impl: string,
  run: () => Promise<unknown>,
  rounds: number,
  extra: Partial<Row>
): Promise<Row> => {
  const times: Array<number> = []
  for (let i = 0; i < rounds; i++) {
    collectGarbage()
    const start = performance.now()
    await run()
    times.push(performance.now() - start)
  }
  return { suite, impl, wallMs: round2(median(times)), samples: rounds, ...extra }
}

const contended = async (ctx: SuiteContext): Promise<ReadonlyArray<Row>> => {
  const suite = "bulkhead.contended"
  const n = ctx.quick ? 300 : 10_000
  const big = ctx.quick ? 3_000 : 100_000
  // Effect's Semaphore wakes every waiter on each release (O(waiters) per release), so
  // its run time grows with the square of the callers: measured here with limit 100,
  // 1,000 callers take about 5 s and 950 MB, 2,000 take about 57 s and 3 GB, and 10,000
  // run out of a 2 GB heap after 86 s. Its row is therefore capped, and run once.
  const semaphoreCalls = ctx.quick ? 150 : 500
  const rows: Array<Row> = []
  const count = { count: n }
  rows.push(await measureWall(suite, "baseline.in-fiber", () => Effect.runPromise(forkAll(n, workEffect)), ctx, count))
  const ours10k = await measureWall(suite, "integration-patterns", ours(n), ctx, count)
  rows.push(ours10k)
  const ours100k = await wall(suite, "integration-patterns", ours(big), 2, { count: big })
  rows.push({ ...ours100k, note: `${round2(ours100k.wallMs! / ours10k.wallMs!)}x the ${n} time` })
  const oursAtCap = await wall(suite, "integration-patterns", ours(semaphoreCalls), 1, {})
  rows.push(
    await wall(suite, "effect.semaphore", semaphore(semaphoreCalls), 1, {
      count: semaphoreCalls,
      note: `capped at ${semaphoreCalls} calls (integration-patterns: ${oursAtCap.wallMs} ms for as many); ` +
        `each release wakes every waiter: 2000 calls took 57 s here and 10000 ran out of memory`
    })
  )
  const noLimit = (calls: number) => () => Promise.all(Array.from({ length: calls }, work))
  const await10k = await measureWall(suite, "baseline.await", noLimit(n), ctx, count)
  const await100k = await wall(suite, "baseline.await", noLimit(big), 2, { count: big })
  rows.push(await10k, { ...await100k, note: `${round2(await100k.wallMs! / await10k.wallMs!)}x the ${n} time` })
  const facade10k = await measureWall(suite, "integration-patterns.promise", facade(n), ctx, count)
  rows.push(facade10k)
  const facade100k = await wall(suite, "integration-patterns.promise", facade(big), 2, { count: big })
  rows.push({ ...facade100k, note: `${round2(facade100k.wallMs! / facade10k.wallMs!)}x the ${n} time` })
  rows.push(
    await measureWall(suite, "cockatiel", () => {
      const policy = cockatielBulkhead(LIMIT, n)
      return Promise.all(Array.from({ length: n }, () => policy.execute(work)))
    }, ctx, count)
  )
  // p-limit at both sizes, as a reference for how far a Promise-based queue stays linear
  // on this machine. (cockatiel is left at the small size: its queue is an array it
  // shifts, so 100k calls took over 10 s here.)
  const pLimitRun = (calls: number) => () => {
    const limit = pLimit(LIMIT)
    return Promise.all(Array.from({ length: calls }, () => limit(work)))
  }
  const pLimit10k = await measureWall(suite, "p-limit", pLimitRun(n), ctx, count)
  const pLimit100k = await wall(suite, "p-limit", pLimitRun(big), 2, { count: big })
  rows.push(pLimit10k, { ...pLimit100k, note: `${round2(pLimit100k.wallMs! / pLimit10k.wallMs!)}x the ${n} time` })
  return rows
}

const suites: ReadonlyArray<Suite> = [
  {
    // A free slot: take it and give it back in the same fiber, no fork.
    name: "bulkhead.free",
    run: async (ctx) => {
      const { close, value: bulkhead } = scoped(Bulkhead.make({ name: "bench-free", maxConcurrent: 10 }))
      const sem = Effect.runSync(Effect.makeSemaphore(10))
      const call = Effect.promise(fn)
      try {
        return await measure("bulkhead.free", [
          { impl: "baseline.in-fiber", kind: "effect", effect: call },
          { impl: "integration-patterns", kind: "effect", effect: bulkhead.execute(call) },
          { impl: "effect.semaphore", kind: "effect", effect: sem.withPermits(1)(call) },
          // Lower bound: a step whose end is seen even when the call is interrupted.
          { impl: "bound.guarded", kind: "effect", effect: Bound.guarded(call) }
        ], ctx)
      } finally {
        close()
      }
    }
  },
  {
    // Every slot busy and no queue: the cost of a typed rejection.
    name: "bulkhead.full",
    run: async (ctx) => {
      const { close, value: bulkhead } = scoped(Bulkhead.make({ name: "bench-full", maxConcurrent: 1 }))
      const sem = Effect.runSync(Effect.makeSemaphore(1))
      const holders = [Effect.runFork(bulkhead.execute(Effect.never)), Effect.runFork(sem.withPermits(1)(Effect.never))]
      const facade = new Facade.Bulkhead({ name: "bench-full", maxConcurrent: 1 })
      const hold = new Promise<void>(() => undefined)
      void facade.execute(() => hold)
      const policy = cockatielBulkhead(1, 0)
      void policy.execute(() => hold)
      const error = new BulkheadRejectedError({ bulkhead: "b", reason: "QueueFull", maxConcurrent: 1, queueSize: 0 })
      const failed = Promise.reject(error)
      failed.catch(() => undefined)
      const call = Effect.promise(fn)
      try {
        const rows = await measure("bulkhead.full", [
          { impl: "baseline.in-fiber", kind: "effect", effect: Effect.either(Effect.fail(error)) },
          { impl: "integration-patterns", kind: "effect", effect: Effect.either(bulkhead.execute(call)) },
          { impl: "effect.semaphore", kind: "effect", effect: sem.withPermitsIfAvailable(1)(call) },
          { impl: "baseline.await", kind: "promise", fn: () => failed },
          { impl: "integration-patterns.promise", kind: "promise", fn: () => facade.execute(fn) },
          { impl: "cockatiel", kind: "promise", fn: () => policy.execute(fn) }
        ], ctx)
        return rows.map((row) =>
          row.impl === "effect.semaphore"
            ? { ...row, note: "withPermitsIfAvailable: returns Option.none, no typed error" }
            : row
        )
      } finally {
        for (const holder of holders) Effect.runFork(Fiber.interrupt(holder))
        close()
      }
    }
  },
  { name: "bulkhead.contended", run: contended },
  {
    name: "facade.bulkhead.free",
    run: (ctx) => {
      const facade = new Facade.Bulkhead({ name: "bench-facade-free", maxConcurrent: 10 })
      const policy = cockatielBulkhead(10, 0)
      const limit = pLimit(10)
      return measure("facade.bulkhead.free", [
        { impl: "baseline.await", kind: "promise", fn },
        { impl: "integration-patterns.promise", kind: "promise", fn: () => facade.execute(fn) },
        { impl: "cockatiel", kind: "promise", fn: () => policy.execute(fn) },
        { impl: "p-limit", kind: "promise", fn: () => limit(fn) }
      ], ctx)
    }
  }
]

export default suites
