// Cache-aside with the Promise API. Uses Redis when REDIS_URL is set, memory otherwise.
// Run: node --conditions=source --import tsx examples/src/cache-aside-promise.ts
import { CacheAside, CacheLoadError } from "@integration-patterns/cache/promise"
import { pathToFileURL } from "node:url"

interface Product {
  readonly sku: string
  readonly price: number
}

export const main = async () => {
  let queries = 0
  const loadProduct = async (key: string): Promise<Product> => {
    queries++
    await new Promise((resolve) => setTimeout(resolve, 10))
    if (key === "product:missing") throw new Error(`no such product: ${key}`)
    return { sku: key.slice("product:".length), price: 9.99 }
  }

  // ttl is in seconds in the Promise API: one hour.
  const products = new CacheAside<Product>({
    name: "products",
    ttl: 3600,
    maxSize: 1000,
    storage: process.env.REDIS_URL === undefined ? "memory" : "redis",
    keyPrefix: `example:${process.pid}:`
  })
  try {
    await Promise.all(Array.from({ length: 100 }, () => products.get("product:42", loadProduct)))
    const again = await products.get("product:42", loadProduct)
    console.log(`100 concurrent lookups and one more: ${queries} query; sku ${again.sku}`)

    const error = await products.get("product:missing", loadProduct).catch((e: unknown) => e)
    if (error instanceof CacheLoadError) console.log(`${error.name}: ${error.message}`)

    await products.invalidate("product:42")
    await products.get("product:42", loadProduct)
    const stats = products.getStats()
    console.log(
      `hits ${stats.hits}, misses ${stats.misses}, loads ${stats.loads}, hit ratio ${stats.hitRatio.toFixed(3)}`
    )
    return { queries, stats }
  } finally {
    await products.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main()
}
