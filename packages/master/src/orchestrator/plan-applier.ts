/**
 * Turning the scheduler's Plan into tasks.
 *
 * The scheduler works on a snapshot, which may be stale by the time its plan
 * comes back (an agent dropped or started draining, a task was placed by an
 * earlier plan, the agent reported a host port taken by another process).
 * So every placement is re-checked here against the live state, counting
 * the placements already accepted from the same plan, and dropped if it no
 * longer fits: a stale plan can never overcommit an agent or hand out a
 * port its machine reports in use.
 * Dropped instances are simply requested again by the next reconcile pass.
 * (Constraints are not re-checked: they can only be violated by a stale
 * plan racing another plan for the same app, and the orchestrator runs one
 * pass at a time.)
 *
 * Accepted tasks are written as STAGING in one batch, and only once that
 * batch is durable are the launch commands sent: a master that crashes in
 * between restarts knowing every task it may have launched.
 */
import { containsPort, fits, type Logger, newTaskId, removePorts, scalars, subtract } from '@drover/common';
import type { Placement } from '@drover/scheduler';
import type { AgentSessions } from '../sessions/agent-sessions.js';
import type { Clock } from '../model/clock.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AgentRecord, AppRecord, TaskRecord } from '../model/records.js';
import type { TaskCommands } from '../tasks/task-commands.js';
import { type HostPortNeed, hostPortNeeds } from './host-ports.js';
import { freeOf } from '../state/reservations.js';

/** What a placement key stands for: new instances of an app, or a PENDING one-off task. */
export type PlacementSource = { readonly kind: 'app'; readonly app: AppRecord } | { readonly kind: 'one-off'; readonly task: TaskRecord };

/** Re-checks and commits plans. */
export class PlanApplier {
  constructor(
    private readonly state: ClusterState,
    private readonly sessions: AgentSessions,
    private readonly commands: TaskCommands,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Commits the placements that still fit; returns the tasks now STAGING. */
  async apply(placements: readonly Placement[], sources: ReadonlyMap<string, PlacementSource>): Promise<TaskRecord[]> {
    const now = this.clock.now();
    const accepted: TaskRecord[] = [];
    const batchFree = new Map<string, ReturnType<typeof freeOf>>();
    for (const placement of placements) {
      const source = sources.get(placement.key);
      const agent = this.state.agent(placement.agentId);
      if (!source || !agent || agent.state !== 'ACTIVE' || agent.drainDeadline !== undefined) continue;
      if (!this.sessions.connected(agent.id)) continue;
      const task = source.kind === 'app' ? newAppTask(source.app, agent, placement, now) : placedOneOff(source.task, agent, placement, now);
      if (source.kind === 'one-off' && this.state.task(source.task.id)?.state !== 'PENDING') continue;
      const free = batchFree.get(agent.id) ?? freeOf(agent, this.state.ledger.reservation(agent.id), this.sessions.portsInUse(agent.id));
      if (!fits(task.resources, free.free) || !task.ports.every((p) => containsPort(free.freePorts, p.number))) {
        this.log.debug({ taskId: task.id, agentId: agent.id }, 'placement no longer fits; will retry');
        continue;
      }
      batchFree.set(agent.id, {
        free: subtract(free.free, task.resources),
        freePorts: removePorts(free.freePorts, task.ports.map((p) => p.number)),
      });
      accepted.push(task);
    }
    if (accepted.length === 0) return [];
    await this.state.putTasks(accepted);
    for (const task of accepted) {
      const spec = task.runSpec ?? this.state.app(task.appId)?.spec;
      // The app may have been deleted while the batch was committing: the
      // orchestrator's next pass kills the orphaned STAGING task.
      if (spec) this.commands.launch(task, spec);
    }
    return accepted;
  }
}

function newAppTask(app: AppRecord, agent: AgentRecord, placement: Placement, now: number): TaskRecord {
  const spec = app.spec;
  return {
    id: newTaskId(spec.id),
    appId: spec.id,
    appVersion: app.version,
    agentId: agent.id,
    host: agent.hostname,
    state: 'STAGING',
    resources: scalars({ cpus: spec.cpus, mem: spec.mem, disk: spec.disk, gpus: spec.gpus }),
    ports: assignedPorts(hostPortNeeds(spec), placement.hostPorts),
    stagedAt: now,
    updatedAt: now,
    killRequested: false,
    killGracePeriodSeconds: spec.taskKillGracePeriodSeconds ?? 3,
    ...(spec.healthChecks.length > 0 ? { health: 'UNKNOWN' as const } : {}),
  };
}

function placedOneOff(task: TaskRecord, agent: AgentRecord, placement: Placement, now: number): TaskRecord {
  return {
    ...task,
    agentId: agent.id,
    host: agent.hostname,
    state: 'STAGING',
    ports: assignedPorts(task.runSpec ? hostPortNeeds(task.runSpec) : [], placement.hostPorts),
    stagedAt: now,
    updatedAt: now,
  };
}

function assignedPorts(needs: readonly HostPortNeed[], hostPorts: readonly number[]): TaskRecord['ports'] {
  return hostPorts.map((number, i) => ({ number, name: needs[i]?.name ?? '', protocol: needs[i]?.protocol || 'tcp' }));
}
