/**
 * Declares silent agents lost. An agent not heard from for longer than the
 * lost timeout (default 10 s) is marked LOST and every live task on it too,
 * so the orchestrator replaces them elsewhere. If the agent comes back, its
 * registration kills whatever of those tasks it is still running.
 *
 * A freshly started master has heard from nobody: every agent gets the full
 * timeout from the master's start to reconnect before it is declared lost,
 * so a master restart never causes task replacements.
 */
import type { Logger } from '@drover/common';
import type { Clock } from '../model/clock.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { TaskRecord } from '../model/records.js';
import type { Mutation } from '../model/mutation.js';
import { endByMaster } from '../tasks/task-updates.js';
import type { AgentSessions } from '../sessions/agent-sessions.js';

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
    this.startedAt = clock.now();
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

  /** One pass: marks every agent silent for too long as LOST. */
  async check(): Promise<void> {
    const now = this.clock.now();
    const mutations: Mutation[] = [];
    for (const agent of this.state.allAgents()) {
      if (agent.state === 'LOST') continue;
      const lastSeen = this.sessions.lastSeenAt(agent.id) ?? this.startedAt;
      const silentMs = now - lastSeen;
      if (silentMs <= this.lostTimeoutMs) continue;
      const message = `agent ${agent.hostname} (${agent.id}) silent for ${(silentMs / 1000).toFixed(1)} s`;
      const lostTasks = this.state
        .liveTasksOnAgent(agent.id)
        .map((t) => endByMaster(t, 'LOST', 'AGENT_LOST', message, now))
        .filter((t): t is TaskRecord => t !== undefined);
      this.log.warn({ agentId: agent.id, hostname: agent.hostname, tasks: lostTasks.length, silentMs }, 'agent lost');
      mutations.push({ kind: 'putAgent', agent: { ...agent, state: 'LOST', lastSeenAt: lastSeen } });
      for (const task of lostTasks) mutations.push({ kind: 'putTask', task });
      this.sessions.get(agent.id)?.close();
    }
    if (mutations.length > 0) await this.state.write(mutations);
  }
}
