/**
 * A partition between an agent and the master, with the built CLI as
 * separate OS processes: one master (default lost timeout) and two agents.
 * The agent is frozen with SIGSTOP, which cuts it off from the master
 * exactly as a partition does: its tasks keep running, it answers nothing.
 *
 *   1. deploy 4 instances spread over both agents;
 *   2. SIGSTOP the agent alpha: its tasks become UNREACHABLE (shown with
 *      their reason in `drover task list`), their processes still run, and
 *      replacements with new ids run on beta;
 *   3. SIGCONT: the partition heals (same boot id). alpha's tasks come back
 *      RUNNING with their ids and pids, and the copies too many (the
 *      replacements: YOUNGEST_FIRST) are killed: exactly one copy per
 *      instance, 4 tasks, no more.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroverServer, drover, freePort, requireBuiltCli } from '../support/drover-process.js';
import { tempDir } from '../support/temp-dir.js';
import { alive, waitFor } from '../support/wait.js';

interface TaskJson {
  id: string;
  host: string;
  state: string;
  pid?: number;
  reason?: string;
  message?: string;
  killRequested?: boolean;
}

let root: string;
let masterAddress: string;
let master: DroverServer;
const agents: Record<string, DroverServer> = {};
const seenPids = new Set<number>();

async function tasks(): Promise<TaskJson[]> {
  const result = await drover(['task', 'list', '--json'], { DROVER_MASTER: masterAddress });
  if (result.code !== 0) throw new Error(`drover task list exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as TaskJson[];
}

const inState = (ts: TaskJson[], state: string) => ts.filter((t) => t.state === `TASK_STATE_${state}`);

function agentServer(name: string, ports: string): DroverServer {
  return new DroverServer(
    name,
    ['agent', '--master', masterAddress, '--work-dir', path.join(root, name), '--hostname', name, '--resources', `cpus=2,mem=2048,disk=1024,ports=${ports}`],
    path.join(root, `${name}.log`),
  );
}

function dumpLogs(): string {
  return [master, ...Object.values(agents)].map((s) => `--- ${s.name} ---\n${s.log().slice(-4000)}`).join('\n');
}

beforeAll(async () => {
  requireBuiltCli();
  root = tempDir('e2e-partition');
  const grpcPort = await freePort();
  masterAddress = `127.0.0.1:${grpcPort}`;
  master = new DroverServer(
    'master',
    ['master', '--data-dir', path.join(root, 'master'), '--host', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(await freePort())],
    path.join(root, 'master.log'),
  ).start();
  agents.alpha = agentServer('alpha', '32400-32499').start();
  agents.beta = agentServer('beta', '32500-32599').start();
  await waitFor(
    'both agents ACTIVE',
    async () => JSON.parse((await drover(['agent', 'list', '--json'], { DROVER_MASTER: masterAddress })).stdout || '[]') as Array<{ state: string }>,
    (as) => as.filter((a) => a.state === 'AGENT_STATE_ACTIVE').length === 2,
    20_000,
  );
});

afterAll(async () => {
  const alpha = agents.alpha;
  if (alpha?.running) process.kill(alpha.pid, 'SIGCONT');
  for (const s of [...Object.values(agents), master]) await s?.kill('SIGKILL');
  for (const pid of seenPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('an agent partitioned from the master', () => {
  it('is UNREACHABLE and replaced; after the heal exactly one copy per instance runs', async () => {
    try {
      const spec = path.join(root, 'app.json');
      fs.writeFileSync(spec, JSON.stringify({ id: '/e2e/part', cmd: 'exec sleep 600', cpus: 0.25, mem: 32, instances: 4, placementStrategy: 'spread' }));
      const deployed = await drover(['app', 'deploy', spec], { DROVER_MASTER: masterAddress });
      expect(deployed.code, deployed.stderr).toBe(0);
      const initial = await waitFor('4 RUNNING', tasks, (ts) => inState(ts, 'RUNNING').length === 4, 20_000);
      for (const t of initial) seenPids.add(t.pid ?? 0);
      const cutOff = initial.filter((t) => t.host === 'alpha');
      expect(cutOff.length).toBeGreaterThan(0);

      // 2. The partition: alpha answers nothing, its tasks keep running.
      const alpha = agents.alpha as DroverServer;
      process.kill(alpha.pid, 'SIGSTOP');
      const frozenAt = Date.now();
      const during = await waitFor(
        "alpha's tasks UNREACHABLE and replaced on beta",
        tasks,
        (ts) => inState(ts, 'UNREACHABLE').length === cutOff.length && inState(ts, 'RUNNING').filter((t) => t.host === 'beta').length === 4,
        20_000,
        100,
      );
      const replacedSeconds = (Date.now() - frozenAt) / 1000;
      for (const t of during) seenPids.add(t.pid ?? 0);
      expect(inState(during, 'UNREACHABLE').map((t) => t.id).sort()).toEqual(cutOff.map((t) => t.id).sort());
      for (const t of inState(during, 'UNREACHABLE')) {
        expect(t.reason).toBe('TASK_REASON_AGENT_UNREACHABLE');
        expect(alive(t.pid ?? 0)).toBe(true);
      }
      const table = await drover(['task', 'list'], { DROVER_MASTER: masterAddress });
      expect(table.stdout).toMatch(/UNREACHABLE .*unreachable: agent alpha .* silent for/);
      const replacements = inState(during, 'RUNNING').filter((t) => !initial.some((i) => i.id === t.id));
      expect(replacements).toHaveLength(cutOff.length);

      // 3. The heal: alpha's tasks are back, the replacements (youngest) go.
      process.kill(alpha.pid, 'SIGCONT');
      const after = await waitFor(
        'exactly 4 tasks, all RUNNING, after the heal',
        tasks,
        (ts) => ts.length === 4 && inState(ts, 'RUNNING').length === 4 && ts.every((t) => t.killRequested !== true),
        20_000,
        100,
      );
      expect(after.map((t) => t.id).sort()).toEqual(initial.map((t) => t.id).sort());
      for (const t of cutOff) expect(after.find((a) => a.id === t.id)?.pid).toBe(t.pid);
      await waitFor('the replacements to be gone', () => replacements.filter((t) => alive(t.pid ?? 0)), (left) => left.length === 0, 15_000, 100);
      for (const t of initial) expect(alive(t.pid ?? 0)).toBe(true);
      console.log(`agent SIGSTOP -> ${cutOff.length} replacement(s) RUNNING in ${replacedSeconds.toFixed(1)} s (default lost timeout)`);
    } catch (error) {
      console.error(dumpLogs());
      throw error;
    }
  });
});
