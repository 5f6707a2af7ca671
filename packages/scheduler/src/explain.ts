/**
 * Turning filter rejections into the sentence an operator reads:
 * "3 agents: insufficient mem (need 512 MiB, most free 256 MiB); 1 agent:
 * port 8080 unavailable". Counts are per agent, by the first filter that
 * ruled the agent out.
 */
import { fixed } from '@drover/common';
import type { Rejected } from './plugins/plugin.js';
import type { Explanation, RejectionCount } from './types.js';

interface Tally {
  agents: number;
  need?: number;
  mostFree?: number;
  unit?: string;
  detail?: string;
}

/** Accumulates rejections for one request. */
export class ExplanationBuilder {
  private readonly tallies = new Map<string, Tally>();
  private considered = 0;

  /** Records that one agent was looked at and rejected. */
  reject(rejection: Rejected): void {
    this.considered++;
    const tally = this.tallies.get(rejection.reason) ?? { agents: 0 };
    tally.agents++;
    if (rejection.measure) {
      tally.need = rejection.measure.need;
      tally.unit = rejection.measure.unit;
      tally.mostFree = Math.max(tally.mostFree ?? -Infinity, rejection.measure.have);
    } else if (rejection.detail !== undefined) {
      tally.detail ??= rejection.detail;
    }
    this.tallies.set(rejection.reason, tally);
  }

  /** The explanation so far. */
  build(): Explanation {
    const rejections: RejectionCount[] = [...this.tallies.entries()]
      .map(([reason, t]) => ({ reason, agents: t.agents, detail: detailOf(t) }))
      .sort((a, b) => b.agents - a.agents || a.reason.localeCompare(b.reason));
    return { agentsConsidered: this.considered, rejections, summary: summarize(this.considered, rejections) };
  }
}

/** The explanation when there is no agent at all. */
export function noAgentsExplanation(): Explanation {
  return { agentsConsidered: 0, rejections: [], summary: 'no agents are available' };
}

function detailOf(t: Tally): string {
  if (t.need !== undefined && t.mostFree !== undefined) {
    return `need ${fixed(t.need)} ${t.unit}, most free ${fixed(Math.max(0, t.mostFree))} ${t.unit}`;
  }
  return t.detail ?? '';
}

function summarize(considered: number, rejections: readonly RejectionCount[]): string {
  if (considered === 0) return 'no agents are available';
  return rejections
    .map((r) => `${r.agents} ${r.agents === 1 ? 'agent' : 'agents'}: ${r.reason}${r.detail ? ` (${r.detail})` : ''}`)
    .join('; ');
}
