/**
 * What the benchmarks share: percentiles, table printing, JSON result files,
 * and starting a `drover dev` cluster as a separate process.
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

/** Starts `drover dev` (built CLI) in a temp dir and waits until it serves. */
export async function startDevCluster(): Promise<DevCluster> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-bench-'));
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ['packages/cli/bin/drover.js', 'dev', '--data-dir', dataDir, '--grpc-port', String(grpcPort), '--http-port', String(httpPort)],
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
