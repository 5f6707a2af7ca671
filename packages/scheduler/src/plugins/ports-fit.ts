import { portShortfall } from '../ports/port-assigner.js';
import { type FilterPlugin, SCHEDULABLE } from './plugin.js';

/** Rules out agents whose free port ranges cannot supply the instance's ports. */
export const portsFit = {
  name: 'ports-fit',
  filter(request, agent) {
    if (request.ports.length === 0) return SCHEDULABLE;
    const short = portShortfall(agent.freePorts, request.ports);
    if (short === undefined) return SCHEDULABLE;
    if (short.kind === 'fixed-port-taken') {
      return { code: 'unschedulable', reason: `port ${short.port} unavailable` };
    }
    return {
      code: 'unschedulable',
      reason: 'insufficient ports',
      measure: { need: short.need, have: short.free, unit: 'ports' },
    };
  },
} satisfies FilterPlugin;
