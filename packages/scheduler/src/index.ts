// @drover/scheduler: placement as a pure function (see schedule.ts).
export * from './types.js';
export * from './schedule.js';
export * from './explain.js';
export * from './random.js';
export * from './ports/port-assigner.js';
export type { AgentFilter, FilterInput, FilterPlugin, FilterStatus, PassContext, Rejected, ScorePlugin } from './plugins/plugin.js';
export { DEFAULT_FILTERS, DEFAULT_SCORE, filterPlugin, scorePlugin } from './plugins/registry.js';
