import { type FilterPlugin, type FilterStatus, SCHEDULABLE } from './plugin.js';

/**
 * Rules out agents that lack what the request needs to run at all, such as
 * a Docker daemon for a container ("1 agent: no docker"). Waiting does not
 * help: only an operator's change to the agent can.
 */
export const capabilities = {
  name: 'capabilities',
  stickyRejections: true,
  prepare({ request }) {
    const needed = request.requiredCapabilities ?? [];
    if (needed.length === 0) return { check: () => SCHEDULABLE };
    const rejections = new Map<string, FilterStatus>(needed.map((c) => [c, { code: 'unresolvable', reason: `no ${c}` }]));
    return {
      check(agent) {
        const has = agent.snapshot.capabilities ?? [];
        for (const c of needed) if (!has.includes(c)) return rejections.get(c) as FilterStatus;
        return SCHEDULABLE;
      },
    };
  },
} satisfies FilterPlugin;
