import { Metrics } from "@integration-patterns/core"
import * as Metric from "effect/Metric"
import * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import { describe, expect, it } from "vitest"
import { readReadme } from "./readme.js"

// Every metric the toolkit defines, by its Prometheus name (counters end in `_total`),
// read from the metrics themselves: each is recorded once under a tag of its own, then
// found in Effect's registry.
const definedNames = (): Set<string> => {
  const tag = [MetricLabel.make("readme_check", "1")]
  for (const value of Object.values(Metrics)) {
    if ((typeof value === "function" || typeof value === "object") && value !== null && Metric.MetricTypeId in value) {
      ;(value as Metric.Metric<any, number, any>).unsafeUpdate(0, tag)
    }
  }
  return new Set(
    Metric.unsafeSnapshot()
      .filter((pair) => pair.metricKey.tags.some((label) => label.key === "readme_check"))
      .map((pair) =>
        MetricKeyType.isCounterKey(pair.metricKey.keyType) ? `${pair.metricKey.name}_total` : pair.metricKey.name
      )
  )
}

describe("README metric names", () => {
  it("are exactly the toolkit's metrics, as Prometheus names them", () => {
    const documented = new Set(readReadme().match(/integration_patterns_[a-z_]*[a-z]/g))
    const defined = definedNames()
    expect(defined.size).toBeGreaterThan(10)
    expect([...documented].filter((name) => !defined.has(name))).toEqual([])
    expect([...defined].filter((name) => !documented.has(name))).toEqual([])
  })
})
