import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DROVER_VERSION } from '@drover/common';
import { type TaskSpec, TaskReason } from '@drover/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentHarness } from './testing/agent-harness.js';
import { eventually, type FakeMaster } from './testing/fake-master.js';
import { shellTask } from './testing/task-specs.js';

const h = new AgentHarness();
afterEach(() => h.cleanup());

function launch(master: FakeMaster, spec: TaskSpec): void {
  master.latest?.send({ $case: 'launch', value: { task: spec } });
}

/** Pings and waits for the pong: everything the agent received before has been handled. */
async function roundTrip(master: FakeMaster, nonce: number): Promise<void> {
  master.latest?.send({ $case: 'ping', value: { nonce } });
  await eventually(
    () => master.latest?.messages.some((m) => m.message?.$case === 'pong' && m.message.value.nonce === nonce),
    `pong ${nonce}`,
  );
}

describe('agent session', () => {
  it('registers with its resources, attributes and hostname, and keeps its id across reconnects', async () => {
    const master = await h.master({ epoch: 3 });
    const workDir = await h.workDir();
    const agent = await h.agent(master, workDir);
    const id = await agent.registered();
    expect(id).toBe(master.assignedId);
    expect(agent.id).toBe(id);
    expect(master.connections[0]?.register).toEqual({
      agentId: '',
      hostname: 'node-1.test',
      address: '10.0.0.1',
      resources: { cpus: 4, mem: 2048, disk: 4096, gpus: 0, ports: [{ begin: 31000, end: 32000 }] },
      attributes: { rack: 'r1' },
      tasks: [],
      taskSpecs: [],
      version: DROVER_VERSION,
      epoch: 0,
      capabilities: expect.arrayContaining([expect.stringMatching(/^isolation:(cgroups-v1|cgroups-v2|none)$/)]),
      agentSecret: '',
      // Whatever else on this machine listens in 31000-32000 (see 'host ports in use').
      portsInUse: expect.any(Array),
      // The kernel's: the same for every Register until the machine restarts.
      bootId: (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim(),
    });
    const idFile = path.join(workDir, 'agent-id.json');
    expect(JSON.parse(await fs.readFile(idFile, 'utf8'))).toEqual({ agentId: id, secret: master.issuedSecret });
    expect((await fs.stat(idFile)).mode & 0o777).toBe(0o600);

    master.latest?.end();
    const second = await eventually(() => master.connections[1]?.register, 'a second Register');
    expect(second).toMatchObject({ agentId: id, epoch: 3, agentSecret: master.issuedSecret, bootId: master.connections[0]?.register?.bootId });
  });

  it('proves itself with its secret after a restart, and keys a work dir from before secrets existed', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    const idFile = path.join(workDir, 'agent-id.json');
    await fs.writeFile(idFile, JSON.stringify({ agentId: 'agent-from-before' }));
    const first = await h.agent(master, workDir);
    expect(await first.registered()).toBe('agent-from-before');
    expect(master.connections[0]?.register).toMatchObject({ agentId: 'agent-from-before', agentSecret: '' });
    expect(JSON.parse(await fs.readFile(idFile, 'utf8'))).toEqual({ agentId: 'agent-from-before', secret: master.issuedSecret });
    await first.stop();

    await (await h.agent(master, workDir)).registered();
    expect(master.connections[1]?.register).toMatchObject({ agentId: 'agent-from-before', agentSecret: master.issuedSecret });
  });

  it.each([
    {
      name: 'exit 0',
      spec: () => shellTask('exit 0'),
      states: ['STARTING', 'RUNNING', 'FINISHED'],
      last: { reason: 'COMMAND_EXITED', exitCode: 0, message: 'exited with code 0' },
    },
    {
      name: 'exit 3, with its last words',
      spec: () => shellTask('echo boom >&2; exit 3'),
      states: ['STARTING', 'RUNNING', 'FAILED'],
      last: { reason: 'COMMAND_EXITED', exitCode: 3, message: 'exited with code 3', stderrTail: 'boom\n' },
    },
    {
      name: 'an unrequested signal',
      spec: () => shellTask('kill -KILL $$'),
      states: ['STARTING', 'RUNNING', 'FAILED'],
      last: { reason: 'SIGNALED', signal: 'SIGKILL', message: 'killed by SIGKILL' },
    },
    {
      name: 'a missing program',
      spec: () => shellTask('', { args: ['/nope'] }),
      states: ['STARTING', 'FAILED'],
      last: { reason: 'LAUNCH_FAILED', message: 'spawn /nope ENOENT', pid: 0 },
    },
  ])('launches a task that ends: $name', async ({ spec: makeSpec, states, last }) => {
    const master = await h.master();
    await (await h.agent(master, await h.workDir())).registered();
    const spec = makeSpec();
    launch(master, spec);
    await h.reached(master, spec.taskId, states.at(-1) as 'FAILED');
    const seen = h.statuses(master, spec.taskId);
    expect(seen.map((s) => s.state)).toEqual(states);
    expect(seen.at(-1)).toMatchObject(last);
    expect(new Set(seen.map((s) => s.uuid)).size).toBe(seen.length);
    for (const s of master.statuses) expect(s.timestamp).toBeInstanceOf(Date);
    for (const s of seen) expect(s.message).not.toBe('');
  });

  it('reports RUNNING with the pid, does not launch a known task twice, and kills on request', async () => {
    const master = await h.master();
    await (await h.agent(master, await h.workDir())).registered();
    const spec = shellTask('sleep 60', { killGracePeriodSeconds: 5 });
    launch(master, spec);
    const running = await h.reached(master, spec.taskId, 'RUNNING');
    expect(running.pid).toBeGreaterThan(1);
    expect(running.message).toBe(`running as pid ${running.pid}`);
    process.kill(running.pid, 0);

    launch(master, spec);
    await eventually(() => h.statuses(master, spec.taskId).filter((s) => s.uuid === running.uuid).length === 2, 'the resent RUNNING');
    expect(h.statuses(master, spec.taskId).map((s) => s.state)).toEqual(['STARTING', 'RUNNING', 'RUNNING']);

    master.latest?.send({
      $case: 'kill',
      value: { taskId: spec.taskId, gracePeriodSeconds: 0, reason: TaskReason.TASK_REASON_ORPHANED, message: 'app deleted' },
    });
    const killed = await h.reached(master, spec.taskId, 'KILLED');
    expect(killed).toMatchObject({ reason: 'ORPHANED', signal: 'SIGTERM', message: 'app deleted (killed by SIGTERM)' });
    expect(h.statuses(master, spec.taskId).map((s) => s.state)).toEqual(['STARTING', 'RUNNING', 'RUNNING', 'KILLING', 'KILLED']);
    expect(() => process.kill(running.pid, 0)).toThrow();
  });

  it('answers a kill of an unknown task with KILLED/UNKNOWN_TO_AGENT', async () => {
    const master = await h.master();
    await (await h.agent(master, await h.workDir())).registered();
    master.latest?.send({ $case: 'kill', value: { taskId: 'ghost.1', gracePeriodSeconds: 0, reason: 0, message: '' } });
    expect(await h.reached(master, 'ghost.1', 'KILLED')).toMatchObject({
      reason: 'UNKNOWN_TO_AGENT',
      message: 'agent does not know this task',
    });
  });

  it('resends unacked updates after a reconnect, in order, and stops once they are acked', async () => {
    const master = await h.master({ autoAck: false });
    const workDir = await h.workDir();
    await (await h.agent(master, workDir)).registered();
    const spec = shellTask('exit 3');
    launch(master, spec);
    await h.reached(master, spec.taskId, 'FAILED');
    const first = master.connections[0]?.statuses.map((s) => s.uuid) ?? [];
    expect(first).toHaveLength(3);

    master.latest?.end();
    const second = await eventually(() => master.connections[1], 'a second connection');
    await eventually(() => second.statuses.length === 3, 'three resent statuses');
    expect(second.statuses.map((s) => s.uuid)).toEqual(first);
    expect(second.register?.tasks.map((s) => s.uuid)).toEqual([first[2]]);

    for (const s of second.statuses) second.send({ $case: 'ack', value: { uuid: s.uuid, taskId: s.taskId } });
    await eventually(async () => (await fs.readdir(path.join(workDir, 'status'))).length === 0, 'the journal to empty');
    const sandbox = path.join(workDir, 'tasks', spec.taskId);
    await eventually(async () => !(await fs.readdir(sandbox)).includes('.drover-task.json'), 'the checkpoint to go');
    expect((await fs.readdir(sandbox)).sort()).toEqual(['stderr', 'stdout']);

    second.end();
    const third = await eventually(() => master.connections[2], 'a third connection');
    await eventually(() => third.register, 'the third Register');
    expect(third.register?.tasks).toEqual([]);
    await roundTrip(master, 7);
    expect(third.statuses).toEqual([]);
  });

  it('refuses a message with a lower epoch and drops the session', async () => {
    const master = await h.master({ epoch: 5 });
    const workDir = await h.workDir();
    await (await h.agent(master, workDir)).registered();
    const spec = shellTask('sleep 60');
    master.latest?.send({ $case: 'launch', value: { task: spec } }, 4);
    const second = await eventually(() => master.connections[1]?.register, 'a reconnect');
    expect(second.epoch).toBe(5);
    await roundTrip(master, 1);
    expect(h.statuses(master, spec.taskId)).toEqual([]);
    await expect(fs.stat(path.join(workDir, 'tasks', spec.taskId))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(JSON.parse(await fs.readFile(path.join(workDir, 'epoch.json'), 'utf8'))).toEqual({ epoch: 5 });
  });

  it('answers Ping with a Pong carrying the same nonce', async () => {
    const master = await h.master();
    await (await h.agent(master, await h.workDir())).registered();
    await roundTrip(master, 123456789);
  });

  it('follows NotLeader to the leader, also from a standby with an older epoch', async () => {
    const leader = await h.master({ epoch: 5 });
    const standby = await h.master({ epoch: 0, notLeader: leader.address });
    const agent = await h.agent(standby, await h.workDir());
    expect(await agent.registered()).toBe(leader.assignedId);
    expect(standby.connections[0]?.register?.agentId).toBe('');
    expect(leader.connections[0]?.register?.agentId).toBe('');

    // Losing the leader sends the agent back to the configured standby, which redirects again.
    leader.latest?.end();
    const again = await eventually(() => leader.connections[1]?.register, 'a second Register at the leader');
    expect(again).toMatchObject({ agentId: leader.assignedId, epoch: 5 });
    expect(standby.connections[1]?.register?.epoch).toBe(5);
  });

  it('reconnects when the master goes silent for three heartbeat intervals', async () => {
    const master = await h.master({ heartbeatIntervalMs: 50 });
    await (await h.agent(master, await h.workDir())).registered();
    const started = Date.now();
    await eventually(() => master.connections[1]?.register, 'a reconnect after silence');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('a heartbeat interval too long for a timer (uint32 max ms) keeps the stream, without a TimeoutOverflowWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const master = await h.master({ heartbeatIntervalMs: 4_294_967_295 });
      await (await h.agent(master, await h.workDir())).registered();
      await new Promise((r) => setTimeout(r, 200));
      expect(master.connections).toHaveLength(1);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('reports machine usage periodically', async () => {
    const master = await h.master();
    await (await h.agent(master, await h.workDir(), { usageIntervalMs: 50 })).registered();
    const usage = await eventually(
      () => master.latest?.messages.flatMap((m) => (m.message?.$case === 'usage' ? [m.message.value] : []))[0],
      'a usage report',
    );
    expect(usage.memTotal).toBeGreaterThan(0);
    expect(usage.tasksRunning).toBe(0);
  });
});

describe('host ports in use', () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  /** A listener of another process's kind: the agent knows nothing of it. */
  async function listen(port = 0): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '0.0.0.0', () => resolve()));
    servers.push(server);
    return (server.address() as net.AddressInfo).port;
  }

  /** A port nobody listens on right now (the kernel's pick; other suites may run on this machine). */
  async function unusedPort(): Promise<number> {
    const port = await listen();
    const server = servers.pop() as net.Server;
    await new Promise((r) => server.close(r));
    return port;
  }

  function usages(master: FakeMaster) {
    return master.latest?.messages.flatMap((m) => (m.message?.$case === 'usage' ? [m.message.value] : [])) ?? [];
  }

  it('reports offered ports that other processes listen on, at registration and as they come and go', async () => {
    const early = await listen();
    const late = await unusedPort();
    const master = await h.master();
    const ports = [
      { begin: early, end: early },
      { begin: late, end: late },
    ].sort((a, b) => a.begin - b.begin);
    await (await h.agent(master, await h.workDir(), { resources: { cpus: 1, mem: 512, disk: 512, ports }, usageIntervalMs: 50 })).registered();
    const register = master.connections[0]?.register;
    // The offer itself is unchanged; what is in use right now is said beside it.
    expect(register?.resources?.ports).toEqual(ports);
    expect(register?.portsInUse).toEqual([{ begin: early, end: early }]);

    await listen(late);
    await eventually(() => usages(master).some((u) => u.portsInUse.some((r) => r.begin === late)), `a usage report with port ${late}`);
    await new Promise((r) => (servers.shift() as net.Server).close(r));
    const after = await eventually(() => usages(master).find((u) => !u.portsInUse.some((r) => r.begin === early)), `a usage report without port ${early}`);
    expect(after.portsInUse).toEqual([{ begin: late, end: late }]);
  });

  it('reports the ports at once when a task ends, not at the next sample', async () => {
    const master = await h.master();
    await (await h.agent(master, await h.workDir(), { usageIntervalMs: 60_000 })).registered();
    const spec = shellTask('exit 1');
    launch(master, spec);
    await h.reached(master, spec.taskId, 'FAILED');
    await eventually(() => usages(master)[0], 'a usage report after the task failed');
  });
});
