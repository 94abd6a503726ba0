import * as Duration from "effect/Duration"

/**
 * The defaults of the Redis store's options. Kept apart from the Redis module so that
 * the Promise facade reads them without loading ioredis.
 *
 * @internal
 */
export const redisDefaults = {
  prefix: "cache:",
  twoLevel: false,
  commandTimeout: Duration.seconds(1),
  connectTimeout: Duration.seconds(2)
} as const
