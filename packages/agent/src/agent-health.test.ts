import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HealthCheckProtocol, type TaskSpec } from '@drover/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentHarness, type ReadableStatus, readable } from './testing/agent-harness.js';
import { eventually, type FakeMaster } from './testing/fake-master.js';
import { shellTask } from './testing/task-specs.js';

const h = new AgentHarness();
afterEach(() => h.cleanup());

/** A port nothing listens on right now, for the task to take. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A task serving GET /health on $PORT0: 200 until a file named "unhealthy"
 * appears in its sandbox, 500 after. Checked every 100 ms, failed after 3.
 */
async function servingTask(): Promise<TaskSpec> {
  const server =
    'require("http").createServer((q, r) => { r.writeHead(require("fs").existsSync("unhealthy") ? 500 : 200); r.end(); })' +
    '.listen(Number(process.env.PORT0), "127.0.0.1")';
  return shellTask(`exec "${process.execPath}" -e '${server}'`, {
    ports: [{ number: await freePort(), name: 'http', protocol: 'tcp' }],
    healthChecks: [
      {
        protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP,
        path: '/health',
        portIndex: 0,
        command: '',
        // Connection refused while node starts must not count: the grace period covers it.
        gracePeriodSeconds: 10,
        intervalSeconds: 0.1,
        timeoutSeconds: 1,
        maxConsecutiveFailures: 3,
        delaySeconds: 0,
        ignoreHttp1xx: false,
      },
    ],
  });
}

/** The RUNNING statuses of a task (state changes and health updates). */
function running(master: FakeMaster, taskId: string): ReadableStatus[] {
  return h.statuses(master, taskId).filter((s) => s.state === 'RUNNING');
}

async function healthUpdate(master: FakeMaster, taskId: string, match: (s: ReadableStatus) => boolean, what: string) {
  return eventually(() => running(master, taskId).find(match), what, 8000);
}

describe('agent health checks', () => {
  it('reports health transitions as RUNNING updates, and the last health on KILLING and KILLED', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    await (await h.agent(master, workDir)).registered();
    const spec = await servingTask();
    master.latest?.send({ $case: 'launch', value: { task: spec } });

    const started = await h.reached(master, spec.taskId, 'RUNNING');
    expect(started).toMatchObject({ health: 'UNKNOWN', healthFailures: 0, healthFailed: false, message: `running as pid ${started.pid}` });
    expect(h.statuses(master, spec.taskId)[0]).toMatchObject({ state: 'STARTING', health: 'UNKNOWN' });

    const healthy = await healthUpdate(master, spec.taskId, (s) => s.health === 'HEALTHY', 'a HEALTHY update');
    expect(healthy).toMatchObject({
      state: 'RUNNING',
      pid: started.pid,
      health: 'HEALTHY',
      healthFailures: 0,
      healthFailed: false,
      healthMessage: '',
      message: 'healthy: every health check passes',
    });
    expect(healthy.uuid).not.toBe(started.uuid);
    // Acked like any update: the journal empties.
    await eventually(async () => (await fs.readdir(path.join(workDir, 'status'))).length === 0, 'the journal to empty');

    await fs.writeFile(path.join(workDir, 'tasks', spec.taskId, 'unhealthy'), '');
    const failing = { healthMessage: 'HTTP 500 from /health', state: 'RUNNING', pid: started.pid };
    expect(await healthUpdate(master, spec.taskId, (s) => s.health === 'UNHEALTHY', 'an UNHEALTHY update')).toMatchObject({
      ...failing,
      health: 'UNHEALTHY',
      healthFailures: 1,
      healthFailed: false,
      message: 'unhealthy: HTTP 500 from /health',
    });
    expect(await healthUpdate(master, spec.taskId, (s) => s.healthFailed, 'health_failed')).toMatchObject({
      ...failing,
      health: 'UNHEALTHY',
      healthFailures: 3,
      message: 'unhealthy, 3 failures in a row: HTTP 500 from /health',
    });

    // The failures go on, but nothing changes: no more updates.
    await new Promise((r) => setTimeout(r, 400));
    const updates = running(master, spec.taskId).map((s) => [s.health, s.healthFailures, s.healthFailed]);
    expect(updates).toEqual([
      ['UNKNOWN', 0, false],
      ['HEALTHY', 0, false],
      ['UNHEALTHY', 1, false],
      ['UNHEALTHY', 3, true],
    ]);
    // The agent does not kill for it: the master decides.
    expect(() => process.kill(started.pid, 0)).not.toThrow();

    master.latest?.send({ $case: 'kill', value: { taskId: spec.taskId, gracePeriodSeconds: 0, reason: 0, message: '' } });
    const killed = await h.reached(master, spec.taskId, 'KILLED');
    const killing = h.statuses(master, spec.taskId).find((s) => s.state === 'KILLING');
    for (const last of [killing, killed]) {
      expect(last).toMatchObject({ health: 'UNHEALTHY', healthFailed: true, healthMessage: 'HTTP 500 from /health' });
      expect(last?.healthFailures).toBeGreaterThanOrEqual(3);
    }
    expect(h.statuses(master, spec.taskId).at(-1)?.state).toBe('KILLED');
  });

  it('resends unacked health updates after a reconnect, in order, and lists the health in Register', async () => {
    const master = await h.master({ autoAck: false });
    await (await h.agent(master, await h.workDir())).registered();
    const spec = await servingTask();
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    const healthy = await healthUpdate(master, spec.taskId, (s) => s.health === 'HEALTHY', 'a HEALTHY update');
    const first = master.connections[0]?.statuses.map((s) => s.uuid) ?? [];
    expect(first).toHaveLength(3);
    expect(first.at(-1)).toBe(healthy.uuid);

    master.latest?.end();
    const second = await eventually(() => master.connections[1], 'a second connection');
    await eventually(() => second.statuses.length >= 3, 'the resent statuses');
    expect(second.statuses.map((s) => s.uuid)).toEqual(first);
    expect(second.register?.tasks.map((s) => s.uuid)).toEqual([healthy.uuid]);
  });

  it('restarts the checks of a re-adopted task and reports their first result again', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    const first = await h.agent(master, workDir);
    await first.registered();
    const spec = await servingTask();
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    const healthy = await healthUpdate(master, spec.taskId, (s) => s.health === 'HEALTHY', 'a HEALTHY update');
    await first.stop();

    // Everything the first agent said of the task (a check may have reported
    // again between the HEALTHY update and the stop).
    const said = new Set(h.statuses(master, spec.taskId).map((s) => s.uuid));

    await (await h.agent(master, workDir)).registered();
    // Register says what was last known: healthy, as the first agent said...
    const registered = master.latest?.register?.tasks ?? [];
    expect(registered).toHaveLength(1);
    expect(said.has(registered[0]?.uuid ?? '')).toBe(true);
    expect(readable(registered[0] as NonNullable<(typeof registered)[0]>)).toMatchObject({ state: 'RUNNING', health: 'HEALTHY', pid: healthy.pid });
    // ...and the restarted checks report their first result as a new update.
    const isNew = (s: { taskId: string; uuid: string }) => s.taskId === spec.taskId && !said.has(s.uuid);
    const again = await eventually(() => master.latest?.statuses.find(isNew), 'a new health update', 8000);
    expect(readable(again)).toMatchObject({ state: 'RUNNING', health: 'HEALTHY', healthFailures: 0, pid: healthy.pid });
    // Only that one: passes that change nothing are not reported. (It may
    // arrive twice: updates are at-least-once, and one made while the agent
    // was registering is both sent and resent with the unacked ones.)
    await new Promise((r) => setTimeout(r, 300));
    const fresh = master.latest?.statuses.filter(isNew) ?? [];
    expect([...new Set(fresh.map((s) => s.uuid))]).toEqual([again.uuid]);
  });

  it('leaves health unset for a task without health checks', async () => {
    const master = await h.master();
    await (await h.agent(master, await h.workDir())).registered();
    const spec = shellTask('exit 0');
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    await h.reached(master, spec.taskId, 'FINISHED');
    for (const s of h.statuses(master, spec.taskId)) {
      expect(s).toMatchObject({ health: undefined, healthFailures: 0, healthFailed: false, healthMessage: '' });
    }
  });
});
