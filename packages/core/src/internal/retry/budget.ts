/**
 * A retry budget, after Finagle's `RetryBudget` and gRPC's retry throttling: over a
 * sliding window, retries may add at most `retryRatio` on top of first attempts, plus a
 * floor of `minRetriesPerSecond` (averaged over the window) so that a quiet service can
 * still retry. One budget is shared by every caller of a policy, so a failing
 * dependency sees at most `1 + retryRatio` times its normal load instead of
 * `maxAttempts` times.
 *
 * Plain arithmetic over a ring of buckets: no clock, no IO; every call takes `now` in
 * milliseconds.
 *
 * @internal
 */

/** @internal */
export interface BudgetPolicy {
  /** Retries allowed per first attempt, 0 to 1 (0.2: retries add at most 20%). */
  readonly retryRatio: number
  /** Retries always allowed per second, averaged over the window. */
  readonly minRetriesPerSecond: number
  /** Milliseconds over which attempts and retries are counted. */
  readonly window: number
}

const BUCKETS = 10

/** @internal */
export class RetryBudget {
  private readonly deposits = new Float64Array(BUCKETS)
  private readonly withdrawals = new Float64Array(BUCKETS)
  private readonly bucketMs: number
  private readonly reserve: number
  private depositSum = 0
  private withdrawalSum = 0
  /** Index of the newest bucket, counted from time 0 in bucket widths; -1 before the first use. */
  private head = -1

  constructor(readonly policy: BudgetPolicy) {
    this.bucketMs = Math.max(1, policy.window / BUCKETS)
    this.reserve = policy.minRetriesPerSecond * (policy.window / 1000)
  }

  /** Counts a first attempt. */
  deposit(now: number): void {
    const i = this.advance(now)
    this.deposits[i]! += 1
    this.depositSum += 1
  }

  /** Takes one retry from the budget if there is one; false means "do not retry". */
  tryWithdraw(now: number): boolean {
    const i = this.advance(now)
    if (this.balance() < 1) return false
    this.withdrawals[i]! += 1
    this.withdrawalSum += 1
    return true
  }

  /** Retries that could be taken now. */
  available(now: number): number {
    this.advance(now)
    return Math.max(0, Math.floor(this.balance()))
  }

  private balance(): number {
    return this.reserve + this.policy.retryRatio * this.depositSum - this.withdrawalSum
  }

  // Moves the window forward to `now`, emptying the buckets that fell out of it, and
  // returns the bucket `now` belongs to. A clock that steps back counts into the newest bucket.
  private advance(now: number): number {
    const bucket = Math.floor(now / this.bucketMs)
    if (this.head === -1) {
      this.head = bucket
    } else if (bucket > this.head) {
      const stale = Math.min(BUCKETS, bucket - this.head)
      for (let k = 1; k <= stale; k++) {
        const i = mod(this.head + k, BUCKETS)
        this.depositSum -= this.deposits[i]!
        this.withdrawalSum -= this.withdrawals[i]!
        this.deposits[i] = 0
        this.withdrawals[i] = 0
      }
      this.head = bucket
    }
    return mod(this.head, BUCKETS)
  }
}

const mod = (n: number, m: number): number => ((n % m) + m) % m
