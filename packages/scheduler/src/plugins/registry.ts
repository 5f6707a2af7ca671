/**
 * Every placement plugin by name. Configuration refers to plugins by name;
 * an unknown name is a programming or configuration error and fails loudly.
 */
import { Code, DroverError } from '@drover/common';
import { binpack } from './binpack.js';
import type { FilterPlugin, ScorePlugin } from './plugin.js';
import { portsFit } from './ports-fit.js';
import { resourcesFit } from './resources-fit.js';

const FILTERS: ReadonlyMap<string, FilterPlugin> = new Map([
  [resourcesFit.name, resourcesFit],
  [portsFit.name, portsFit],
]);

const SCORES: ReadonlyMap<string, ScorePlugin> = new Map([[binpack.name, binpack]]);

/** Filters every pass runs, cheapest first. */
export const DEFAULT_FILTERS = ['resources-fit', 'ports-fit'] as const;
/** The default scoring. */
export const DEFAULT_SCORE = 'binpack';

/** A filter plugin by name; throws on an unknown name. */
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
