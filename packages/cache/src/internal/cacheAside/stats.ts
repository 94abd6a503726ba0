/**
 * The counters behind `stats` / `getStats()`. Plain mutable numbers: they are bumped
 * on the hit path, where a Ref would cost more than the lookup itself.
 */

/** A type literal rather than an interface, so that it is a `Record<string, unknown>` for the registry. @internal */
export type CacheStats = {
  /** Lookups served a fresh value (refresh-ahead window included). */
  readonly hits: number
  /** Lookups that found nothing usable and waited for a load (single-flight followers included). */
  readonly misses: number
  /** Lookups served a stale value while a background reload ran. */
  readonly staleServed: number
  /** Lookups answered by a cached load failure (negative caching). */
  readonly negativeHits: number
  /** Loader calls that succeeded (misses, refreshes and warming). */
  readonly loads: number
  /** Loader calls that failed. */
  readonly loadFailures: number
  /** Entries removed by size, expiry or invalidation. */
  readonly evictions: number
  /** Stored entries that could not be decoded (each counted as a miss too). */
  readonly decodeErrors: number
  /** Store operations that failed because the store was unavailable or a value could not be encoded. */
  readonly storeErrors: number
  /** `(hits + staleServed) / (hits + staleServed + misses)`, 0 before the first lookup. */
  readonly hitRatio: number
  /** Entries held in process memory (0 for a Redis-only store). */
  readonly size: number
  /** False while the store is unreachable. */
  readonly storeAvailable: boolean
}

/** @internal */
export class Counters {
  hits = 0
  misses = 0
  staleServed = 0
  negativeHits = 0
  loads = 0
  loadFailures = 0
  evictions = 0
  decodeErrors = 0
  storeErrors = 0

  snapshot(size: number, storeAvailable: boolean): CacheStats {
    const served = this.hits + this.staleServed
    const lookups = served + this.misses
    return {
      hits: this.hits,
      misses: this.misses,
      staleServed: this.staleServed,
      negativeHits: this.negativeHits,
      loads: this.loads,
      loadFailures: this.loadFailures,
      evictions: this.evictions,
      decodeErrors: this.decodeErrors,
      storeErrors: this.storeErrors,
      hitRatio: lookups === 0 ? 0 : served / lookups,
      size,
      storeAvailable
    }
  }
}
