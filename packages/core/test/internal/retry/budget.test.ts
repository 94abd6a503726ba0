import { describe, expect, it } from "@effect/vitest"
import { RetryBudget } from "../../../src/internal/retry/budget.js"

describe("RetryBudget", () => {
  it("allows retries up to the ratio of first attempts", () => {
    const budget = new RetryBudget({ retryRatio: 0.2, minRetriesPerSecond: 0, window: 10_000 })
    for (let i = 0; i < 100; i++) budget.deposit(1_000)
    let granted = 0
    while (budget.tryWithdraw(1_000)) granted++
    expect(granted).toBe(20)
    expect(budget.available(1_000)).toBe(0)
  })

  it("always allows the minimum retries per second over the window", () => {
    const budget = new RetryBudget({ retryRatio: 0, minRetriesPerSecond: 2, window: 5_000 })
    let granted = 0
    while (budget.tryWithdraw(0)) granted++
    expect(granted).toBe(10)
  })

  it("forgets attempts and retries that leave the window", () => {
    const budget = new RetryBudget({ retryRatio: 0.5, minRetriesPerSecond: 0, window: 10_000 })
    for (let i = 0; i < 10; i++) budget.deposit(0)
    expect(budget.available(0)).toBe(5)
    while (budget.tryWithdraw(0));
    expect(budget.available(9_999)).toBe(0)
    // at 10 s the first bucket (deposits and withdrawals) leaves the window
    expect(budget.available(10_000)).toBe(0)
    budget.deposit(10_000)
    budget.deposit(10_000)
    expect(budget.available(10_000)).toBe(1)
  })

  it("slides bucket by bucket", () => {
    const budget = new RetryBudget({ retryRatio: 1, minRetriesPerSecond: 0, window: 10_000 })
    budget.deposit(0) // bucket [0, 1000)
    budget.deposit(5_500) // bucket [5000, 6000)
    expect(budget.available(9_999)).toBe(2)
    expect(budget.available(10_000)).toBe(1)
    expect(budget.available(15_999)).toBe(0)
  })

  it("counts into the newest bucket when the clock steps back", () => {
    const budget = new RetryBudget({ retryRatio: 1, minRetriesPerSecond: 0, window: 10_000 })
    budget.deposit(50_000)
    budget.deposit(20_000)
    expect(budget.available(50_000)).toBe(2)
  })
})
