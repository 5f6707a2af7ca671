import { fixed, type ScalarName, scalars } from '@drover/common';
import type { WorkingAgent } from '../working-agent.js';
import { type FilterPlugin, type FilterStatus, SCHEDULABLE } from './plugin.js';

const UNITS: Record<ScalarName, string> = { cpus: 'cpus', mem: 'MiB', disk: 'MiB', gpus: 'gpus' };

/** Rules out agents without enough free cpus, mem, disk or gpus (first short resource in display order). */
export const resourcesFit = {
  name: 'resources-fit',
  // The pass only takes resources away.
  stickyRejections: true,
  prepare({ request }) {
    const need = scalars(request.resources);
    const shortfall = (agent: WorkingAgent, name: ScalarName): FilterStatus => ({
      // Larger than the whole agent: no amount of waiting helps.
      code: need[name] > fixed(agent.snapshot.total[name]) ? 'unresolvable' : 'unschedulable',
      reason: `insufficient ${name}`,
      measure: { need: need[name], have: agent.free[name], unit: UNITS[name] },
    });
    return {
      check(agent) {
        const free = agent.free;
        // Unrolled: this runs for every agent the pass visits.
        if (need.cpus > fixed(free.cpus)) return shortfall(agent, 'cpus');
        if (need.mem > fixed(free.mem)) return shortfall(agent, 'mem');
        if (need.disk > fixed(free.disk)) return shortfall(agent, 'disk');
        if (need.gpus > fixed(free.gpus)) return shortfall(agent, 'gpus');
        return SCHEDULABLE;
      },
    };
  },
} satisfies FilterPlugin;

