/**
 * Turning the scheduler's Plan into tasks.
 *
 * The scheduler works on a snapshot, which may be stale by the time its plan
 * comes back (an agent dropped, a task was placed by an earlier plan). So
 * every placement is re-checked here against the live state, counting the
 * placements already accepted from the same plan, and dropped if it no
 * longer fits: a stale plan can never overcommit an agent. Dropped
 * instances are simply requested again by the next reconcile pass.
 *
 * Accepted tasks are written as STAGING in one batch, and only once that
 * batch is durable are the launch commands sent: a master that crashes in
 * between restarts knowing every task it may have launched.
 */
import { containsPort, fits, type Logger, scalars } from '@drover/common';
import type { Placement } from '@drover/scheduler';
import type { AgentSessions } from '../agents/agent-sessions.js';
import type { Clock } from '../clock.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AppRecord, TaskRecord } from '../state/records.js';
import type { TaskCommands } from '../tasks/task-commands.js';
import { reservationOf } from './agent-usage.js';

/** One instance the orchestrator asked for, by placement key. */
export interface PendingInstance {
  readonly app: AppRecord;
  readonly taskId: string;
}

/** Re-checks and commits plans. */
export class PlanApplier {
  constructor(
    private readonly state: ClusterState,
    private readonly sessions: AgentSessions,
    private readonly commands: TaskCommands,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Commits the placements that still fit; returns the tasks created. */
  async apply(placements: readonly Placement[], pending: ReadonlyMap<string, PendingInstance>): Promise<TaskRecord[]> {
    const now = this.clock.now();
    const accepted: TaskRecord[] = [];
    const acceptedOn = new Map<string, TaskRecord[]>();
    for (const placement of placements) {
      const instance = pending.get(placement.key);
      const agent = this.state.agent(placement.agentId);
      if (!instance || !agent || agent.state !== 'ACTIVE' || !this.sessions.connected(agent.id)) continue;
      const spec = instance.app.spec;
      const task: TaskRecord = {
        id: instance.taskId,
        appId: spec.id,
        appVersion: instance.app.version,
        agentId: agent.id,
        host: agent.hostname,
        state: 'STAGING',
        resources: scalars({ cpus: spec.cpus, mem: spec.mem, disk: spec.disk, gpus: spec.gpus }),
        ports: placement.hostPorts.map((number, i) => ({
          number,
          name: spec.portDefinitions[i]?.name ?? '',
          protocol: spec.portDefinitions[i]?.protocol ?? 'tcp',
        })),
        stagedAt: now,
        updatedAt: now,
        killRequested: false,
        killGracePeriodSeconds: spec.taskKillGracePeriodSeconds ?? 3,
      };
      const sameBatch = acceptedOn.get(agent.id) ?? [];
      const live = reservationOf(this.state, agent, sameBatch);
      const portsFree = task.ports.every((p) => containsPort(live.freePorts, p.number));
      if (!fits(task.resources, live.free) || !portsFree) {
        this.log.debug({ taskId: task.id, agentId: agent.id }, 'placement no longer fits; will retry');
        continue;
      }
      sameBatch.push(task);
      acceptedOn.set(agent.id, sameBatch);
      accepted.push(task);
    }
    if (accepted.length === 0) return [];
    await this.state.putTasks(accepted);
    for (const task of accepted) {
      const app = this.state.app(task.appId);
      // The app may have been deleted while the batch was committing: the
      // orchestrator's next pass kills the orphaned STAGING task.
      if (app) this.commands.launch(task, app.spec);
    }
    return accepted;
  }
}
