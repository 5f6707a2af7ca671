export * from './app-definition-schema.js';
export * from './app-definition.js';
export * from './constraints.js';
export * from './app-spec-limits.js';
export * from './unicode-text.js';
