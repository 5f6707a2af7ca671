import { dominantShareAfter } from './dominant-share-after.js';
import type { ScorePlugin } from './plugin.js';

/**
 * Prefers the agent that would be fullest after the placement (by dominant
 * resource share), which keeps whole agents free for large tasks.
 */
export const binpack = {
  name: 'binpack',
  // The busiest agents that fit come first; see free-index.ts.
  sampleFrom: 'tightest',
  score: (request, agent) => Math.min(100, dominantShareAfter(request.resources, agent) * 100),
} satisfies ScorePlugin;
