/**
 * How many live tasks one app has, per agent and per value of a constraint
 * field, during one pass: the snapshot's `placed` counts plus every
 * placement the pass has made so far. UNIQUE, MAX_PER, GROUP_BY and CLUSTER
 * all read these counts, so the pass keeps one tally per app and updates it
 * after each placement instead of each plugin recounting.
 *
 * Counts by field value are built on first use (most apps constrain one or
 * two fields). Tasks on agents missing from the snapshot's `agents` count by
 * the identity the snapshot gives in `elsewhere` (per agent only, if none).
 */
import { fieldValue } from './field-value.js';
import type { AgentIdentity } from './types.js';
import type { WorkingAgent } from './working-agent.js';

/** One app's task counts within a pass. */
export class AppTally {
  private readonly byAgent: Map<string, number>;
  private readonly byValue = new Map<string, Map<string, number>>();

  /**
   * @param placed the snapshot's live tasks of the app per agent id
   * @param agentById the pass's agents by id (only called if the app has live tasks)
   */
  constructor(
    placed: ReadonlyMap<string, number> | undefined,
    private readonly agentById: () => ReadonlyMap<string, WorkingAgent>,
    private readonly elsewhere: ReadonlyMap<string, AgentIdentity> = new Map(),
  ) {
    this.byAgent = new Map(placed ?? []);
  }

  /**
   * Tasks per value of `field`; values without tasks are absent. The map is
   * live: it changes as the pass places instances of the app.
   */
  countsBy(field: string): ReadonlyMap<string, number> {
    let counts = this.byValue.get(field);
    if (counts) return counts;
    counts = new Map();
    if (this.byAgent.size > 0) {
      const agents = this.agentById();
      for (const [id, n] of this.byAgent) {
        const identity = agents.get(id)?.snapshot ?? this.elsewhere.get(id);
        const value = identity && fieldValue(identity, field);
        if (value !== undefined && n > 0) counts.set(value, (counts.get(value) ?? 0) + n);
      }
    }
    this.byValue.set(field, counts);
    return counts;
  }

  /** Counts one more task of the app on the agent. */
  add(agent: WorkingAgent): void {
    const id = agent.snapshot.id;
    this.byAgent.set(id, (this.byAgent.get(id) ?? 0) + 1);
    for (const [field, counts] of this.byValue) {
      const value = fieldValue(agent.snapshot, field);
      if (value !== undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
  }
}
