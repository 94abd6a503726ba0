import * as Effect from "effect/Effect"

/** One result row, in the format PERFORMANCE.md fixes. */
export interface Row {
  readonly suite: string
  readonly impl: string
  readonly nsPerOp?: number
  readonly opsPerSec?: number
  readonly samples: number
  /** The 10th percentile of the rounds' ns per call: the cost with the least disturbance from other jobs. */
  readonly p10NsPerOp?: number
  readonly bytesPerKey?: number
  readonly wallMs?: number
  readonly count?: number
  readonly note?: string
}

export interface SuiteContext {
  /** A smoke run: tiny counts, so the suite only proves it still runs. */
  readonly quick: boolean
}

export interface Suite {
  readonly name: string
  readonly run: (ctx: SuiteContext) => Promise<ReadonlyArray<Row>>
}

/** A case measured as nanoseconds per call. */
export type Case =
  | { readonly impl: string; readonly kind: "effect"; readonly effect: Effect.Effect<unknown, unknown> }
  | { readonly impl: string; readonly kind: "promise"; readonly fn: () => Promise<unknown> }
  | { readonly impl: string; readonly kind: "sync"; readonly fn: () => unknown }

const now = (): number => Number(process.hrtime.bigint())

// Effect cases loop inside one fiber, so that the baseline and every implementation
// pay the same loop cost and only the per-call work differs.
const runCase = async (c: Case, iterations: number): Promise<number> => {
  switch (c.kind) {
    case "effect": {
      const effect = c.effect
      const loop = Effect.gen(function*() {
        for (let i = 0; i < iterations; i++) yield* effect
      })
      const start = now()
      await Effect.runPromise(Effect.either(loop))
      return now() - start
    }
    case "promise": {
      const fn = c.fn
      const start = now()
      for (let i = 0; i < iterations; i++) {
        try {
          await fn()
        } catch {
          // rejections are the measured path in rejection suites
        }
      }
      return now() - start
    }
    case "sync": {
      const fn = c.fn
      const start = now()
      for (let i = 0; i < iterations; i++) fn()
      return now() - start
    }
  }
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** The value at fraction `q` of the sorted values (nearest rank). */
export const quantile = (values: ReadonlyArray<number>, q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

// Many short rounds rather than a few long ones, for about the same time per case: on a
// machine shared with other jobs, short rounds leave some undisturbed, and the 10th
// percentile reports them. `breaker.closed` overhead over 6 runs at load 2 to 3 on 2
// cores: the median of 7 rounds of 150 ms ranged 653 to 1,339 ns; the 10th percentile
// of 41 rounds of 25 ms 579 to 976, five of the six within 579 to 664.
export interface MeasureOptions {
  /** Rounds after warm-up; the median is reported, and the 10th percentile. Defaults to 41. */
  readonly rounds?: number
  /** Target time of one round of one case, in ms. Defaults to 25. */
  readonly roundMs?: number
}

/**
 * Warms every case up (at least 0.5 s or 20k calls), then runs the cases alternately,
 * round after round, and reports the median nanoseconds per call of each, and the 10th
 * percentile.
 */
export const measure = async (
  suite: string,
  cases: ReadonlyArray<Case>,
  ctx: SuiteContext,
  options: MeasureOptions = {}
): Promise<ReadonlyArray<Row>> => {
  const rounds = ctx.quick ? 5 : options.rounds ?? 41
  const roundMs = options.roundMs ?? 25
  const iterations = new Map<Case, number>()
  for (const c of cases) {
    if (ctx.quick) {
      await runCase(c, 50)
      iterations.set(c, 50)
      continue
    }
    let calls = 0
    let spent = 0
    let batch = 1000
    while (spent < 500e6 || calls < 20_000) {
      spent += await runCase(c, batch)
      calls += batch
      batch = Math.min(batch * 2, 200_000)
    }
    const nsPerCall = spent / calls
    iterations.set(c, Math.max(1000, Math.round((roundMs * 1e6) / nsPerCall)))
  }
  const samples = new Map<Case, Array<number>>(cases.map((c) => [c, []]))
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? cases : [...cases].reverse()
    for (const c of order) {
      const n = iterations.get(c)!
      samples.get(c)!.push((await runCase(c, n)) / n)
    }
  }
  return cases.map((c) => {
    const ns = median(samples.get(c)!)
    return {
      suite,
      impl: c.impl,
      nsPerOp: round2(ns),
      opsPerSec: Math.round(1e9 / ns),
      samples: rounds,
      p10NsPerOp: round2(quantile(samples.get(c)!, 0.1))
    }
  })
}

export const round2 = (n: number): number => Math.round(n * 100) / 100

/** Wall time of one whole run of `fn`, median over rounds. */
export const measureWall = async (
  suite: string,
  impl: string,
  fn: () => Promise<unknown>,
  ctx: SuiteContext,
  extra: Partial<Row> = {}
): Promise<Row> => {
  const rounds = 5
  if (!ctx.quick) await fn()
  const times: Array<number> = []
  for (let i = 0; i < rounds; i++) {
    const start = now()
    await fn()
    times.push((now() - start) / 1e6)
  }
  return { suite, impl, wallMs: round2(median(times)), samples: rounds, ...extra }
}

/** Forces a full collection; the bench runs with --expose-gc. */
export const collectGarbage = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) {
    gc()
    gc()
  }
}
