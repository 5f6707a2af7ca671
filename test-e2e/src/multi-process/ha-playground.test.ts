/**
 * `npm start -- --ha` (scripts/ha-playground): three etcd members, three
 * masters and an agent come up on loopback; the leader it names can be
 * killed and another takes over (its loop starts the dead one again); Ctrl-C
 * stops every process it started. Needs Debian's etcd-server.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describeWithEtcd } from '@drover/common/testing';
import { afterAll, expect, it } from 'vitest';
import { REPO, drover, requireBuiltCli } from '../support/drover-process.js';
import { tempDir } from '../support/temp-dir.js';
import { alive, waitFor } from '../support/wait.js';

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port whose `offsets` are all free, below the ephemeral range. */
async function freeBase(offsets: readonly number[]): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 9_000);
    if ((await Promise.all(offsets.map((o) => canListen(base + o)))).every(Boolean)) return base;
  }
}

let playground: ChildProcess | undefined;
const dir = tempDir('ha-playground');

afterAll(() => {
  if (playground?.pid !== undefined && playground.exitCode === null) process.kill(-playground.pid, 'SIGKILL');
});

describeWithEtcd('npm start -- --ha', () => {
  it('starts etcd, three masters and an agent; survives killing the leader; Ctrl-C stops it all', async () => {
    requireBuiltCli();
    const etcdPort = await freeBase([0, 1, 2, 3, 4, 5]);
    const masterPort = await freeBase([0, 3, 10, 13, 20, 23]);
    let out = '';
    playground = spawn('bash', [path.join(REPO, 'scripts/start'), '--ha', '--no-setup', '--dir', dir, '--etcd-port', String(etcdPort), '--master-port', String(masterPort)], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    playground.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    playground.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('the playground up', () => out, (o) => o.includes('Drover HA playground is up'), 60_000);
    const masters = [0, 1, 2].map((i) => ({ grpc: `127.0.0.1:${masterPort + 3 + 10 * i}`, http: `127.0.0.1:${masterPort + 10 * i}` }));
    expect(out).toContain(`export DROVER_MASTER=${masters.map((m) => m.grpc).join(',')}`);

    const env = { DROVER_MASTER: masters.map((m) => m.grpc).join(',') };
    const status = await drover(['cluster', 'status'], env);
    expect(status.code, status.stderr).toBe(0);
    const leaderHttp = async () => ((await (await fetch(`http://${masters[1]?.http}/v2/leader`)).json()) as { leader?: string }).leader;
    const first = await waitFor('a leader', leaderHttp, (l) => l !== undefined, 30_000);
    const index = masters.findIndex((m) => m.http === first);
    const pidFile = path.join(dir, `master-${index}.pid`);
    const killed = Number(fs.readFileSync(pidFile, 'utf8'));
    process.kill(killed, 'SIGKILL');
    await waitFor('another leader', async () => {
      for (const m of masters) {
        try {
          const l = ((await (await fetch(`http://${m.http}/v2/leader`, { signal: AbortSignal.timeout(500) })).json()) as { leader?: string }).leader;
          if (l !== undefined && l !== first) return l;
        } catch {
          // that one is down
        }
      }
      return undefined;
    }, (l) => l !== undefined, 30_000);
    // The killed master's loop started it again.
    await waitFor('the killed master back', () => Number(fs.readFileSync(pidFile, 'utf8')), (pid) => pid !== killed && alive(pid), 15_000);

    const pids = [...[0, 1, 2].map((i) => Number(fs.readFileSync(path.join(dir, `master-${i}.pid`), 'utf8'))), Number(fs.readFileSync(path.join(dir, 'agent.pid'), 'utf8'))];
    const exited = new Promise<number | null>((resolve) => playground?.once('exit', (code) => resolve(code)));
    process.kill(playground.pid as number, 'SIGINT');
    await exited;
    await waitFor('every process it started gone', () => pids.filter(alive), (left) => left.length === 0, 20_000);
    expect(out).toContain('ha-playground: stopping');
    // etcd members too: nothing runs with the playground's directory any more.
    const left = () => execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(dir));
    await waitFor('no process using the playground directory', left, (l) => l.length === 0, 20_000);
  }, 180_000);
});
