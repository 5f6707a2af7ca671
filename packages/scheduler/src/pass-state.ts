/**
 * Everything one call of schedule() works on: a working copy of each agent,
 * the free-resource index over them, each app's task counts, and the
 * per-pass caches plugins share through PassContext. Built once per pass
 * and thrown away with it; the snapshot itself is never changed.
 */
import type { ScalarResources } from '@drover/common';
import { AppTally } from './app-tally.js';
import { fieldValue } from './field-value.js';
import { FreeIndex } from './free-index.js';
import type { PassContext } from './plugins/plugin.js';
import type { Random } from './random.js';
import type { Snapshot } from './types.js';
import { reserve, type WorkingAgent, workingAgent } from './working-agent.js';

/** The state of one scheduling pass. */
export class PassState implements PassContext {
  /** Every agent of the snapshot, in snapshot order (ordinal = position). */
  readonly agents: readonly WorkingAgent[];
  /** The agents that may take tasks (not draining), by free resources. */
  readonly index: FreeIndex;
  private readonly tallies = new Map<string, AppTally>();
  private readonly values = new Map<string, Set<string>>();
  private readonly regexes = new Map<string, RegExp>();
  private byId: Map<string, WorkingAgent> | undefined;

  constructor(
    private readonly snapshot: Snapshot,
    random: Random,
  ) {
    this.agents = snapshot.agents.map((a, i) => workingAgent(a, i));
    this.index = new FreeIndex(this.agents.length);
    // Insert in a seeded random order: agents that tie (identical and
    // equally free) are then used in an order the seed decides, not always
    // the snapshot's first ones.
    const order = this.agents.map((a) => a.ordinal);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = order[i] as number;
      order[i] = order[j] as number;
      order[j] = t;
    }
    for (const ordinal of order) {
      const agent = this.agents[ordinal] as WorkingAgent;
      // A draining agent can never be chosen; leaving it out keeps walks short.
      if (!agent.snapshot.draining) this.index.add(agent);
    }
  }

  /** Records an instance of `appId` placed on the agent: resources, ports, index and counts. */
  place(agent: WorkingAgent, appId: string, resources: ScalarResources, hostPorts: readonly number[]): void {
    reserve(agent, resources, hostPorts);
    this.index.update(agent);
    this.tally(appId).add(agent);
  }

  taskCounts(appId: string, field: string): ReadonlyMap<string, number> {
    return this.tally(appId).countsBy(field);
  }

  fieldValues(field: string): ReadonlySet<string> {
    let values = this.values.get(field);
    if (!values) {
      values = new Set();
      for (const agent of this.snapshot.agents) {
        const value = fieldValue(agent, field);
        if (value !== undefined) values.add(value);
      }
      this.values.set(field, values);
    }
    return values;
  }

  fullMatch(pattern: string): RegExp {
    let regex = this.regexes.get(pattern);
    if (!regex) {
      regex = new RegExp(`^(?:${pattern})$`);
      this.regexes.set(pattern, regex);
    }
    return regex;
  }

  private tally(appId: string): AppTally {
    let tally = this.tallies.get(appId);
    if (!tally) {
      tally = new AppTally(this.snapshot.placed.get(appId), () => this.agentById(), this.snapshot.elsewhere);
      this.tallies.set(appId, tally);
    }
    return tally;
  }

  private agentById(): ReadonlyMap<string, WorkingAgent> {
    this.byId ??= new Map(this.agents.map((a) => [a.snapshot.id, a]));
    return this.byId;
  }
}
