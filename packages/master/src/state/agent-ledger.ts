/**
 * What live tasks hold, kept up to date as tasks change rather than summed
 * from the task list: per agent the resources and ports reserved, and per
 * placement group (an app, or a one-off task) how many live tasks run on
 * each agent. Building a scheduling snapshot is then O(agents), not
 * O(tasks), which is what lets the master place thousands of tasks a second.
 */
import { add, isLive, type ScalarResources, subtract, ZERO } from '@drover/common';
import type { TaskRecord } from '../model/records.js';

/** What live tasks reserve on one agent. */
export interface AgentReservation {
  readonly used: ScalarResources;
  /** Ports held, with how many tasks hold each (normally 1). */
  readonly ports: ReadonlyMap<number, number>;
  readonly liveTasks: number;
}

interface MutableReservation {
  used: ScalarResources;
  ports: Map<number, number>;
  liveTasks: number;
}

/** The placement group whose tasks constraints count together. */
export function placementGroup(task: Pick<TaskRecord, 'appId' | 'id'>): string {
  return task.appId !== '' ? task.appId : task.id;
}

/** Incrementally maintained reservations. */
export class AgentLedger {
  private readonly agents = new Map<string, MutableReservation>();
  private readonly groups = new Map<string, Map<string, number>>();

  /** Accounts for one task record changing from `before` to `after` (either may be absent). */
  update(before: TaskRecord | undefined, after: TaskRecord | undefined): void {
    if (before && holds(before)) this.apply(before, -1);
    if (after && holds(after)) this.apply(after, +1);
  }

  /** Reservations on an agent (zero when nothing runs there). */
  reservation(agentId: string): AgentReservation {
    return this.agents.get(agentId) ?? { used: ZERO, ports: new Map(), liveTasks: 0 };
  }

  /** Live tasks per group and agent: groupId -> agentId -> count. */
  placed(): ReadonlyMap<string, ReadonlyMap<string, number>> {
    return this.groups;
  }

  private apply(task: TaskRecord, sign: 1 | -1): void {
    let r = this.agents.get(task.agentId);
    if (!r) this.agents.set(task.agentId, (r = { used: ZERO, ports: new Map(), liveTasks: 0 }));
    r.used = sign > 0 ? add(r.used, task.resources) : subtract(r.used, task.resources);
    r.liveTasks += sign;
    for (const p of task.ports) {
      const n = (r.ports.get(p.number) ?? 0) + sign;
      if (n > 0) r.ports.set(p.number, n);
      else r.ports.delete(p.number);
    }
    if (r.liveTasks === 0) this.agents.delete(task.agentId);

    const group = placementGroup(task);
    let byAgent = this.groups.get(group);
    if (!byAgent) this.groups.set(group, (byAgent = new Map()));
    const n = (byAgent.get(task.agentId) ?? 0) + sign;
    if (n > 0) byAgent.set(task.agentId, n);
    else byAgent.delete(task.agentId);
    if (byAgent.size === 0) this.groups.delete(group);
  }
}

/** A task holds resources while it is live and placed on an agent. */
function holds(task: TaskRecord): boolean {
  return task.agentId !== '' && isLive(task.state);
}
