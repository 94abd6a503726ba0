import { CacheAside } from "@integration-patterns/cache"
import { CacheAside as PromiseCacheAside } from "@integration-patterns/cache/promise"
import * as RedisCacheStore from "@integration-patterns/cache/RedisCacheStore"
import { RateLimiter as PromiseRateLimiter } from "@integration-patterns/core/promise"
import * as RedisCircuitBreakerStore from "@integration-patterns/core/RedisCircuitBreakerStore"
import * as RedisRateLimiterStore from "@integration-patterns/core/RedisRateLimiterStore"
import {
  Bulkhead,
  CircuitBreaker,
  IntegrationPatterns,
  PatternEvents,
  RateLimiter,
  RequestResponse,
  Retry,
  Timeout
} from "@integration-patterns/core"
import { HttpEndpoints } from "@integration-patterns/metrics"
import { Saga, SagaStore } from "@integration-patterns/saga"
import { Saga as PromiseSaga } from "@integration-patterns/saga/promise"
import { describe, expect, it } from "vitest"
import { at, leaves, mismatch, parseDefault } from "./defaults.js"
import { optionsTables, readReadme } from "./readme.js"

/** Every `defaults` export, by the name a table's `<!-- defaults: ... -->` marker uses. */
const sources: Record<string, Record<string, unknown>> = {
  "PatternEvents.defaults": PatternEvents.defaults,
  "Retry.defaults": Retry.defaults,
  "Timeout.defaults": Timeout.defaults,
  "CircuitBreaker.defaults": CircuitBreaker.defaults,
  "CircuitBreaker.keyedDefaults": CircuitBreaker.keyedDefaults,
  "RateLimiter.defaults": RateLimiter.defaults,
  "RateLimiter.callDefaults": RateLimiter.callDefaults,
  "promise/RateLimiter.storeDefaults": PromiseRateLimiter.storeDefaults,
  "RedisRateLimiterStore.defaults": RedisRateLimiterStore.defaults,
  "RedisCircuitBreakerStore.defaults": RedisCircuitBreakerStore.defaults,
  "Bulkhead.defaults": Bulkhead.defaults,
  "CacheAside.defaults": CacheAside.defaults,
  "promise/CacheAside.defaults": PromiseCacheAside.defaults,
  "RedisCacheStore.defaults": RedisCacheStore.defaults,
  "Saga.defaults": Saga.defaults,
  "promise/Saga.defaults": PromiseSaga.defaults,
  "SagaStore.defaults": SagaStore.defaults,
  "RequestResponse.defaults": RequestResponse.defaults,
  "IntegrationPatterns.defaultSettings": { ...IntegrationPatterns.defaultSettings },
  "HttpEndpoints.defaults": HttpEndpoints.defaults
}

const { problems: layoutProblems, tables } = optionsTables(readReadme())

describe("README options tables", () => {
  it("have the columns | option | type | default | description |", () => {
    expect(layoutProblems).toEqual([])
  })

  it("name, through their marker, a defaults export each, and every export has its table", () => {
    const problems = tables.flatMap((table) =>
      table.source === undefined
        ? [`README.md:${table.line}: no <!-- defaults: ... --> marker above the table`]
        : sources[table.source] === undefined
        ? [`README.md:${table.line}: unknown defaults "${table.source}"`]
        : []
    )
    const used = tables.map((table) => table.source)
    for (const name of Object.keys(sources)) {
      const count = used.filter((source) => source === name).length
      if (count !== 1) problems.push(`${name} is documented by ${count} tables, expected 1`)
    }
    expect(problems).toEqual([])
  })

  it.each(tables.filter((table) => table.source !== undefined && sources[table.source] !== undefined))(
    "$source (README.md:$line) matches the code's defaults",
    (table) => {
      const defaults = sources[table.source!]
      const problems: Array<string> = []
      const documented = new Set<string>()
      for (const row of table.rows) {
        const option = /^`([\w.]+)`$/.exec(row.option)?.[1]
        if (option === undefined) {
          problems.push(`README.md:${row.line}: the option cell must be one name in backticks, got "${row.option}"`)
          continue
        }
        if (documented.has(option)) problems.push(`README.md:${row.line}: ${option} is documented twice`)
        documented.add(option)
        if (row.type === "" || row.description === "") {
          problems.push(`README.md:${row.line}: ${option} needs a type and a description`)
        }
        const why = mismatch(parseDefault(row.default), at(defaults, option))
        if (why !== undefined) problems.push(`README.md:${row.line}: ${option}: ${why}`)
      }
      for (const key of leaves(defaults).keys()) {
        if (!documented.has(key)) problems.push(`${table.source}.${key} has a default but no row in the table`)
      }
      expect(problems).toEqual([])
    }
  )
})

describe("reading a default cell", () => {
  it.each([
    ["`\"exponential\"`", { _tag: "Value", value: "exponential" }],
    ["`false`", { _tag: "Value", value: false }],
    ["`[]`", { _tag: "Value", value: [] }],
    ["10,000", { _tag: "Value", value: 10_000 }],
    ["0.5", { _tag: "Value", value: 0.5 }],
    ["0 (off)", { _tag: "Value", value: 0 }],
    ["100 ms", { _tag: "Duration", millis: 100 }],
    ["1 minute (60,000 ms)", { _tag: "Duration", millis: 60_000 }],
    ["30 seconds", { _tag: "Duration", millis: 30_000 }],
    ["10 minutes", { _tag: "Duration", millis: 600_000 }],
    ["none", { _tag: "Absent" }],
    ["required", { _tag: "Absent" }],
    ["`retryAttempts` setting (3)", { _tag: "Setting", setting: "retryAttempts", value: { _tag: "Value", value: 3 } }],
    ["the host name", { _tag: "Prose", text: "the host name" }]
  ])("%s", (cell, expected) => {
    expect(parseDefault(cell)).toEqual(expected)
  })

  it("tells a wrong default apart from a right one, on both sides of the unit", () => {
    expect(mismatch(parseDefault("1 second"), 1_000)).toBeUndefined()
    expect(mismatch(parseDefault("1 second"), Timeout.defaults.gracePeriod)).toBeUndefined()
    expect(mismatch(parseDefault("60 seconds"), CircuitBreaker.defaults.recoveryTimeout)).toBeUndefined()
    expect(mismatch(parseDefault("2 seconds"), CircuitBreaker.defaults.recoveryTimeout)).toContain("60000")
    expect(mismatch(parseDefault("3"), 4)).toContain("4")
    expect(mismatch(parseDefault("`\"fixed\"`"), "exponential")).toContain("exponential")
    expect(mismatch(parseDefault("`retryAttempts` setting (3)"), Retry.defaults.maxAttempts)).toBeUndefined()
    expect(mismatch(parseDefault("`retryAttempts` setting (4)"), Retry.defaults.maxAttempts)).toContain("setting")
    expect(mismatch(parseDefault("`defaultTimeout` setting (30 seconds)"), Retry.defaults.maxAttempts))
      .toContain("reads `retryAttempts`")
    expect(mismatch(parseDefault("none"), 5)).toContain("5")
    expect(mismatch(parseDefault("about a second"), 1_000)).toContain("write it as one")
    expect(mismatch(parseDefault("`requestsPerSecond`, rounded up"), RateLimiter.defaults.burstLimit)).toBeUndefined()
  })
})
