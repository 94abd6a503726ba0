import type { PatternKind } from "../PatternEvents.js"

/** @internal */
export type HealthStatus = "healthy" | "degraded" | "unhealthy"

/** @internal */
export interface PatternHealth {
  readonly status: HealthStatus
  readonly reasons: ReadonlyArray<string>
}

/** @internal */
export interface PatternInstance {
  readonly kind: PatternKind
  readonly name: string
  readonly stats: () => Readonly<Record<string, unknown>>
  readonly health: () => PatternHealth
}

interface Entry {
  readonly kind: PatternKind
  readonly name: string
  readonly resolve: () => PatternInstance | undefined
}

/**
 * Live pattern instances. Effect-API instances unregister when their scope closes;
 * facade instances are held weakly and disappear when garbage-collected.
 *
 * @internal
 */
export class Registry {
  private readonly entries = new Set<Entry>()
  private readonly finalizers = new FinalizationRegistry<Entry>((entry) => {
    this.entries.delete(entry)
  })

  register(instance: PatternInstance): () => void {
    const entry: Entry = { kind: instance.kind, name: instance.name, resolve: () => instance }
    this.entries.add(entry)
    return () => {
      this.entries.delete(entry)
    }
  }

  registerWeak<T extends object>(
    target: T,
    kind: PatternKind,
    name: string,
    describe: {
      readonly stats: (target: T) => Readonly<Record<string, unknown>>
      readonly health: (target: T) => PatternHealth
    }
  ): () => void {
    const ref = new WeakRef(target)
    const entry: Entry = {
      kind,
      name,
      resolve: () => {
        const live = ref.deref()
        return live === undefined
          ? undefined
          : { kind, name, stats: () => describe.stats(live), health: () => describe.health(live) }
      }
    }
    this.entries.add(entry)
    this.finalizers.register(target, entry, entry)
    return () => {
      this.entries.delete(entry)
      this.finalizers.unregister(entry)
    }
  }

  list(): ReadonlyArray<PatternInstance> {
    const out: Array<PatternInstance> = []
    for (const entry of this.entries) {
      const instance = entry.resolve()
      if (instance === undefined) this.entries.delete(entry)
      else out.push(instance)
    }
    return out
  }
}

/** @internal */
export const globalRegistry = new Registry()

/** @internal */
export const healthy: PatternHealth = { status: "healthy", reasons: [] }
