// Cache-aside with the Effect API: a user cache in front of a slow "database".
// Run: node --conditions=source --import tsx examples/src/cache-aside.ts
import { CacheAside } from "@integration-patterns/cache"
import * as Effect from "effect/Effect"
import { pathToFileURL } from "node:url"

class UserNotFound {
  readonly _tag = "UserNotFound"
  constructor(readonly id: string) {}
}

interface User {
  readonly id: string
  readonly name: string
  readonly team: string
}

const users = new Map<string, User>([
  ["1", { id: "1", name: "Ada", team: "red" }],
  ["2", { id: "2", name: "Grace", team: "red" }],
  ["3", { id: "3", name: "Linus", team: "blue" }]
])

export const main = Effect.gen(function*() {
  let queries = 0
  const findUser = (key: string) =>
    Effect.gen(function*() {
      queries++
      yield* Effect.sleep("20 millis")
      const user = users.get(key.slice("user:".length))
      return user === undefined ? yield* Effect.fail(new UserNotFound(key)) : user
    })

  const cache = yield* CacheAside.make<User>({
    name: "users",
    ttl: "5 minutes",
    staleTtl: "1 minute",
    maxSize: 1_000
  })
  const byTeam = { tags: (user: User) => [`team:${user.team}`] }

  // 1,000 concurrent requests for one user: one query.
  yield* Effect.all(Array.from({ length: 1_000 }, () => cache.get("user:1", findUser, byTeam)), {
    concurrency: "unbounded"
  })
  yield* Effect.log(`1,000 concurrent lookups of user:1 ran ${queries} query`)
  const ada = yield* cache.get("user:1", findUser, byTeam)
  yield* Effect.log(`then ${ada.name} comes from the cache: still ${queries} query`)

  yield* cache.get("user:2", findUser, byTeam)
  yield* cache.get("user:3", findUser, byTeam)

  // A missing user is a typed failure, not cached.
  const missing = yield* cache.get("user:9", findUser).pipe(
    Effect.catchTag("CacheLoadError", (error) => Effect.succeed(`not found: ${error.cause.id}`))
  )
  yield* Effect.log(missing)

  // Team red changed: drop every cached member at once.
  yield* cache.invalidateTag("team:red")
  const stats = yield* cache.stats
  yield* Effect.log(
    `hits ${stats.hits}, misses ${stats.misses}, loads ${stats.loads}, load failures ${stats.loadFailures}, ` +
      `entries ${stats.size}, hit ratio ${stats.hitRatio.toFixed(3)}`
  )
  return { queries, stats }
}).pipe(Effect.scoped)

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Effect.runPromise(main)
}
