import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HealthCheckProtocol, type TaskSpec } from '@drover/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTAINER_SANDBOX } from './executor/docker/container-config.js';
import { containersOf, containerTask, describeDocker, removeTestContainers, TEST_IMAGE, TEST_RUN, TEST_RUN_LABEL, testDaemon } from './testing/docker-test-env.js';
import { AgentHarness, forgetHandle, readable } from './testing/agent-harness.js';
import { eventually, type FakeMaster } from './testing/fake-master.js';

const h = new AgentHarness();
afterEach(async () => {
  await h.cleanup();
  await removeTestContainers();
});

function launch(master: FakeMaster, spec: TaskSpec): void {
  master.latest?.send({ $case: 'launch', value: { task: spec } });
}

describeDocker('agent with a Docker daemon', () => {
  it('reports the docker capability, runs a container task to FINISHED, then removes the container', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    await (await h.agent(master, workDir)).registered();
    expect(master.latest?.register?.capabilities).toContain('docker');

    const spec = containerTask('echo hello from a container; sleep 0.2');
    launch(master, spec);
    const finished = await h.reached(master, spec.taskId, 'FINISHED', 15_000);
    expect(h.statuses(master, spec.taskId).map((s) => s.state)).toEqual(['STARTING', 'RUNNING', 'FINISHED']);
    expect(finished).toMatchObject({ reason: 'COMMAND_EXITED', exitCode: 0, message: 'exited with code 0' });
    expect(await fs.readFile(path.join(workDir, 'tasks', spec.taskId, 'stdout'), 'utf8')).toBe('hello from a container\n');
    await eventually(async () => (await containersOf(spec.taskId)).length === 0, 'the container to be removed', 10_000);
  });

  it('fails an OOM-killed container with MEMORY_LIMIT, naming the limit', async () => {
    const master = await h.master();
    await (await h.agent(master, await h.workDir())).registered();
    const spec = containerTask(`x=$(head -c 64000000 /dev/zero | tr "\\0" a)`, {
      resources: { cpus: 0, mem: 16, disk: 0, gpus: 0, ports: [] },
    });
    launch(master, spec);
    expect(await h.reached(master, spec.taskId, 'FAILED', 15_000)).toMatchObject({
      reason: 'MEMORY_LIMIT',
      exitCode: 137,
      message: 'killed: over its 16 MiB memory limit',
    });
  });

  it('runs COMMAND health checks inside the container: HEALTHY once a file in the container exists', async () => {
    const master = await h.master();
    await (await h.agent(master, await h.workDir())).registered();
    // /tmp/up exists only in the container's file system, 300 ms after start.
    const spec = containerTask('sleep 0.3; touch /tmp/up; exec sleep 600', {
      healthChecks: [
        {
          protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_COMMAND,
          command: 'test -f /tmp/up || { echo "not up yet"; exit 1; }',
          path: '',
          gracePeriodSeconds: 10,
          intervalSeconds: 0.1,
          timeoutSeconds: 2,
          maxConsecutiveFailures: 3,
          delaySeconds: 0,
          ignoreHttp1xx: false,
        },
      ],
    });
    launch(master, spec);
    await eventually(
      () => h.statuses(master, spec.taskId).find((s) => s.state === 'RUNNING' && s.health === 'HEALTHY'),
      'a HEALTHY update',
      15_000,
    );
  });

  it('removes the container of an interrupted launch whose container id was never recorded', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    const first = await h.agent(master, workDir);
    await first.registered();
    const spec = containerTask('exec sleep 600');
    launch(master, spec);
    await h.reached(master, spec.taskId, 'RUNNING', 15_000);
    await first.stop();
    await forgetHandle(workDir, spec.taskId);
    expect(await containersOf(spec.taskId)).toHaveLength(1);

    await (await h.agent(master, workDir)).registered();
    expect(await h.reached(master, spec.taskId, 'FAILED')).toMatchObject({ reason: 'LAUNCH_FAILED', message: 'the agent stopped before the task was started' });
    await eventually(async () => (await containersOf(spec.taskId)).length === 0, 'the unrecorded container to be removed', 10_000);
  });

  it("removes containers labelled with its id that no checkpoint knows, and leaves other agents' alone", async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    const first = await h.agent(master, workDir);
    const agentId = await first.registered();
    await first.stop();
    // As a lost work dir or an interrupted launch would leave them: ours, and another agent's.
    const orphan = async (owner: string) => {
      const c = await testDaemon.api.createContainer({
        Image: TEST_IMAGE,
        Cmd: ['sleep', '600'],
        Labels: { 'drover.agent-id': owner, 'drover.task-id': `ghost.${owner}`, [TEST_RUN_LABEL]: TEST_RUN },
      });
      await c.start();
      return c.id;
    };
    const ours = await orphan(agentId);
    const theirs = await orphan('some-other-agent');

    await (await h.agent(master, workDir)).registered();
    const left = (await testDaemon.api.listContainers({ all: true, filters: { label: [`${TEST_RUN_LABEL}=${TEST_RUN}`] } })).map((c) => c.Id);
    expect(left).not.toContain(ours);
    expect(left).toContain(theirs);
  });

  it('refuses a privileged container unless started with --allow-privileged', async () => {
    const master = await h.master();
    await (await h.agent(master, await h.workDir())).registered();
    const spec = containerTask('exit 0', {}, { privileged: true });
    launch(master, spec);
    expect(await h.reached(master, spec.taskId, 'FAILED', 10_000)).toMatchObject({
      reason: 'LAUNCH_FAILED',
      message: 'privileged containers are refused: start the agent with --allow-privileged',
    });
    expect(await containersOf(spec.taskId)).toEqual([]);
  });

  it('re-adopts a running container after a restart and kills it', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    const first = await h.agent(master, workDir);
    await first.registered();
    const spec = containerTask('sleep 60', { killGracePeriodSeconds: 5 });
    launch(master, spec);
    const running = await h.reached(master, spec.taskId, 'RUNNING', 15_000);
    expect(running.pid).toBeGreaterThan(1);
    await first.stop();
    expect((await containersOf(spec.taskId))[0]?.State).toBe('running');

    await (await h.agent(master, workDir)).registered();
    expect(master.latest?.register?.tasks.map(readable)).toEqual([expect.objectContaining({ state: 'RUNNING', uuid: running.uuid })]);
    master.latest?.send({ $case: 'kill', value: { taskId: spec.taskId, gracePeriodSeconds: 0, reason: 0, message: '' } });
    expect(await h.reached(master, spec.taskId, 'KILLED', 15_000)).toMatchObject({
      reason: 'KILL_REQUESTED',
      exitCode: 143,
      message: 'exited with code 143 after SIGTERM',
    });
    await eventually(async () => (await containersOf(spec.taskId)).length === 0, 'the container to be removed', 10_000);
  });

  it('reports the real exit code of a container that ended while the agent was down', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    const first = await h.agent(master, workDir);
    await first.registered();
    const spec = containerTask(`while [ ! -e ${CONTAINER_SANDBOX}/go ]; do sleep 0.05; done; echo bye >&2; exit 5`);
    launch(master, spec);
    await h.reached(master, spec.taskId, 'RUNNING', 15_000);
    await first.stop();
    await fs.writeFile(path.join(workDir, 'tasks', spec.taskId, 'go'), '');
    await eventually(async () => (await containersOf(spec.taskId))[0]?.State === 'exited', 'the container to end', 10_000);

    await (await h.agent(master, workDir)).registered();
    expect(await h.reached(master, spec.taskId, 'FAILED', 15_000)).toMatchObject({
      reason: 'COMMAND_EXITED',
      exitCode: 5,
      message: 'exited with code 5',
      stderrTail: 'bye\n',
    });
    await eventually(async () => (await containersOf(spec.taskId)).length === 0, 'the container to be removed', 10_000);
  });
});

describe('agent without a Docker daemon', () => {
  it('does not report docker, and fails container tasks with CONTAINER_ERROR naming the socket', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    const socket = path.join(workDir, 'no-docker.sock');
    await (await h.agent(master, workDir, { dockerSocket: socket })).registered();
    expect(master.latest?.register?.capabilities).not.toContain('docker');
    expect(master.latest?.register?.capabilities?.length).toBeGreaterThan(0);
    const spec = containerTask('exit 0');
    launch(master, spec);
    expect(await h.reached(master, spec.taskId, 'FAILED')).toMatchObject({
      reason: 'CONTAINER_ERROR',
      message: `no Docker daemon at ${socket}`,
      pid: 0,
    });
    expect(h.statuses(master, spec.taskId).map((s) => s.state)).toEqual(['STARTING', 'FAILED']);
  });
});
