/** MasterSession's logging while its master cannot be reached, against a real port nobody listens on. */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLogger, dialTarget, silentLogger } from '@drover/common';
import { Register } from '@drover/proto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Backoff } from './backoff.js';
import { EpochFence } from './epoch-fence.js';
import { MasterSession } from './master-session.js';

interface Line {
  level: number;
  msg: string;
  master?: string;
  why?: string;
  attempts?: number;
}

const INFO = 30;
const WARN = 40;
let dir: string | undefined;

afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A loopback port that was free a moment ago: connecting to it is refused. */
async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('MasterSession when the master cannot be reached', () => {
  it('logs info for the first failures, then warns with the address and error at the 3rd, 6th, 12th...', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-session-'));
    const lines: Line[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Line) } });
    const master = `127.0.0.1:${await refusedPort()}`;
    const session = new MasterSession({
      masters: [master],
      dial: (target) => dialTarget(undefined, target),
      fence: await EpochFence.load(path.join(dir, 'epoch.json'), silentLogger()),
      backoff: new Backoff(1, 5),
      handler: { register: () => Register.fromPartial({}), registered: async () => undefined, ready: () => undefined, command: () => undefined },
      logger,
    });
    session.start();
    try {
      await vi.waitFor(() => expect(lines.filter((l) => (l.attempts ?? 0) >= 13)).not.toEqual([]), { timeout: 15_000, interval: 20 });
    } finally {
      await session.stop();
    }
    const first13 = lines.filter((l) => l.attempts === undefined || l.attempts <= 13);
    const warnings = first13.filter((l) => l.level === WARN);
    expect(warnings.map((l) => l.attempts)).toEqual([3, 6, 12]);
    for (const w of warnings) {
      expect(w.msg).toBe(`cannot reach the master at ${master} (${w.attempts} attempts in a row); still trying`);
      expect(w).toMatchObject({ master, why: expect.stringMatching(/^connect ECONNREFUSED /) });
    }
    expect(first13.filter((l) => l.level >= INFO && l.level < WARN).map((l) => [l.msg, l.attempts])).toEqual([
      ['connecting to master', undefined],
      ['disconnected from master', 1],
      ['disconnected from master', 2],
    ]);
  });
});

describe('MasterSession among several masters', () => {
  it('never waits more than a second between tries, whatever its backoff says: a new leader gives agents only so long', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-session-'));
    const delays: number[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void delays.push((JSON.parse(s) as { delayMs?: number }).delayMs ?? -1) } });
    const masters = [`127.0.0.1:${await refusedPort()}`, `127.0.0.1:${await refusedPort()}`];
    const session = new MasterSession({
      masters,
      dial: (target) => dialTarget(undefined, target),
      fence: await EpochFence.load(path.join(dir, 'epoch.json'), silentLogger()),
      // A backoff that would wait 4-10 s from the first failure on.
      backoff: new Backoff(4000, 10_000, () => 0.5),
      handler: { register: () => Register.fromPartial({}), registered: async () => undefined, ready: () => undefined, command: () => undefined },
      logger,
    });
    session.start();
    try {
      await vi.waitFor(() => expect(delays.filter((d) => d >= 0).length).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 20 });
    } finally {
      await session.stop();
    }
    expect(delays.filter((d) => d >= 0).slice(0, 3)).toEqual([1000, 1000, 1000]);
  });
});
