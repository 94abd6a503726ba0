// Node child processes of the multi-process integration tests, each running a fixture
// with `node --conditions=source --import tsx` and talking over IPC.
import { type ChildProcess, spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))

export interface Child<In> {
  readonly process: ChildProcess
  readonly send: (message: In) => void
  /** The next message of this type (in arrival order); throws on an `error` message or an exit. */
  readonly next: <Out = unknown>(type: string) => Promise<Out>
  /** Sends `message` and waits for the next message of type `reply`. */
  readonly ask: <Out = unknown>(message: In, reply: string) => Promise<Out>
  /** Sends `exit` and waits for the process to end (killing it after 5 seconds). */
  readonly stop: () => Promise<void>
}

export const startChild = <In extends { readonly type: string }>(
  fixture: string,
  env: Record<string, string> = {}
): Child<In> => {
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", join(here, "fixtures", fixture)], {
    cwd: join(here, ".."),
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  const inbox: Array<{ readonly type: string }> = []
  const waiting: Array<() => void> = []
  const wake = () => waiting.splice(0).forEach((resume) => resume())
  child.on("message", (message: { readonly type: string }) => {
    inbox.push(message)
    wake()
  })
  child.on("exit", wake)
  const next = async <Out>(type: string): Promise<Out> => {
    for (;;) {
      const at = inbox.findIndex((m) => m.type === type || m.type === "error")
      if (at !== -1) {
        const [message] = inbox.splice(at, 1)
        if (message!.type === "error") throw new Error(`child ${fixture} failed: ${JSON.stringify(message)}`)
        return message as Out
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`child ${fixture} exited (${child.exitCode ?? child.signalCode})`)
      }
      await new Promise<void>((resume) => waiting.push(resume))
    }
  }
  const send = (message: In) => void child.send(message)
  return {
    process: child,
    send,
    next,
    ask: <Out>(message: In, reply: string) => {
      send(message)
      return next<Out>(reply)
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once("exit", () => resolve())
        send({ type: "exit" } as In)
        setTimeout(() => child.kill("SIGKILL"), 5000).unref()
      })
  }
}
