import { dominantShareAfter } from './dominant-share-after.js';
import type { ScorePlugin } from './plugin.js';

/**
 * Prefers the least loaded agent (lowest dominant resource share after the
 * placement), which evens load out and limits what one agent's loss takes
 * down.
 */
export const spread = {
  name: 'spread',
  // Best of a few random agents: the "power of d choices" that evens load
  // without looking at every agent.
  sampleFrom: 'random',
  score: (request, agent) => Math.max(0, 100 - dominantShareAfter(request.resources, agent) * 100),
} satisfies ScorePlugin;
