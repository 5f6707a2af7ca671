/**
 * Separate OS processes via the built CLI, as operators run Drover: one
 * master and two agents with different hostnames.
 *
 *   1. deploy 4 instances with `drover app deploy`;
 *   2. SIGKILL the agent holding the most tasks: its tasks are replaced on
 *      the other agent within the lost timeout + 5 s (the app's
 *      unreachableStrategy is "disabled", so they are LOST at once: a
 *      returning agent's copies are killed; partition.test.ts covers the
 *      default, where they come back);
 *   3. SIGKILL the master and start it again: no task restarts, and
 *      `drover task list` shows the same task ids (and the same pids);
 *   4. start the killed agent again: it re-adopts its orphaned processes,
 *      and the master has them killed there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroverServer, drover, freePort, requireBuiltCli } from '../support/drover-process.js';
import { tempDir } from '../support/temp-dir.js';
import { alive, waitFor } from '../support/wait.js';

const LOST_TIMEOUT_S = 3;

interface TaskJson {
  id: string;
  appId: string;
  agentId: string;
  host: string;
  state: string;
  pid?: number;
}

interface AgentJson {
  id: string;
  hostname: string;
  state: string;
}

let root: string;
let masterAddress: string;
let master: DroverServer;
const agents: Record<string, DroverServer> = {};
const seenPids = new Set<number>();

async function json<T>(...args: string[]): Promise<T> {
  const result = await drover([...args, '--json'], { DROVER_MASTER: masterAddress });
  if (result.code !== 0) throw new Error(`drover ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

const tasks = () => json<TaskJson[]>('task', 'list');
const running = (ts: TaskJson[]) => ts.filter((t) => t.state === 'TASK_STATE_RUNNING');

function agentServer(name: string, ports: string): DroverServer {
  return new DroverServer(
    name,
    [
      'agent',
      '--master',
      masterAddress,
      '--work-dir',
      path.join(root, name),
      '--hostname',
      name,
      '--resources',
      `cpus=2,mem=2048,disk=1024,ports=${ports}`,
    ],
    path.join(root, `${name}.log`),
  );
}

function dumpLogs(): string {
  return [master, ...Object.values(agents)].map((s) => `--- ${s.name} ---\n${s.log().slice(-4000)}`).join('\n');
}

beforeAll(async () => {
  requireBuiltCli();
  root = tempDir('e2e-failover');
  const grpcPort = await freePort();
  masterAddress = `127.0.0.1:${grpcPort}`;
  master = new DroverServer(
    'master',
    [
      'master',
      '--data-dir',
      path.join(root, 'master'),
      '--host',
      '127.0.0.1',
      '--grpc-port',
      String(grpcPort),
      '--http-port',
      String(await freePort()),
      '--lost-timeout',
      `${LOST_TIMEOUT_S}s`,
    ],
    path.join(root, 'master.log'),
  ).start();
  agents.alpha = agentServer('alpha', '32200-32299').start();
  agents.beta = agentServer('beta', '32300-32399').start();
  await waitFor(
    'both agents ACTIVE',
    () => json<AgentJson[]>('agent', 'list'),
    (as) => as.filter((a) => a.state === 'AGENT_STATE_ACTIVE').length === 2,
    20_000,
  );
});

afterAll(async () => {
  for (const s of [...Object.values(agents), master]) await s?.kill('SIGKILL');
  // Tasks outlive their agents by design: clean up every process we saw.
  for (const pid of seenPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('master + 2 agents as separate processes', () => {
  it('replaces the tasks of a killed agent, survives a master restart, and cleans up after a returning agent', async () => {
    try {
      // 1. Deploy 4 instances through the CLI.
      const spec = path.join(root, 'app.json');
      fs.writeFileSync(spec, JSON.stringify({ id: '/e2e/sleeper', cmd: 'exec sleep 600', cpus: 0.25, mem: 32, instances: 4, unreachableStrategy: 'disabled' }));
      const deployed = await drover(['app', 'deploy', spec], { DROVER_MASTER: masterAddress });
      expect(deployed.code, deployed.stderr).toBe(0);
      expect(deployed.stdout).toMatch(/created app \/e2e\/sleeper/);
      const initial = await waitFor('4 RUNNING', tasks, (ts) => running(ts).length === 4, 20_000);
      for (const t of initial) seenPids.add(t.pid ?? 0);

      // 2. SIGKILL the agent holding the most tasks.
      const count = (host: string) => initial.filter((t) => t.host === host).length;
      const victim = count('alpha') >= count('beta') ? 'alpha' : 'beta';
      const survivor = victim === 'alpha' ? 'beta' : 'alpha';
      const orphaned = initial.filter((t) => t.host === victim);
      expect(orphaned.length).toBeGreaterThan(0);
      const killedAt = Date.now();
      await agents[victim]?.kill('SIGKILL');
      const replaced = await waitFor(
        `4 RUNNING on ${survivor}`,
        tasks,
        (ts) => running(ts).length === 4 && ts.every((t) => t.host === survivor),
        (LOST_TIMEOUT_S + 5) * 1000,
        100,
      );
      const replacementSeconds = (Date.now() - killedAt) / 1000;
      expect(replacementSeconds).toBeLessThan(LOST_TIMEOUT_S + 5);
      for (const t of replaced) seenPids.add(t.pid ?? 0);
      const history = await json<TaskJson[]>('task', 'list', '--all');
      for (const t of orphaned) {
        expect(history.find((h) => h.id === t.id)?.state).toBe('TASK_STATE_LOST');
        // The agent died, not its tasks: the processes still run, unsupervised.
        expect(alive(t.pid ?? 0)).toBe(true);
      }

      // 3. Restart the master hard: nothing restarts.
      const before = running(await tasks())
        .map((t) => `${t.id}:${t.pid}`)
        .sort();
      await master.kill('SIGKILL');
      master.start();
      await waitFor(
        `${survivor} to re-register`,
        () => json<AgentJson[]>('agent', 'list'),
        (as) => as.some((a) => a.hostname === survivor && a.state === 'AGENT_STATE_ACTIVE'),
        20_000,
      );
      // Give the orchestrator a few passes to (wrongly) restart anything.
      await new Promise((r) => setTimeout(r, 2000));
      const after = await tasks();
      expect(
        running(after)
          .map((t) => `${t.id}:${t.pid}`)
          .sort(),
      ).toEqual(before);
      expect(after).toHaveLength(4);
      const listed = await drover(['task', 'list'], { DROVER_MASTER: masterAddress });
      for (const id of before.map((b) => b.split(':')[0] as string)) expect(listed.stdout).toContain(id);

      // 4. The dead agent returns: its orphaned processes are killed.
      agents[victim]?.start();
      await waitFor(
        'orphaned processes to be killed',
        () => orphaned.filter((t) => alive(t.pid ?? 0)),
        (left) => left.length === 0,
        20_000,
        100,
      );
      expect(running(await tasks()).map((t) => t.id).sort()).toEqual(before.map((b) => b.split(':')[0]).sort());
      console.log(`agent SIGKILL -> 4 RUNNING again on ${survivor} in ${replacementSeconds.toFixed(1)} s (lost timeout ${LOST_TIMEOUT_S} s)`);
    } catch (error) {
      console.error(dumpLogs());
      throw error;
    }
  });
});
