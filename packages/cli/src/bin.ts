/** Entry point of the `drover` binary (bin/drover.js imports this file). */
// First, before the modules below load: see young-generation.ts.
import './agent-start-hold.js';
import { runCli } from './program.js';
import { processContext } from './process-runtime.js';

/**
 * How long to wait for the event loop to drain after a command before
 * exiting anyway: a library handle left open must not keep a finished
 * `drover` hanging in someone's script.
 */
const DRAIN_MS = 2_000;

const code = await runCli(process.argv.slice(2), processContext());
process.exitCode = code;
setTimeout(() => process.exit(code), DRAIN_MS).unref();
