// @drover/common: what every Drover package shares.
export * from './errors/index.js';
export * from './resources/index.js';
export * from './app-spec/index.js';
export * from './task-state.js';
export * from './ids.js';
export * from './logging/logger.js';
export * from './version.js';
export * from './tls/tls.js';
export * from './timers/timer-delay.js';
export * from './masters/master-list.js';
