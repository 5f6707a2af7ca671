/**
 * A master whose state file is lost, as operators meet it: one master and
 * one agent as separate processes, two instances running.
 *
 *   1. SIGKILL the master and truncate its drover.db to 0 bytes;
 *   2. the master refuses to start on it, saying why and naming the flag;
 *   3. with --force-new-cluster it starts: the agent (which saw the old
 *      epoch) registers again, both tasks keep their pids, are listed as
 *      adopted, and are not killed over several reconcile passes;
 *   4. `drover task kill` of an adopted task kills its process: the agent
 *      accepts the new master's epoch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroverServer, drover, freePort, requireBuiltCli } from '../support/drover-process.js';
import { tempDir } from '../support/temp-dir.js';
import { alive, waitFor } from '../support/wait.js';

interface TaskJson {
  id: string;
  state: string;
  pid?: number;
  adopted?: boolean;
}

let root: string;
let masterAddress: string;
let masterArgs: string[];
let master: DroverServer;
let agent: DroverServer;
const seenPids = new Set<number>();

async function json<T>(...args: string[]): Promise<T> {
  const result = await drover([...args, '--json'], { DROVER_MASTER: masterAddress });
  if (result.code !== 0) throw new Error(`drover ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

const running = async () => (await json<TaskJson[]>('task', 'list')).filter((t) => t.state === 'TASK_STATE_RUNNING');

beforeAll(async () => {
  requireBuiltCli();
  root = tempDir('e2e-lost-state');
  const grpcPort = await freePort();
  masterAddress = `127.0.0.1:${grpcPort}`;
  masterArgs = ['master', '--data-dir', path.join(root, 'master'), '--host', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(await freePort())];
  master = new DroverServer('master', masterArgs, path.join(root, 'master.log')).start();
  agent = new DroverServer(
    'agent',
    ['agent', '--master', masterAddress, '--work-dir', path.join(root, 'agent'), '--hostname', 'node-1', '--resources', 'cpus=2,mem=2048,disk=1024,ports=32400-32499'],
    path.join(root, 'agent.log'),
  ).start();
  await waitFor(
    'the agent ACTIVE',
    () => json<{ state: string }[]>('agent', 'list'),
    (as) => as.some((a) => a.state === 'AGENT_STATE_ACTIVE'),
    20_000,
  );
});

afterAll(async () => {
  for (const s of [agent, master]) await s?.kill('SIGKILL');
  for (const pid of seenPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('a master whose drover.db was truncated', () => {
  it('refuses to start, then starts afresh only when forced and adopts the running tasks instead of killing them', async () => {
    try {
      const spec = path.join(root, 'app.json');
      fs.writeFileSync(spec, JSON.stringify({ id: '/e2e/kept', cmd: 'exec sleep 600', cpus: 0.25, mem: 32, instances: 2 }));
      const deployed = await drover(['app', 'deploy', spec], { DROVER_MASTER: masterAddress });
      expect(deployed.code, deployed.stderr).toBe(0);
      const before = await waitFor('2 RUNNING', running, (ts) => ts.length === 2, 20_000);
      for (const t of before) seenPids.add(t.pid ?? 0);

      // 1. The state is lost.
      await master.kill('SIGKILL');
      const db = path.join(root, 'master', 'drover.db');
      for (const f of [`${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
      fs.truncateSync(db, 0);

      // 2. Refused, with the reason and the way out; nothing touched.
      const refused = await drover(masterArgs);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`the state store ${db} exists but is empty (0 bytes)`);
      expect(refused.stderr).toContain('--force-new-cluster');
      expect(fs.statSync(db).size).toBe(0);

      // 3. Forced: the tasks are adopted, not killed.
      master = new DroverServer('master', [...masterArgs, '--force-new-cluster'], path.join(root, 'master.log')).start();
      const adopted = await waitFor('2 adopted RUNNING tasks', running, (ts) => ts.length === 2 && ts.every((t) => t.adopted === true), 20_000);
      expect(adopted.map((t) => `${t.id}:${t.pid}`).sort()).toEqual(before.map((t) => `${t.id}:${t.pid}`).sort());
      await new Promise((r) => setTimeout(r, 2500));
      for (const t of before) expect(alive(t.pid ?? 0)).toBe(true);
      expect((await running()).length).toBe(2);
      const listed = await drover(['task', 'list'], { DROVER_MASTER: masterAddress });
      expect(listed.stdout).toContain('RUNNING (adopted)');

      // 4. The agent obeys the new master.
      const victim = before[0] as TaskJson;
      const killed = await drover(['task', 'kill', victim.id], { DROVER_MASTER: masterAddress });
      expect(killed.code, killed.stderr).toBe(0);
      await waitFor('the killed task process to end', () => alive(victim.pid ?? 0), (a) => !a, 10_000);
      expect(alive(before[1]?.pid ?? 0)).toBe(true);
    } catch (error) {
      console.error([master, agent].map((s) => `--- ${s.name} ---\n${s.log().slice(-4000)}`).join('\n'));
      throw error;
    }
  });
});
