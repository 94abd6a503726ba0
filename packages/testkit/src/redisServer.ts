/**
 * Helpers of the Redis integration tests and the Redis bench: the variables
 * scripts/services.sh sets, and redis-servers of a test's own, to kill and restart.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"

/** An environment variable the test run must set; the test fails without it. */
export const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set: run these tests through \`pnpm test\` (scripts/services.sh writes it)`)
  }
  return value
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** Polls `check` every 10 ms until it holds; throws after `ms`. */
export const eventually = async (check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const ping = async (port: number): Promise<boolean> => {
  const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  probe.on("error", () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === "PONG"
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

/** A redis-server of one test, on a free loopback port, that it can kill and start again. */
export interface OwnServer {
  readonly port: number
  readonly url: string
  /** Kills the server with SIGKILL and waits for it to exit. */
  readonly kill: () => Promise<void>
  /** Starts it again on the same port (with an empty data set and script cache). */
  readonly start: () => Promise<void>
  readonly dispose: () => Promise<void>
}

/**
 * Starts a redis-server on a free loopback port, without persistence, in a temporary
 * directory. `bin` defaults to `REDIS_SERVER_BIN`, which the test run must set.
 */
export const startOwnServer = async (
  extraArgs: ReadonlyArray<string> = [],
  bin: string = required("REDIS_SERVER_BIN")
): Promise<OwnServer> => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "ip-redis-"))
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(
      bin,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...extraArgs],
      { stdio: "ignore" }
    )
    await eventually(() => ping(port), "redis-server to start")
  }
  const kill = () =>
    new Promise<void>((resolve) => {
      const running = child
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return resolve()
      running.once("exit", () => resolve())
      running.kill("SIGKILL")
    })
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    dispose: async () => {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
