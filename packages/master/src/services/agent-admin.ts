/**
 * Agent queries and maintenance (drain, undrain), shared by every API
 * surface. Draining is recorded on the agent, so it survives agent and
 * master restarts; the orchestrator does the moving (see orchestrator.ts).
 */
import { Code, DroverError, MAX_DURATION_SECONDS, NotFoundError } from '@drover/common';
import type { Agent } from '@drover/proto';
import type { Clock } from '../model/clock.js';
import { agentToProto } from '../convert/to-proto.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AgentRecord } from '../model/records.js';
import type { AgentSessions } from '../sessions/agent-sessions.js';

/** Default drain deadline, seconds. */
export const DEFAULT_DRAIN_DEADLINE_SECONDS = 300;

/** Agent list/get/drain/undrain. */
export class AgentAdmin {
  constructor(
    private readonly state: ClusterState,
    private readonly sessions: AgentSessions,
    private readonly clock: Clock,
  ) {}

  /** Every agent. */
  list(): Agent[] {
    return this.state.allAgents().map((a) => this.view(a));
  }

  /** One agent. */
  get(id: string): Agent {
    return this.view(this.require(id));
  }

  /** Starts (or re-times) a drain: no new tasks, tasks move away, the rest die at the deadline. */
  async drain(id: string, deadlineSeconds = DEFAULT_DRAIN_DEADLINE_SECONDS): Promise<Agent> {
    // Bounded like every duration: a deadline of 1e300 s is no valid date, and
    // once stored it would make every agent listing fail to serialize.
    if (!Number.isFinite(deadlineSeconds) || deadlineSeconds < 0 || deadlineSeconds > MAX_DURATION_SECONDS) {
      throw new DroverError(`deadline must be between 0 and ${MAX_DURATION_SECONDS} seconds`, Code.InvalidArgument);
    }
    const agent = this.require(id);
    const drained: AgentRecord = { ...agent, drainDeadline: this.clock.now() + deadlineSeconds * 1000 };
    await this.state.putAgent(drained);
    return this.view(drained);
  }

  /** Ends a drain. */
  async undrain(id: string): Promise<Agent> {
    const { drainDeadline: _ended, ...agent } = this.require(id);
    await this.state.putAgent(agent);
    return this.view(agent);
  }

  private view(a: AgentRecord): Agent {
    const reservation = this.state.ledger.reservation(a.id);
    return agentToProto(a, reservation, this.sessions.usage(a.id), this.sessions.lastSeenAt(a.id) ?? a.lastSeenAt, this.sessions.portsInUse(a.id));
  }

  private require(id: string): AgentRecord {
    const agent = this.state.agent(id);
    if (!agent) throw new NotFoundError('agent', id);
    return agent;
  }
}
