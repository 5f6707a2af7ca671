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
 * A live task includes an UNREACHABLE one: an agent that comes back with
 * the boot id it registered with last time was only out of touch (a
 * partition, a frozen or restarted agent process), so the tasks it still
 * runs come back as it reports them, with their ids; the orchestrator then
 * kills what its apps have too many. An agent with another boot id comes
 * from a machine that restarted: every task the master had on it is LOST
 * (AGENT_REBOOTED) whatever the agent reports, and a task it still reports
 * live is killed there (a stale checkpoint whose pid another process may
 * now hold).
 *
 * Unless the master's own state is what is missing. An agent proves that
 * its history lies beyond this master's state when it brings an id the
 * master never recorded (agents are never forgotten), or an epoch at least
 * the one this master started with before it registered with this master
 * (only this master could have issued that epoch). Then the store was lost
 * or restored from an older backup, and "the master does not know this
 * task" says nothing about the task: it is adopted from the spec the agent
 * sent (tasks/adopted-task.ts) and left running, the epoch is raised past
 * the agent's (else the agent would refuse this master forever), and the
 * master says so loudly. Tasks the master knows are handled as always.
 *
 * All changes are written as one batch and are durable before Registered is
 * sent, so an agent never acts on a registration the master could forget.
 * Nothing is written before the Register proved it comes from the agent it
 * names (agent-identity.ts) and the agent holds no other open session
 * (AgentSessions.claim): a refused Register changes nothing.
 */
import { isLive, type Logger, newId, type PortRange, scalars } from '@drover/common';
import { type Register, taskStateCodec } from '@drover/proto';
import type { Caller } from '../auth/caller.js';
import type { Clock } from '../model/clock.js';
import type { Leadership } from '../leadership/leadership.js';
import type { TaskFailures } from '../tasks/task-failures.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AgentRecord, TaskRecord } from '../model/records.js';
import type { Mutation } from '../model/mutation.js';
import type { StatusHandler } from '../tasks/status-handler.js';
import type { TaskCommands } from '../tasks/task-commands.js';
import { adoptedTask } from '../tasks/adopted-task.js';
import { applyStatus, endByMaster } from '../tasks/task-updates.js';
import { hashAgentSecret, newAgentSecret, verifyAgentIdentity } from './agent-identity.js';
import type { AgentSession } from '../sessions/agent-session.js';
import type { AgentSessions } from '../sessions/agent-sessions.js';
import { validateRegister } from './register-validation.js';

/** What registration decided, for the caller to act on once durable. */
export interface RegistrationOutcome {
  /** The agent's (possibly new) id. */
  readonly agentId: string;
  /** Tasks to kill on the agent because the master still wants them dead. */
  readonly pendingKills: readonly TaskRecord[];
  /** Task ids the agent runs that the master does not want. */
  readonly orphans: readonly { taskId: string; why: string }[];
  /** Live tasks the master had no record of and adopted (its state was missing them). */
  readonly adopted: readonly TaskRecord[];
  /** A secret issued to the agent, to send in Registered (only its hash is stored). */
  readonly secret?: string;
}

/** Registers agents and reconciles their tasks. */
export class Registration {
  constructor(
    private readonly state: ClusterState,
    private readonly sessions: AgentSessions,
    private readonly statuses: StatusHandler,
    private readonly commands: TaskCommands,
    private readonly failures: TaskFailures,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly leadership: Leadership,
  ) {}

  /**
   * Checks who `caller` is, claims the agent for `session`, records the
   * registration durably and returns what to do next. Throws, having
   * written nothing, when the Register is refused.
   */
  async register(reg: Register, caller: Caller, session: AgentSession): Promise<RegistrationOutcome> {
    // Before anything is read or recorded: a refused agent leaves no trace.
    validateRegister(reg);
    const now = this.clock.now();
    const agentId = reg.agentId !== '' ? reg.agentId : newId();
    const previous = this.state.agent(agentId);
    const secretAction = verifyAgentIdentity(reg, previous, caller);
    // Decided before the claim: whether this master heard from the agent
    // before is what tells its own epoch from one a lost state issued.
    const stateMissing =
      (reg.agentId !== '' && previous === undefined) ||
      (reg.epoch >= this.leadership.term && this.sessions.lastSeenAt(agentId) === undefined);
    this.sessions.claim(agentId, session, now);
    try {
      return await this.record(reg, agentId, previous, secretAction === 'issue' ? newAgentSecret() : undefined, stateMissing, now);
    } catch (error) {
      this.sessions.release(agentId, session);
      throw error;
    }
  }

  private async record(
    reg: Register,
    agentId: string,
    previous: AgentRecord | undefined,
    secret: string | undefined,
    stateMissing: boolean,
    now: number,
  ): Promise<RegistrationOutcome> {
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
      ...(secret !== undefined ? { secretHash: hashAgentSecret(secret) } : previous?.secretHash !== undefined ? { secretHash: previous.secretHash } : {}),
      ...(reg.bootId !== '' ? { bootId: reg.bootId } : previous?.bootId !== undefined ? { bootId: previous.bootId } : {}),
    };
    const mutations: Mutation[] = [{ kind: 'putAgent', agent }];
    const pendingKills: TaskRecord[] = [];
    const orphans: { taskId: string; why: string }[] = [];
    const adopted: TaskRecord[] = [];
    const unaccounted: string[] = [];
    const reported = new Set<string>();
    const specs = new Map(reg.taskSpecs.map((s) => [s.taskId, s]));
    const rebooted = reg.bootId !== '' && previous?.bootId !== undefined && previous.bootId !== reg.bootId;
    // Counted before the write: UNREACHABLE tasks the agent brings back.
    const healed = rebooted ? 0 : reg.tasks.filter((t) => this.state.task(t.taskId)?.state === 'UNREACHABLE').length;

    for (const status of reg.tasks) {
      reported.add(status.taskId);
      const task = this.state.task(status.taskId);
      const reportedState = taskStateCodec.name(status.state);
      const reportedLive = reportedState !== undefined && isLive(reportedState);
      if (task && task.agentId === agentId && isLive(task.state) && !rebooted) {
        const updated = applyStatus(task, status, now) ?? task;
        if (updated !== task) mutations.push({ kind: 'putTask', task: updated }, ...this.failures.observe(task, updated));
        if (isLive(updated.state) && updated.killRequested) pendingKills.push(updated);
      } else if (reportedLive && task === undefined && stateMissing) {
        const spec = specs.get(status.taskId);
        const record = spec === undefined ? undefined : adoptedTask(spec, status, agent, now);
        if (record === undefined) {
          // An agent too old to send specs: nothing to account it by, but never killed for what the master lost.
          unaccounted.push(status.taskId);
          continue;
        }
        adopted.push(record);
        mutations.push({ kind: 'putTask', task: record });
      } else if (reportedLive) {
        orphans.push({
          taskId: status.taskId,
          why: rebooted && task?.agentId === agentId && isLive(task.state)
            ? 'its machine restarted (another boot id), so this is not the task the master knew'
            : task
              ? `the master already considers it ${task.state}`
              : 'the master does not know this task',
        });
      }
    }
    for (const task of this.state.liveTasksOnAgent(agentId)) {
      if (rebooted) {
        const lost = endByMaster(task, 'LOST', 'AGENT_REBOOTED', `its agent's machine restarted (boot id ${previous?.bootId} -> ${reg.bootId})`, now);
        if (lost) mutations.push({ kind: 'putTask', task: lost });
        continue;
      }
      if (reported.has(task.id)) continue;
      const lost = endByMaster(task, 'LOST', 'UNKNOWN_TO_AGENT', 'the agent re-registered without this task', now);
      if (lost) mutations.push({ kind: 'putTask', task: lost });
    }

    if (stateMissing && reg.epoch >= this.leadership.epoch) await this.leadership.raiseEpochAbove(reg.epoch);
    await this.state.write(mutations);
    if (stateMissing) {
      this.log.error(
        {
          agentId,
          hostname: agent.hostname,
          agentEpoch: reg.epoch,
          epochAtStart: this.leadership.term,
          epoch: this.leadership.epoch,
          adopted: adopted.map((t) => t.id),
          unaccounted,
        },
        `agent ${agent.hostname} (${agentId}) has a history this master's state does not hold (${
          previous ? `it last saw epoch ${reg.epoch}, this master started at ${this.leadership.term}` : 'its id is unknown here'
        }): the store was lost or restored from an older backup. ${adopted.length + unaccounted.length} task(s) it runs that ` +
          'this master had no record of are left running, not killed (marked adopted in task lists): kill them or deploy their apps again',
      );
    }
    this.log.info(
      {
        agentId,
        hostname: agent.hostname,
        tasks: reg.tasks.length,
        orphans: orphans.length,
        adopted: adopted.length,
        firstTime: !previous,
        secretIssued: secret !== undefined,
        rebooted,
        healed,
      },
      previous ? 'agent re-registered' : 'agent registered',
    );
    if (secret !== undefined && previous !== undefined && previous.secretHash === undefined) {
      this.log.warn({ agentId, hostname: agent.hostname }, 'issued a secret to an agent registered before agent secrets existed (over plaintext, trusted on first use)');
    }
    return { agentId, pendingKills, orphans, adopted, ...(secret !== undefined ? { secret } : {}) };
  }

  /** Sends what registration decided; call after Registered went out. */
  followUp(outcome: RegistrationOutcome): void {
    for (const task of outcome.pendingKills) {
      this.commands.kill(task.agentId, task.id, task.killGracePeriodSeconds, 'KILL_REQUESTED', task.message ?? 'kill requested');
    }
    for (const orphan of outcome.orphans) this.statuses.killOrphan(outcome.agentId, orphan.taskId, orphan.why);
  }
}
