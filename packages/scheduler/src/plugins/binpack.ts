import { add, dominantShare } from '@drover/common';
import type { ScorePlugin } from './plugin.js';

/**
 * Prefers the agent that would be fullest after the placement (by dominant
 * resource share), which keeps whole agents free for large tasks.
 */
export const binpack = {
  name: 'binpack',
  score(request, agent) {
    const total = agent.snapshot.total;
    const usedAfter = add(
      {
        cpus: total.cpus - agent.free.cpus,
        mem: total.mem - agent.free.mem,
        disk: total.disk - agent.free.disk,
        gpus: total.gpus - agent.free.gpus,
      },
      request.resources,
    );
    return Math.min(100, dominantShare(usedAfter, total) * 100);
  },
} satisfies ScorePlugin;
