/**
 * Every placement plugin by name. Requests refer to plugins by name (a
 * constraint by its operator, a strategy by its name); an unknown name is a
 * programming or validation error and fails loudly.
 */
import { Code, DroverError } from '@drover/common';
import { binpack } from './binpack.js';
import { capabilities } from './capabilities.js';
import { cluster } from './constraints/cluster.js';
import { groupBy } from './constraints/group-by.js';
import { inList } from './constraints/in.js';
import { is } from './constraints/is.js';
import { like } from './constraints/like.js';
import { maxPer } from './constraints/max-per.js';
import { unique } from './constraints/unique.js';
import { unlike } from './constraints/unlike.js';
import { draining } from './draining.js';
import type { FilterPlugin, ScorePlugin } from './plugin.js';
import { portsFit } from './ports-fit.js';
import { resourcesFit } from './resources-fit.js';
import { spread } from './spread.js';

const FILTERS: ReadonlyMap<string, FilterPlugin> = new Map(
  [draining, capabilities, resourcesFit, portsFit, unique, cluster, groupBy, like, unlike, maxPer, is, inList].map((p) => [p.name, p]),
);

const SCORES: ReadonlyMap<string, ScorePlugin> = new Map([binpack, spread].map((p) => [p.name, p]));

/**
 * Filters every request runs before its constraints, cheapest and most
 * telling first: an agent that is draining is explained as "draining" even
 * if it is also full.
 */
export const DEFAULT_FILTERS = ['draining', 'capabilities', 'resources-fit', 'ports-fit'] as const;
/** The strategy apps get when they name none (the master fills PlacementRequest.strategy with it). */
export const DEFAULT_SCORE = 'binpack';

/** A filter plugin by name (constraint plugins by operator); throws on an unknown name. */
export function filterPlugin(name: string): FilterPlugin {
  const plugin = FILTERS.get(name);
  if (!plugin) throw new DroverError(`unknown filter plugin "${name}"`, Code.InvalidArgument);
  return plugin;
}

/** A score plugin by name; throws on an unknown name. */
export function scorePlugin(name: string): ScorePlugin {
  const plugin = SCORES.get(name);
  if (!plugin) throw new DroverError(`unknown score plugin "${name}"`, Code.InvalidArgument);
  return plugin;
}
