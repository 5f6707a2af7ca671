/**
 * Runs the built `drover` CLI as separate OS processes, the way operators
 * do: long-running servers (master, agent) with their output in log files,
 * and one-shot commands whose output and exit code the test inspects.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The built CLI entry point. */
export const DROVER_BIN = path.join(REPO, 'packages/cli/bin/drover.js');

/** Fails early, with the fix, when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!fs.existsSync(path.join(REPO, 'packages/cli/dist/bin.js'))) {
    throw new Error('the CLI is not built: run `npm test` (or `pnpm build`) first');
  }
}

/** A long-running drover process (master or agent). */
export class DroverServer {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;

  constructor(
    readonly name: string,
    readonly args: readonly string[],
    readonly logFile: string,
  ) {}

  /** Starts (or restarts) the process. */
  start(): this {
    const out = fs.openSync(this.logFile, 'a');
    this.child = spawn(process.execPath, [DROVER_BIN, ...this.args], {
      stdio: ['ignore', out, out],
      env: { ...process.env, DROVER_LOG_LEVEL: process.env.DROVER_LOG_LEVEL ?? 'info' },
    });
    fs.closeSync(out);
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    return this;
  }

  /** The OS pid. */
  get pid(): number {
    return this.child?.pid ?? 0;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a signal and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.child?.kill(signal);
    await this.exited;
  }

  /** The process's log so far (for failure messages). */
  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }
}

/** Result of a one-shot CLI command. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `drover ...args` to completion. */
export function drover(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DROVER_BIN, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
