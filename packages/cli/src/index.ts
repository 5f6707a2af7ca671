// @drover/cli: the `drover` command. Exported for tests and for embedding the CLI in other tools.
export * from './program.js';
export * from './cli-context.js';
export * from './cli-errors.js';
export * from './app-file.js';
