/**
 * The real process behind a CliContext: stdout/stderr, process.env, signals,
 * and the master and agent packages. Those two are imported only when a
 * command starts one, so client commands load neither SQLite nor the
 * executors and stay quick to start.
 */
import path from 'node:path';
import type { CliContext } from './cli-context.js';
import { pipeWriter } from './pipe-writer.js';
import { takeYoungGenerationHold } from './young-generation.js';

/** Exit code after a second Ctrl-C: 128 + SIGINT, as shells report it. */
const FORCED_EXIT = 130;

/** A context bound to this process. */
export function processContext(): CliContext {
  // grpc-js prints its own errors ("E No address added...") next to ours, which
  // already say what failed; GRPC_VERBOSITY still turns them on for debugging.
  // Said through the variable grpc-js reads when it loads, so that commands
  // that never talk gRPC (--version, --help) do not load it.
  process.env.GRPC_VERBOSITY ??= 'NONE';
  // A reader that went away (`drover events | head -2`) stops the command as Ctrl-C would.
  const stdout = pipeWriter(process.stdout, (code) => stopRequested(code));
  const stderr = pipeWriter(process.stderr, (code) => stopRequested(code));
  return {
    io: {
      stdout: (text) => stdout.write(text),
      stdoutBytes: (data) => stdout.write(data),
      stderr: (text) => stderr.write(text),
      env: process.env,
      cwd: process.cwd(),
      now: () => new Date(),
      invokedAs: invokedAs(process.argv[1]),
      // A getter: the terminal may be resized while a command draws.
      tty: process.stdout.isTTY ? { get columns() { return process.stdout.columns || 80; } } : undefined,
    },
    runtime: {
      startMaster: async (options) => (await import('@drover/master')).startMaster(options),
      startAgent: async (options) => (await import('@drover/agent')).startAgent(options),
      holdYoungGeneration: takeYoungGenerationHold,
      waitForStop,
    },
  };
}

/** "drover" when run through a `drover` link on the PATH, else the node command that ran this script. */
function invokedAs(script: string | undefined): string {
  if (!script || path.basename(script) === 'drover') return 'drover';
  return `node ${path.resolve(script)}`;
}

/** Why the process was asked to stop (a signal's name, or EPIPE), once it was. */
let stopReason: string | undefined;
const stopListeners: Array<(reason: string) => void> = [];
let stopWaited: Promise<string> | undefined;

/** Asks the running command to stop (first call wins); commands learn of it through waitForStop. */
function stopRequested(reason: string): void {
  if (stopReason !== undefined) return;
  stopReason = reason;
  for (const listener of stopListeners.splice(0)) listener(reason);
}

/**
 * Resolves on the first SIGINT or SIGTERM, or when stdout or stderr lost
 * its reader. A second signal exits at once, for when a clean stop hangs
 * (the tasks still survive: they never depended on this process).
 */
function waitForStop(): Promise<string> {
  stopWaited ??= new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const force = (): void => {
        process.stderr.write('second signal: exiting without a clean stop\n');
        process.exit(FORCED_EXIT);
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      stopRequested(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (stopReason !== undefined) resolve(stopReason);
    else stopListeners.push(resolve);
  });
  return stopWaited;
}
