/**
 * The open agent sessions by agent id, and when each agent was last heard
 * from. Last-seen times live only in memory: persisting every heartbeat
 * would cost a disk write per agent per second for nothing, since a
 * restarted master gives every agent a fresh lost timeout anyway. The same
 * goes for what an agent last said about its machine (usage, host ports in
 * use): every Register and usage sample says it again in full.
 */
import type { PortRange } from '@drover/common';
import type { ResourceUsage } from '@drover/proto';
import type { AgentSession, MasterCommand } from './agent-session.js';

/** Registry of live sessions. */
export class AgentSessions {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly lastSeen = new Map<string, number>();
  private readonly usages = new Map<string, ResourceUsage>();
  private readonly inUse = new Map<string, readonly PortRange[]>();

  /** Binds a registered session to its agent, closing any older one. */
  attach(agentId: string, session: AgentSession, now: number): void {
    const previous = this.sessions.get(agentId);
    if (previous && previous !== session) previous.close();
    session.agentId = agentId;
    this.sessions.set(agentId, session);
    this.lastSeen.set(agentId, now);
  }

  /** Forgets a session that ended (if it is still the current one). */
  detach(agentId: string, session: AgentSession): boolean {
    if (this.sessions.get(agentId) !== session) return false;
    this.sessions.delete(agentId);
    return true;
  }

  /** The current open session of an agent. */
  get(agentId: string): AgentSession | undefined {
    const s = this.sessions.get(agentId);
    return s?.open ? s : undefined;
  }

  /** True when the agent has an open session. */
  connected(agentId: string): boolean {
    return this.get(agentId) !== undefined;
  }

  /** Sends a command to an agent; false when it is not connected. */
  send(agentId: string, command: MasterCommand): boolean {
    return this.get(agentId)?.send(command) ?? false;
  }

  /** Records that an agent said something. */
  seen(agentId: string, now: number): void {
    this.lastSeen.set(agentId, now);
  }

  /** When the agent was last heard from, if ever since this master started. */
  lastSeenAt(agentId: string): number | undefined {
    return this.lastSeen.get(agentId);
  }

  /** Keeps an agent's latest usage sample (and the host ports in use it reports). */
  recordUsage(agentId: string, usage: ResourceUsage): void {
    this.usages.set(agentId, usage);
    this.recordPortsInUse(agentId, usage.portsInUse);
  }

  /** Keeps the offered host ports an agent says are in use on its machine (from Register or a usage sample). */
  recordPortsInUse(agentId: string, ranges: readonly PortRange[]): void {
    this.inUse.set(agentId, ranges.map((r) => ({ begin: r.begin, end: r.end })));
  }

  /** The offered host ports in use on an agent's machine, as it last reported (none when it never did). */
  portsInUse(agentId: string): readonly PortRange[] {
    return this.inUse.get(agentId) ?? [];
  }

  /** An agent's latest usage sample. */
  usage(agentId: string): ResourceUsage | undefined {
    return this.usages.get(agentId);
  }

  /** Closes every session (master shutdown). */
  closeAll(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }
}
