import { Code, containsPort, DroverError } from '@drover/common';
import { freePortCount } from '../working-agent.js';
import { type FilterPlugin, type FilterStatus, SCHEDULABLE } from './plugin.js';

/** Rules out agents whose free port ranges cannot supply the instance's ports. */
export const portsFit = {
  name: 'ports-fit',
  // The pass only takes ports away.
  stickyRejections: true,
  prepare({ request }) {
    if (request.ports.length === 0) return { check: () => SCHEDULABLE };
    const fixedPorts = request.ports.filter((p) => p.port !== 0).map((p) => p.port);
    if (new Set(fixedPorts).size !== fixedPorts.length) {
      // App validation refuses duplicate ports; one getting here is a bug upstream.
      throw new DroverError(`request ${request.key} asks for the same host port twice: ${fixedPorts.join(', ')}`, Code.InvalidArgument);
    }
    const any = request.ports.length - fixedPorts.length;
    const taken: FilterStatus[] = fixedPorts.map((port) => ({ code: 'unschedulable', reason: `port ${port} unavailable` }));
    return {
      check(agent) {
        for (let i = 0; i < fixedPorts.length; i++) {
          if (!containsPort(agent.freePorts, fixedPorts[i] as number)) return taken[i] as FilterStatus;
        }
        if (any === 0) return SCHEDULABLE;
        const available = freePortCount(agent) - fixedPorts.length;
        if (available >= any) return SCHEDULABLE;
        return {
          code: 'unschedulable',
          reason: 'insufficient ports',
          measure: { need: any, have: Math.max(0, available), unit: 'ports' },
        };
      },
    };
  },
} satisfies FilterPlugin;
