/** Runs `drover` in-process with captured output, for command tests. */
import type { CliIo, CliRuntime } from '../cli-context.js';
import { runCli } from '../program.js';
import { NOW } from './fixtures.js';

/** What one command run printed and returned. */
export interface CliRun {
  /** The exit code runCli returned. */
  code: number;
  /** Everything written to standard output (text and bytes, in order), decoded as UTF-8 at the end. */
  stdout: string;
  /** Everything written to standard error. */
  stderr: string;
}

/** Optional surroundings of a run. */
export interface RunOptions {
  /** Environment; default empty, so the developer's DROVER_MASTER never leaks in. */
  env?: Record<string, string | undefined>;
  /** Working directory; default the test process's. */
  cwd?: string;
  /** Fakes for the long-running parts; unset ones fail if called. */
  runtime?: Partial<CliRuntime>;
  /** How the CLI was invoked; default "drover". */
  invokedAs?: string;
  /** Pretend standard output is a terminal this wide; default not a terminal. */
  ttyColumns?: number;
}

/** A runtime whose long-running parts fail loudly if a test did not expect them. */
const unexpected: CliRuntime = {
  startMaster: () => Promise.reject(new Error('test did not expect startMaster')),
  startAgent: () => Promise.reject(new Error('test did not expect startAgent')),
  holdYoungGeneration: () => {
    throw new Error('test did not expect holdYoungGeneration');
  },
  waitForStop: () => new Promise(() => undefined),
};

/** Runs one command line and returns its exit code and output. */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  const out: Buffer[] = [];
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => void out.push(Buffer.from(t)),
    stdoutBytes: (d) => void out.push(Buffer.from(d)),
    stderr: (t) => void (stderr += t),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    now: () => NOW,
    invokedAs: options.invokedAs ?? 'drover',
    tty: options.ttyColumns === undefined ? undefined : { columns: options.ttyColumns },
  };
  const code = await runCli(argv, { io, runtime: { ...unexpected, ...options.runtime } });
  return { code, stdout: Buffer.concat(out).toString(), stderr };
}
