/**
 * The real process behind a CliContext: stdout/stderr, process.env, signals,
 * and the master and agent packages. Those two are imported only when a
 * command starts one, so client commands load neither SQLite nor the
 * executors and stay quick to start.
 */
import path from 'node:path';
import type { CliContext } from './cli-context.js';

/** Exit code after a second Ctrl-C: 128 + SIGINT, as shells report it. */
const FORCED_EXIT = 130;

/** A context bound to this process. */
export function processContext(): CliContext {
  return {
    io: {
      stdout: (text) => void process.stdout.write(text),
      stdoutBytes: (data) => void process.stdout.write(data),
      stderr: (text) => void process.stderr.write(text),
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
      waitForStop,
    },
  };
}

/** "drover" when run through a `drover` link on the PATH, else the node command that ran this script. */
function invokedAs(script: string | undefined): string {
  if (!script || path.basename(script) === 'drover') return 'drover';
  return `node ${path.resolve(script)}`;
}

let stopRequested: Promise<string> | undefined;

/**
 * Resolves on the first SIGINT or SIGTERM. A second one exits at once, for
 * when a clean stop hangs (the tasks still survive: they never depended on
 * this process).
 */
function waitForStop(): Promise<string> {
  stopRequested ??= new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const force = (): void => {
        process.stderr.write('second signal: exiting without a clean stop\n');
        process.exit(FORCED_EXIT);
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return stopRequested;
}
