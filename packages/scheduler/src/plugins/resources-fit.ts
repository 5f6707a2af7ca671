import { shortfalls } from '@drover/common';
import { type FilterPlugin, SCHEDULABLE } from './plugin.js';

const UNITS = { cpus: 'cpus', mem: 'MiB', disk: 'MiB', gpus: 'gpus' } as const;

/** Rules out agents without enough free cpus, mem, disk or gpus. */
export const resourcesFit = {
  name: 'resources-fit',
  filter(request, agent) {
    const first = shortfalls(request.resources, agent.free)[0];
    if (first === undefined) return SCHEDULABLE;
    const need = request.resources[first];
    return {
      // Larger than the whole agent: no amount of waiting helps.
      code: need > agent.snapshot.total[first] ? 'unresolvable' : 'unschedulable',
      reason: `insufficient ${first}`,
      measure: { need, have: agent.free[first], unit: UNITS[first] },
    };
  },
} satisfies FilterPlugin;
