/**
 * The open agent sessions by agent id, and when each agent was last heard
 * from. Last-seen times live only in memory: persisting every heartbeat
 * would cost a disk write per agent per second for nothing, since a
 * restarted master gives every agent a fresh lost timeout anyway. The same
 * goes for what an agent last said about its machine (usage, host ports in
 * use): every Register and usage sample says it again in full.
 */
import { Code, DroverError, type PortRange } from '@drover/common';
import type { ResourceUsage } from '@drover/proto';
import type { AgentSession, MasterCommand } from './agent-session.js';

/** In-use port ranges kept per agent (a machine's listeners fit in far fewer). */
export const MAX_IN_USE_RANGES = 4096;

/** Registry of live sessions. */
export class AgentSessions {
  private readonly sessions = new Map<string, AgentSession>();
  /** Sessions registering right now (identity proven, registration being written). */
  private readonly claims = new Map<string, AgentSession>();
  private readonly lastSeen = new Map<string, number>();
  private readonly usages = new Map<string, ResourceUsage>();
  private readonly inUse = new Map<string, readonly PortRange[]>();

  /**
   * Reserves `agentId` for a session whose registration is about to be
   * written. An agent has one session at a time: while another of its
   * sessions is open or registering, the new one is refused (ALREADY_EXISTS),
   * never allowed to take the agent over. A session that went stale (silent
   * for STALE_AFTER_PINGS pings, so the agent has given up on it too) is
   * closed instead, and the new one goes ahead.
   */
  claim(agentId: string, session: AgentSession, now: number): void {
    for (const holder of [this.claims.get(agentId), this.sessions.get(agentId)]) {
      if (holder === undefined || holder === session || !holder.open) continue;
      if (!holder.stale(now)) {
        throw new DroverError(
          `agent ${agentId} already has an open session (from ${holder.peer}, since ${new Date(holder.openedAt).toISOString()}); ` +
            'a second one is refused',
          Code.AlreadyExists,
        );
      }
      holder.close();
    }
    this.claims.set(agentId, session);
    // Its Register was just heard. Registration writes the agent ACTIVE
    // before attach; in between, a liveness check must not find an ACTIVE
    // agent with no (or an old) last-seen time and declare it lost at once,
    // leaving it connected but LOST with nothing ever placed on it.
    this.lastSeen.set(agentId, now);
  }

  /** Gives up a claim whose registration failed. */
  release(agentId: string, session: AgentSession): void {
    if (this.claims.get(agentId) === session) this.claims.delete(agentId);
  }

  /** Binds a registered session to its agent (claiming the agent first if the caller has not). */
  attach(agentId: string, session: AgentSession, now: number): void {
    this.claim(agentId, session, now);
    this.claims.delete(agentId);
    // Only a closed or stale session can be here: claim refused every other.
    const previous = this.sessions.get(agentId);
    if (previous && previous !== session) previous.close();
    session.agentId = agentId;
    this.sessions.set(agentId, session);
    this.lastSeen.set(agentId, now);
  }

  /**
   * Forgets a session that ended. True when the agent is now without a
   * session: not when a newer one is current or registering (it decides
   * the agent's state).
   */
  detach(agentId: string, session: AgentSession): boolean {
    this.release(agentId, session);
    if (this.sessions.get(agentId) !== session) return false;
    this.sessions.delete(agentId);
    return !this.claims.has(agentId);
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

  /**
   * Keeps the offered host ports an agent says are in use on its machine
   * (from Register or a usage sample). Usage samples are not validated as
   * Register is, so ranges that are no ports are dropped here, and one agent
   * cannot make the master hold more than MAX_IN_USE_RANGES of them.
   */
  recordPortsInUse(agentId: string, ranges: readonly PortRange[]): void {
    const sane = ranges.filter((r) => Number.isInteger(r.begin) && Number.isInteger(r.end) && r.begin >= 1 && r.begin <= r.end && r.end <= 65535);
    this.inUse.set(agentId, sane.slice(0, MAX_IN_USE_RANGES).map((r) => ({ begin: r.begin, end: r.end })));
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
    for (const s of [...this.sessions.values(), ...this.claims.values()]) s.close();
    this.sessions.clear();
    this.claims.clear();
  }
}
