/**
 * Declares silent agents lost. An agent not heard from for longer than the
 * lost timeout (default 3 s) is marked LOST, and every live task on it
 * becomes UNREACHABLE: it may well still run (a partition, a frozen agent
 * process), so it is not given up, but its app's unreachable strategy
 * decides when it is replaced and when it is given up for good
 * (tasks/unreachable-tasks.ts; apps with the strategy "disabled" have
 * their tasks LOST at once). Giving up (expunging) is checked here too, on
 * the same timer. If the agent comes back, registration sorts out its tasks
 * (agents/registration.ts).
 *
 * A freshly started master has heard from nobody: every agent gets at least
 * START_GRACE_MS from the master's start to reconnect before it is declared
 * lost (an agent's reconnect backoff reaches 5 s), so a master restart
 * never makes tasks UNREACHABLE.
 */
import type { Logger } from '@drover/common';
import type { AppSpec } from '@drover/proto';
import type { Clock } from '../model/clock.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { TaskRecord } from '../model/records.js';
import type { Mutation } from '../model/mutation.js';
import { endByMaster } from '../tasks/task-updates.js';
import { expungeDue, markUnreachable, unreachablePolicy } from '../tasks/unreachable-tasks.js';
import type { AgentSessions } from '../sessions/agent-sessions.js';

/** The least time agents get to reconnect after the master starts. */
export const START_GRACE_MS = 10_000;

/** Periodic liveness check of all agents. */
export class AgentMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt: number;

  constructor(
    private readonly state: ClusterState,
    private readonly sessions: AgentSessions,
    private readonly lostTimeoutMs: number,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    // Counted as if every agent had been heard from this long after the start.
    this.startedAt = clock.now() + Math.max(0, START_GRACE_MS - lostTimeoutMs);
  }

  /** Checks on a timer (a tenth of the timeout, at least every second). */
  start(): void {
    const every = Math.max(50, Math.min(1000, this.lostTimeoutMs / 10));
    this.timer = setInterval(() => void this.check(), every);
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass: marks every agent silent for too long as LOST (its tasks UNREACHABLE), and gives up UNREACHABLE tasks whose time is up. */
  async check(): Promise<void> {
    const now = this.clock.now();
    const mutations: Mutation[] = [];
    for (const agent of this.state.allAgents()) {
      if (agent.state === 'LOST') {
        mutations.push(...this.expunge(agent.id, now));
        continue;
      }
      const lastSeen = this.sessions.lastSeenAt(agent.id) ?? this.startedAt;
      const silentMs = now - lastSeen;
      if (silentMs <= this.lostTimeoutMs) continue;
      const message = `agent ${agent.hostname} (${agent.id}) silent for ${(silentMs / 1000).toFixed(1)} s`;
      const changed = this.state
        .liveTasksOnAgent(agent.id)
        .map((t) =>
          unreachablePolicy(this.specOf(t)).disabled ? endByMaster(t, 'LOST', 'AGENT_LOST', message, now) : markUnreachable(t, `unreachable: ${message}`, now),
        )
        .filter((t): t is TaskRecord => t !== undefined);
      this.log.warn(
        { agentId: agent.id, hostname: agent.hostname, unreachable: changed.filter((t) => t.state === 'UNREACHABLE').length, lost: changed.filter((t) => t.state === 'LOST').length, silentMs },
        'agent lost: its tasks are unreachable',
      );
      mutations.push({ kind: 'putAgent', agent: { ...agent, state: 'LOST', lastSeenAt: lastSeen } });
      for (const task of changed) mutations.push({ kind: 'putTask', task });
      this.sessions.get(agent.id)?.close();
    }
    if (mutations.length > 0) await this.state.write(mutations);
  }

  /** UNREACHABLE tasks of a lost agent that its apps give up now (LOST). */
  private expunge(agentId: string, now: number): Mutation[] {
    const out: Mutation[] = [];
    for (const task of this.state.liveTasksOnAgent(agentId)) {
      const policy = unreachablePolicy(this.specOf(task));
      if (!expungeDue(task, policy, now)) continue;
      const seconds = policy.disabled ? 0 : policy.expungeAfterMs / 1000;
      const lost = endByMaster(task, 'LOST', 'UNREACHABLE_EXPUNGED', `unreachable for longer than ${seconds} s (unreachableStrategy.expungeAfterSeconds): given up`, now);
      if (lost) out.push({ kind: 'putTask', task: lost });
    }
    if (out.length > 0) this.log.warn({ agentId, tasks: out.length }, 'unreachable tasks given up');
    return out;
  }

  /** The spec a task runs under: its app's, or a one-off task's own. */
  private specOf(task: TaskRecord): AppSpec | undefined {
    return this.state.app(task.appId)?.spec ?? task.runSpec;
  }
}
