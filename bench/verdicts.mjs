// Ranges over several `pnpm bench --json FILE` runs, in the terms of PERFORMANCE.md's
// targets: p10 overheads scaled to its 970 ns in-fiber floor, rejections scaled to its
// 552 ns typed-failure floor, and the lower-bound rows (`bound.*`) beside them.
//
//   node bench/verdicts.mjs run1.json run2.json ...
import { readFileSync } from "node:fs"

const runs = process.argv.slice(2).map((file) => JSON.parse(readFileSync(file, "utf8")))
if (runs.length === 0) {
  console.error("usage: node bench/verdicts.mjs run1.json [run2.json ...]")
  process.exit(2)
}

const row = (rows, suite, impl, nth = 0) => rows.filter((r) => r.suite === suite && r.impl === impl)[nth]
const range = (values) => {
  const finite = values.filter((v) => v !== undefined && Number.isFinite(v))
  if (finite.length === 0) return "n/a"
  const lo = Math.min(...finite)
  const hi = Math.max(...finite)
  const f = (v) => Math.round(v).toLocaleString("en-US")
  return lo === hi ? f(lo) : `${f(lo)} to ${f(hi)}`
}
const ratio = (values) => {
  const finite = values.filter((v) => v !== undefined && Number.isFinite(v))
  return finite.length === 0 ? "n/a" : `${Math.min(...finite).toFixed(2)} to ${Math.max(...finite).toFixed(2)}`
}

// Overhead over the suite's floor, scaled to 970 ns.
const scaledOverhead = (rows, suite, impl, baseline = "baseline.in-fiber") => {
  const r = row(rows, suite, impl)
  const b = row(rows, suite, baseline)
  if (r?.p10NsPerOp === undefined || b?.p10NsPerOp === undefined) return undefined
  return ((r.p10NsPerOp - b.p10NsPerOp) * 970) / b.p10NsPerOp
}
// Whole cost of a rejection, scaled to the 552 ns typed-failure floor.
const scaledRejection = (rows, suite, impl) => {
  const r = row(rows, suite, impl)
  const b = row(rows, suite, "baseline.in-fiber")
  if (r?.p10NsPerOp === undefined || b?.p10NsPerOp === undefined) return undefined
  return (r.p10NsPerOp * 552) / b.p10NsPerOp
}
const p10Ratio = (rows, suite, impl, peer, nth = 0) => {
  const r = row(rows, suite, impl)
  const p = row(rows, suite, peer, nth)
  return r?.p10NsPerOp === undefined || p?.p10NsPerOp === undefined ? undefined : r.p10NsPerOp / p.p10NsPerOp
}
const wall = (rows, suite, impl, count) => rows.find((r) => r.suite === suite && r.impl === impl && r.count === count)?.wallMs

const lines = []
const say = (label, text) => lines.push(`${label.padEnd(46)} ${text}`)
say("runs", String(runs.length))
for (const suite of ["retry.success", "breaker.closed", "bulkhead.free", "ratelimit.allow", "timeout.idle"]) {
  for (const impl of ["integration-patterns", "integration-patterns.no-metrics", "integration-patterns.global"]) {
    if (runs.some((rows) => row(rows, suite, impl))) say(`${suite} ${impl}`, `+${range(runs.map((rows) => scaledOverhead(rows, suite, impl)))} ns scaled`)
  }
  for (const impl of ["bound.observe", "bound.observe-timed", "bound.guarded", "bound.decide-after-clock-read"]) {
    if (runs.some((rows) => row(rows, suite, impl))) say(`${suite} ${impl}`, `+${range(runs.map((rows) => scaledOverhead(rows, suite, impl)))} ns scaled`)
  }
}
for (const suite of ["breaker.open", "bulkhead.full", "ratelimit.reject"]) {
  for (const impl of ["integration-patterns", "bound.fail-after-clock-read"]) {
    if (!runs.some((rows) => row(rows, suite, impl))) continue
    say(`${suite} ${impl}`, `${range(runs.map((rows) => scaledRejection(rows, suite, impl)))} ns in all, scaled; +${range(runs.map((rows) => scaledOverhead(rows, suite, impl)))} over the floor, scaled`)
  }
}
say("breaker.open vs cockatiel (facade rejection)", `${ratio(runs.map((rows) => p10Ratio(rows, "facade.breaker.open", "integration-patterns.promise", "cockatiel")))}x`)
say("facade.breaker.closed vs cockatiel", `${ratio(runs.map((rows) => p10Ratio(rows, "facade.breaker.closed", "integration-patterns.promise", "cockatiel")))}x`)
say("facade.retry.success vs cockatiel", `${ratio(runs.map((rows) => p10Ratio(rows, "facade.retry.success", "integration-patterns.promise", "cockatiel")))}x`)
say("facade.bulkhead.free vs cockatiel", `${ratio(runs.map((rows) => p10Ratio(rows, "facade.bulkhead.free", "integration-patterns.promise", "cockatiel")))}x`)
say("facade.timeout.idle vs cockatiel", `${ratio(runs.map((rows) => p10Ratio(rows, "facade.timeout.idle", "integration-patterns.promise", "cockatiel")))}x`)
say("bulkhead.full facade vs cockatiel", `${ratio(runs.map((rows) => p10Ratio(rows, "bulkhead.full", "integration-patterns.promise", "cockatiel")))}x`)
say("cache.hit vs baseline.in-fiber", `${ratio(runs.map((rows) => p10Ratio(rows, "cache.hit", "integration-patterns", "baseline.in-fiber")))}x`)
for (const impl of ["baseline.in-fiber", "integration-patterns", "integration-patterns.promise", "p-limit", "cockatiel", "baseline.await"]) {
  const small = runs.map((rows) => wall(rows, "bulkhead.contended", impl, 10_000))
  const big = runs.map((rows) => wall(rows, "bulkhead.contended", impl, 100_000))
  const growth = runs.map((_, i) => (small[i] === undefined || big[i] === undefined ? undefined : big[i] / small[i]))
  say(`bulkhead.contended ${impl}`, `10k ${range(small)} ms; 100k/10k ${ratio(growth)}x`)
}
for (const impl of ["integration-patterns", "integration-patterns.fixed-window", "integration-patterns.sliding-window", "rate-limiter-flexible"]) {
  say(`ratelimit.memory ${impl}`, `${range(runs.map((rows) => row(rows, "ratelimit.memory", impl)?.bytesPerKey))} bytes/key`)
}
say("ratelimit.redis ours vs rate-limiter-flexible", `${ratio(runs.map((rows) => { const o = row(rows, "ratelimit.redis", "integration-patterns"); const p = row(rows, "ratelimit.redis", "rate-limiter-flexible"); return o && p ? p.nsPerOp / o.nsPerOp : undefined }))}x the decisions per second`)
say("saga.sqlite steps/s", range(runs.map((rows) => row(rows, "saga.sqlite", "integration-patterns")?.opsPerSec)))
console.log(lines.join("\n"))
