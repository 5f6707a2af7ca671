/**
 * The kills no app asks for, decided from facts alone like reconcileApp:
 * live tasks of apps that were deleted, and everything still on an agent
 * whose drain deadline has passed.
 */
import type { AgentRecord, TaskRecord } from '../model/records.js';

/** Facts about what is left over. */
export interface LeftoverFacts {
  /** Live tasks of app ids that have no app any more, by app id. */
  readonly ofDeletedApps: ReadonlyMap<string, readonly TaskRecord[]>;
  /** Agents with a drain deadline, each with its live tasks. */
  readonly draining: ReadonlyArray<{ readonly agent: AgentRecord; readonly tasks: readonly TaskRecord[] }>;
  readonly now: number;
}

/** What to kill, and when to look again (the next drain deadline). */
export interface LeftoverResult {
  readonly kill: ReadonlyArray<{ readonly task: TaskRecord; readonly why: string }>;
  readonly wakeInMs?: number;
}

/** Decides the leftover kills. */
export function reconcileLeftovers(f: LeftoverFacts): LeftoverResult {
  const kill: Array<{ task: TaskRecord; why: string }> = [];
  let wakeInMs = Infinity;
  for (const [appId, tasks] of f.ofDeletedApps) {
    for (const task of tasks) {
      // An adopted task's app is unknown because the master's state was
      // lost, not because someone deleted it: an operator decides.
      if (!task.killRequested && !task.adopted) kill.push({ task, why: `app ${appId} was deleted` });
    }
  }
  for (const { agent, tasks } of f.draining) {
    if (agent.drainDeadline === undefined) continue;
    if (agent.drainDeadline > f.now) {
      wakeInMs = Math.min(wakeInMs, agent.drainDeadline - f.now);
      continue;
    }
    for (const task of tasks) {
      if (!task.killRequested) kill.push({ task, why: `agent ${agent.hostname} drained (deadline passed)` });
    }
  }
  return wakeInMs < Infinity ? { kill, wakeInMs } : { kill };
}
