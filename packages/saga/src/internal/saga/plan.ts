/**
 * Pure decisions of the saga engine: what a recovered saga still has to do, read from
 * its log. No Effect, no IO.
 */

/** @internal */
export interface PlanStep {
  readonly name: string
  readonly hasCompensation: boolean
}

/** @internal */
export interface PlanEntry {
  readonly seq: number
  readonly step: string
  readonly kind: "completed" | "failed" | "compensated"
}

/** @internal */
export type Plan =
  /** Run the compensations of `pending` (given in completion order; they run in reverse). */
  | { readonly _tag: "Compensate"; readonly completed: ReadonlyArray<string>; readonly pending: ReadonlyArray<string> }
  /** Restore `completed` (in completion order) and run the steps of `remaining`, group by group. */
  | {
    readonly _tag: "Resume"
    readonly completed: ReadonlyArray<string>
    readonly remaining: ReadonlyArray<ReadonlyArray<string>>
  }
  | { readonly _tag: "Invalid"; readonly reason: string }

/**
 * Reads a saga's log. A saga that had started compensating (a step failed, or a
 * compensation ran) always finishes compensating; otherwise `mode` decides.
 * Steps without a compensation, and steps already compensated, are not pending.
 *
 * @internal
 */
export const plan = (
  groups: ReadonlyArray<ReadonlyArray<PlanStep>>,
  log: ReadonlyArray<PlanEntry>,
  mode: "compensate" | "forward"
): Plan => {
  const groupOf = new Map<string, number>()
  const hasCompensation = new Map<string, boolean>()
  groups.forEach((group, i) =>
    group.forEach((step) => {
      groupOf.set(step.name, i)
      hasCompensation.set(step.name, step.hasCompensation)
    })
  )
  const completed: Array<string> = []
  const completedSet = new Set<string>()
  const compensated = new Set<string>()
  let compensating = false
  const entries = [...log].sort((a, b) => a.seq - b.seq)
  for (const entry of entries) {
    if (!groupOf.has(entry.step)) return { _tag: "Invalid", reason: `the log names an unknown step "${entry.step}"` }
    switch (entry.kind) {
      case "completed":
        if (completedSet.has(entry.step)) {
          return { _tag: "Invalid", reason: `step "${entry.step}" completed twice` }
        }
        completedSet.add(entry.step)
        completed.push(entry.step)
        break
      case "failed":
        compensating = true
        break
      case "compensated":
        if (!completedSet.has(entry.step)) {
          return { _tag: "Invalid", reason: `step "${entry.step}" was compensated before it completed` }
        }
        compensating = true
        compensated.add(entry.step)
        break
    }
  }
  // Groups run one after another: a completed step implies every earlier group completed.
  let lastGroup = -1
  for (const step of completed) lastGroup = Math.max(lastGroup, groupOf.get(step)!)
  for (let i = 0; i < lastGroup; i++) {
    const missing = groups[i]!.find((step) => !completedSet.has(step.name))
    if (missing !== undefined) {
      return { _tag: "Invalid", reason: `step "${missing.name}" did not complete, yet a later group did` }
    }
  }
  if (compensating || mode === "compensate") {
    return {
      _tag: "Compensate",
      completed,
      pending: completed.filter((step) => hasCompensation.get(step) === true && !compensated.has(step))
    }
  }
  const remaining: Array<ReadonlyArray<string>> = []
  for (const group of groups) {
    const left = group.filter((step) => !completedSet.has(step.name)).map((step) => step.name)
    if (left.length > 0) remaining.push(left)
  }
  return { _tag: "Resume", completed, remaining }
}
