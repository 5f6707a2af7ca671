/**
 * What the benchmarks share: percentiles, table printing, JSON result files,
 * starting a `drover dev` cluster (or a master and an agent as processes of
 * their own) as separate processes, and what /proc says about a process.
 * The cluster may come from another checkout (`root`), so that one bench
 * script measures two builds side by side.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The p-th percentile (0..100) of the values, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** Rounds for display and JSON. */
export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Prints rows as an aligned table. */
export function printTable(rows: ReadonlyArray<Record<string, string | number>>): void {
  const first = rows[0];
  if (!first) return;
  const headers = Object.keys(first);
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h]).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  console.log(line(headers));
  for (const r of rows) console.log(line(headers.map((h) => String(r[h]))));
}

/** Writes the result under bench-results/ and returns the path. */
export function saveResult(name: string, result: unknown): string {
  const dir = path.resolve('bench-results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A running `drover dev` process. */
export interface DevCluster {
  readonly address: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Where the built `drover` of a checkout is; `root` defaults to the current directory. */
export function droverBin(root = '.'): string {
  return path.resolve(root, 'packages/cli/bin/drover.js');
}

/** Starts `drover dev` (built CLI, of the checkout at `root`) in a temp dir and waits until it serves. */
export async function startDevCluster(options: { root?: string } = {}): Promise<DevCluster> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-'));
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [droverBin(options.root), 'dev', '--data-dir', dataDir, '--grpc-port', String(grpcPort), '--http-port', String(httpPort)],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DROVER_LOG_LEVEL: 'warn' } },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/ping`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) throw new Error(`drover dev exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('drover dev did not come up in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address: `127.0.0.1:${grpcPort}`,
    dataDir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A master and an agent, each a process of its own (as on real machines), on loopback. */
export interface SplitCluster extends DevCluster {
  /** The agent's process id (its spawner, if any, is a child of it). */
  readonly agentPid: number;
  /** The master's process id. */
  readonly masterPid: number;
}

/** Starts `drover master` and `drover agent` (built CLI of the checkout at `root`) in a temp dir; resolves once the master serves. */
export async function startSplitCluster(options: { root?: string } = {}): Promise<SplitCluster> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-'));
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const env = { ...process.env, DROVER_LOG_LEVEL: 'warn' };
  const stdio: ['ignore', 'ignore', 'inherit'] = ['ignore', 'ignore', 'inherit'];
  const bin = droverBin(options.root);
  const master = spawn(
    process.execPath,
    [bin, 'master', '--data-dir', path.join(dataDir, 'master'), '--host', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(httpPort)],
    { stdio, env },
  );
  await waitForPing(httpPort, master);
  const agent = spawn(process.execPath, [bin, 'agent', '--master', `127.0.0.1:${grpcPort}`, '--work-dir', path.join(dataDir, 'agent'), '--address', '127.0.0.1'], {
    stdio,
    env,
  });
  const stopOne = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return {
    address: `127.0.0.1:${grpcPort}`,
    dataDir,
    agentPid: agent.pid as number,
    masterPid: master.pid as number,
    async stop() {
      await stopOne(agent);
      await stopOne(master);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitForPing(httpPort: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/ping`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) throw new Error(`drover exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('drover did not come up in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resident memory of a process, MiB (VmRSS); NaN when it is gone. */
export function rssMiB(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** CPU time a process has used (user + system, its own threads only), ms. */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of proc(5); fields[0] is field 3.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** The direct children of a process. */
export function childPids(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter((p) => p !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** The short name of a process (/proc/<pid>/comm), e.g. "drover-spawner"; undefined when it is gone. */
export function processName(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
