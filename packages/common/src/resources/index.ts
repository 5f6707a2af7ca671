export * from './scalar-resources.js';
export * from './port-ranges.js';
export * from './resource-limits.js';
