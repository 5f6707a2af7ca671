/**
 * Handling an agent's Register: record the agent, then reconcile the tasks
 * it says it runs with the tasks the master placed on it.
 *
 *   agent reports it, master has it live   -> apply the reported status
 *                                             (and resend a pending kill)
 *   agent reports it live, master does not -> kill it on the agent (it was
 *     want it (LOST, ended, unknown)          replaced while the agent was away)
 *   master has it live, agent does not     -> LOST / UNKNOWN_TO_AGENT: the
 *     report it                               launch never arrived or the
 *                                             agent lost its work dir
 *
 * All changes are written as one batch and are durable before Registered is
 * sent, so an agent never acts on a registration the master could forget.
 */
import { isLive, type Logger, newId, type PortRange, scalars } from '@drover/common';
import { type Register, taskStateCodec } from '@drover/proto';
import type { Clock } from '../clock.js';
import type { TaskFailures } from '../orchestrator/task-failures.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AgentRecord, TaskRecord } from '../state/records.js';
import type { Mutation } from '../store/store.js';
import type { StatusHandler } from '../tasks/status-handler.js';
import type { TaskCommands } from '../tasks/task-commands.js';
import { applyStatus, endByMaster } from '../tasks/task-updates.js';
import { validateRegister } from './register-validation.js';

/** What registration decided, for the caller to act on once durable. */
export interface RegistrationOutcome {
  /** The agent's (possibly new) id. */
  readonly agentId: string;
  /** Tasks to kill on the agent because the master still wants them dead. */
  readonly pendingKills: readonly TaskRecord[];
  /** Task ids the agent runs that the master does not want. */
  readonly orphans: readonly { taskId: string; why: string }[];
}

/** Registers agents and reconciles their tasks. */
export class Registration {
  constructor(
    private readonly state: ClusterState,
    private readonly statuses: StatusHandler,
    private readonly commands: TaskCommands,
    private readonly failures: TaskFailures,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Records the registration durably and returns what to do next. */
  async register(reg: Register): Promise<RegistrationOutcome> {
    // Before anything is read or recorded: a refused agent leaves no trace.
    validateRegister(reg);
    const now = this.clock.now();
    const agentId = reg.agentId !== '' ? reg.agentId : newId();
    const previous = this.state.agent(agentId);
    const agent: AgentRecord = {
      id: agentId,
      hostname: reg.hostname,
      address: reg.address !== '' ? reg.address : reg.hostname,
      total: scalars(reg.resources ?? {}),
      ports: (reg.resources?.ports ?? []).map((r: PortRange) => ({ begin: r.begin, end: r.end })),
      attributes: { ...reg.attributes },
      state: 'ACTIVE',
      version: reg.version,
      capabilities: [...reg.capabilities],
      registeredAt: previous?.registeredAt ?? now,
      lastSeenAt: now,
      // A drain outlives disconnects and restarts of the agent.
      ...(previous?.drainDeadline !== undefined ? { drainDeadline: previous.drainDeadline } : {}),
    };
    const mutations: Mutation[] = [{ kind: 'putAgent', agent }];
    const pendingKills: TaskRecord[] = [];
    const orphans: { taskId: string; why: string }[] = [];
    const reported = new Set<string>();

    for (const status of reg.tasks) {
      reported.add(status.taskId);
      const task = this.state.task(status.taskId);
      const reportedState = taskStateCodec.name(status.state);
      const reportedLive = reportedState !== undefined && isLive(reportedState);
      if (task && task.agentId === agentId && isLive(task.state)) {
        const updated = applyStatus(task, status, now) ?? task;
        if (updated !== task) mutations.push({ kind: 'putTask', task: updated }, ...this.failures.observe(task, updated));
        if (isLive(updated.state) && updated.killRequested) pendingKills.push(updated);
      } else if (reportedLive) {
        orphans.push({
          taskId: status.taskId,
          why: task ? `the master already considers it ${task.state}` : 'the master does not know this task',
        });
      }
    }
    for (const task of this.state.liveTasksOnAgent(agentId)) {
      if (reported.has(task.id)) continue;
      const lost = endByMaster(task, 'LOST', 'UNKNOWN_TO_AGENT', 'the agent re-registered without this task', now);
      if (lost) mutations.push({ kind: 'putTask', task: lost });
    }

    await this.state.write(mutations);
    this.log.info(
      { agentId, hostname: agent.hostname, tasks: reg.tasks.length, orphans: orphans.length, firstTime: !previous },
      previous ? 'agent re-registered' : 'agent registered',
    );
    return { agentId, pendingKills, orphans };
  }

  /** Sends what registration decided; call after Registered went out. */
  followUp(outcome: RegistrationOutcome): void {
    for (const task of outcome.pendingKills) {
      this.commands.kill(task.agentId, task.id, task.killGracePeriodSeconds, 'KILL_REQUESTED', task.message ?? 'kill requested');
    }
    for (const orphan of outcome.orphans) this.statuses.killOrphan(outcome.agentId, orphan.taskId, orphan.why);
  }
}
