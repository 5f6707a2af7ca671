export * from './app-definition-schema.js';
export * from './app-definition.js';
export * from './constraints.js';
