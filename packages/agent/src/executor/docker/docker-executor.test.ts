import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { DockerNetwork, type TaskSpec } from '@drover/proto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox, sandboxFor } from '../../sandbox/sandbox.js';
import {
  containersOf,
  containerTask,
  describeDocker,
  removeTestContainers,
  TEST_IMAGE,
  TEST_RUN,
  TEST_RUN_LABEL,
  testDaemon,
  UNPULLABLE_IMAGE,
} from '../../testing/docker-test-env.js';
import { eventually } from '../../testing/fake-master.js';
import { shellTask } from '../../testing/task-specs.js';
import { LaunchError, type TaskHandle } from '../executor.js';
import { CONTAINER_SANDBOX } from './container-config.js';
import { DockerDaemon } from './docker-daemon.js';
import { DockerExecutor, type DockerExecutorOptions } from './docker-executor.js';

let workDir: string;
const executors: DockerExecutor[] = [];

function executor(options: Partial<DockerExecutorOptions> = {}): DockerExecutor {
  const e = new DockerExecutor({ logger: silentLogger(), daemon: testDaemon, retryDelayMs: 100, agentId: () => 'agent-7', ...options });
  executors.push(e);
  return e;
}

async function sandbox(spec: TaskSpec): Promise<Sandbox> {
  const s = sandboxFor(path.join(workDir, 'tasks'), spec.taskId);
  await createSandbox(s);
  return s;
}

async function launch(e: DockerExecutor, spec: TaskSpec): Promise<{ handle: TaskHandle; sandbox: Sandbox }> {
  const s = await sandbox(spec);
  return { handle: await e.launch({ spec, sandbox: s, host: 'node-1.test' }), sandbox: s };
}

async function launchError(e: DockerExecutor, spec: TaskSpec): Promise<LaunchError> {
  const s = await sandbox(spec);
  const error = await e.launch({ spec, sandbox: s, host: 'node-1.test' }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(LaunchError);
  return error as LaunchError;
}

async function inspect(handle: TaskHandle) {
  return testDaemon.api.getContainer(String(handle.details.containerId)).inspect();
}

/** A host port nobody uses right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeEach(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-docker-'));
});

afterEach(async () => {
  for (const e of executors.splice(0)) e.close();
  await removeTestContainers();
  await fs.rm(workDir, { recursive: true, force: true });
});

describe('docker executor without a daemon', () => {
  it('fails a launch with CONTAINER_ERROR naming the socket', async () => {
    const e = executor({ daemon: new DockerDaemon(path.join(os.tmpdir(), 'no-such-dir', 'docker.sock')) });
    const error = await launchError(e, containerTask('exit 0'));
    expect(error.reason).toBe('CONTAINER_ERROR');
    expect(error.rawMessage).toBe(`no Docker daemon at ${path.join(os.tmpdir(), 'no-such-dir', 'docker.sock')}`);
  });

  it('keeps watching the containers it cannot look for, rather than calling them gone', async () => {
    const e = executor({ daemon: new DockerDaemon('/nonexistent/docker.sock') });
    const known: TaskHandle = { taskId: 'a.1', executor: 'docker', pid: 0, details: { containerId: 'c0ffee' } };
    const unknown: TaskHandle = { taskId: 'b.1', executor: 'docker', pid: 0, details: {} };
    expect(await e.recover([known, unknown])).toEqual(new Set(['a.1']));
    let settled = false;
    void e.wait('a.1').finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
  });

  it.each([
    {
      name: 'privileged',
      spec: () => containerTask('exit 0', {}, { privileged: true }),
      message: 'privileged containers are refused: start the agent with --allow-privileged',
    },
    {
      name: 'a host volume',
      spec: () => containerTask('exit 0', { container: { type: 1, volumes: [{ containerPath: '/data', hostPath: '/etc', mode: 'RO' }] } }),
      message: 'host volume /etc is refused: start the agent with --allow-host-volumes',
    },
  ])('refuses $name unless allowed, before asking the daemon (LAUNCH_FAILED)', async ({ spec, message }) => {
    const e = executor({ daemon: new DockerDaemon('/nonexistent/docker.sock') });
    const error = await launchError(e, spec());
    expect(error.reason).toBe('LAUNCH_FAILED');
    expect(error.rawMessage).toBe(message);
  });
});

describeDocker('docker executor', () => {
  it('runs cmd through the shell with the task environment, limits and labels, and copies its output into the sandbox', async () => {
    const e = executor();
    const spec = containerTask('env; echo to-stderr >&2; echo second line; exit 3', {
      appId: '/shop/web',
      env: { FROM_APP: 'yes', PORT0: 'app-must-not-win' },
      labels: { team: 'shop' },
      ports: [{ number: 31005, name: 'http', protocol: 'tcp' }],
      resources: { cpus: 0.5, mem: 64, disk: 0, gpus: 0, ports: [] },
    });
    const { handle, sandbox: s } = await launch(e, spec);
    expect(handle).toMatchObject({ taskId: spec.taskId, executor: 'docker', details: { sandboxDir: s.dir } });
    // The host pid of docker-init, or 0 when the container already ended by the inspect.
    expect(handle.pid).toBeGreaterThanOrEqual(0);
    expect(await e.wait(spec.taskId)).toEqual({ kind: 'exited', exitCode: 3 });

    const stdout = await fs.readFile(s.stdoutPath, 'utf8');
    const env = Object.fromEntries(
      stdout
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      DROVER_TASK_ID: spec.taskId,
      DROVER_APP_ID: '/shop/web',
      DROVER_SANDBOX: CONTAINER_SANDBOX,
      HOST: 'node-1.test',
      PORT0: '31005',
      PORT_HTTP: '31005',
      FROM_APP: 'yes',
      PATH: '/bin',
    });
    expect(stdout.endsWith('second line\n')).toBe(true);
    expect(await fs.readFile(s.stderrPath, 'utf8')).toBe('to-stderr\n');

    const info = await inspect(handle);
    expect(info.Name).toBe(`/drover-${spec.taskId}`);
    expect(info.Config.Labels).toMatchObject({
      'drover.task-id': spec.taskId,
      'drover.app-id': '/shop/web',
      'drover.agent-id': 'agent-7',
      team: 'shop',
    });
    expect(info.HostConfig).toMatchObject({
      Memory: 64 * 1024 * 1024,
      MemorySwap: 64 * 1024 * 1024,
      CpuShares: 512,
      CpuPeriod: 100_000,
      CpuQuota: 50_000,
      NetworkMode: 'host',
    });
    // Kept as the record of the exit until the end is recorded.
    expect(info.State).toMatchObject({ Running: false, ExitCode: 3 });
    await e.remove(handle);
    expect(await containersOf(spec.taskId)).toEqual([]);
  });

  it.each([
    { name: 'args without a shell', extra: { args: ['echo', 'a  b', '$HOME'] }, stdout: 'a  b $HOME\n' },
    { name: "neither: the image's default command", extra: {}, stdout: '' },
  ])('runs $name', async ({ extra, stdout }) => {
    const e = executor();
    const spec = containerTask('', extra);
    const { sandbox: s } = await launch(e, spec);
    expect(await e.wait(spec.taskId)).toEqual({ kind: 'exited', exitCode: 0 });
    expect(await fs.readFile(s.stdoutPath, 'utf8')).toBe(stdout);
  });

  it('applies docker parameters it knows and refuses the others, naming them', async () => {
    const e = executor();
    const spec = containerTask('id -un; pwd; echo $FROM_PARAM', {}, {
      parameters: [
        { key: 'label', value: 'extra=1' },
        { key: 'env', value: 'FROM_PARAM=p' },
        { key: 'user', value: 'nobody' },
        { key: 'workdir', value: '/tmp' },
      ],
    });
    const { handle, sandbox: s } = await launch(e, spec);
    await e.wait(spec.taskId);
    expect(await fs.readFile(s.stdoutPath, 'utf8')).toBe('nobody\n/tmp\np\n');
    expect((await inspect(handle)).Config.Labels).toMatchObject({ extra: '1' });

    const refused = await launchError(e, containerTask('exit 0', {}, { parameters: [{ key: 'net', value: 'none' }] }));
    expect(refused.reason).toBe('LAUNCH_FAILED');
    expect(refused.rawMessage).toMatch(/^docker parameter "net" is not supported \(supported: add-host, cap-add, .*\)$/);
  });

  it('stops a container that traps SIGTERM politely, and reports the exit code it chose', async () => {
    const e = executor();
    const spec = containerTask('trap "echo got TERM; exit 0" TERM; echo ready; while true; do sleep 0.05; done');
    const { sandbox: s } = await launch(e, spec);
    await eventually(async () => (await fs.readFile(s.stdoutPath, 'utf8')).includes('ready'), 'ready', 10_000);
    const started = Date.now();
    expect(await e.kill(spec.taskId, 5000)).toEqual({ kind: 'exited', exitCode: 0 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await fs.readFile(s.stdoutPath, 'utf8')).toBe('ready\ngot TERM\n');
  });

  it('runs commands inside the running container for COMMAND health checks, with exit code and merged output', async () => {
    const e = executor();
    const spec = containerTask('echo ready > /tmp/inside-only; exec sleep 600');
    await launch(e, spec);
    const run = e.commandRunner(spec.taskId);
    expect(run).toBeDefined();
    const never = new AbortController().signal;
    // The file is in the container's own /tmp: a command run on the host would not find it.
    await eventually(async () => (await run!('test -f /tmp/inside-only', never)).exitCode === 0, 'the marker file', 10_000);
    expect(await run!('cat /tmp/inside-only; echo "$DROVER_TASK_ID"', never)).toEqual({ exitCode: 0, output: `ready\n${spec.taskId}\n` });
    expect(await run!('echo out; echo err >&2; exit 3', never)).toEqual({ exitCode: 3, output: 'out\nerr\n' });

    const giveUp = new AbortController();
    const started = Date.now();
    const hanging = run!('sleep 30', giveUp.signal);
    setTimeout(() => giveUp.abort(), 200);
    await expect(hanging).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);

    expect(e.commandRunner('no-such-task')).toBeUndefined();
    await e.kill(spec.taskId, 0);
    await expect(run!('true', never)).rejects.toThrow(`task ${spec.taskId} is not running`);
  });

  it('reports an OOM kill', async () => {
    const e = executor();
    const spec = containerTask(`x=$(head -c 64000000 /dev/zero | tr "\\0" a); echo survived`, {
      resources: { cpus: 0, mem: 16, disk: 0, gpus: 0, ports: [] },
    });
    const { sandbox: s } = await launch(e, spec);
    expect(await e.wait(spec.taskId)).toMatchObject({ kind: 'exited', oom: true });
    expect(await fs.readFile(s.stdoutPath, 'utf8')).toBe('');
  });

  it('publishes BRIDGE port mappings on the assigned host ports (containerPort 0 = the host port)', async () => {
    const e = executor();
    const [first, second] = [await freePort(), await freePort()];
    const spec = containerTask(
      `echo "hello from $PORT0/$PORT_ADMIN" > ${CONTAINER_SANDBOX}/index.html; httpd -p 8080 -h ${CONTAINER_SANDBOX}; exec httpd -f -p $PORT1 -h ${CONTAINER_SANDBOX}`,
      {
        ports: [
          { number: first, name: 'web', protocol: 'tcp' },
          { number: second, name: 'admin', protocol: 'tcp' },
        ],
      },
      {
        network: DockerNetwork.DOCKER_NETWORK_BRIDGE,
        portMappings: [
          { containerPort: 8080, hostPort: 0, protocol: 'tcp', name: 'web', labels: {}, servicePort: 0 },
          { containerPort: 0, hostPort: 0, protocol: 'tcp', name: 'admin', labels: {}, servicePort: 0 },
        ],
      },
    );
    const { handle } = await launch(e, spec);
    const body = (port: number) =>
      eventually(
        async () => {
          const answer = await fetch(`http://127.0.0.1:${port}/index.html`).catch(() => undefined);
          return answer?.ok === true ? answer.text() : undefined;
        },
        `an answer on ${port}`,
        10_000,
      );
    expect(await body(first)).toBe(`hello from ${first}/${second}\n`);
    expect(await body(second)).toBe(`hello from ${first}/${second}\n`);
    const info = await inspect(handle);
    expect(info.HostConfig.NetworkMode).toBe('bridge');
    expect(info.HostConfig.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '', HostPort: String(first) }],
      [`${second}/tcp`]: [{ HostIp: '', HostPort: String(second) }],
    });
    expect(info.NetworkSettings.Networks.bridge?.IPAddress).toMatch(/^198\.19\./);
    await e.kill(spec.taskId, 1000);
  });

  it('mounts sandbox-relative volumes, and host volumes when the agent allows them', async () => {
    const hostDir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-host-volume-'));
    try {
      const e = executor({ policy: { allowHostVolumes: true } });
      const spec = containerTask('echo in-sandbox > /data/a; echo on-host > /host/b; cat /ro/c; echo x > /ro/d || echo read-only >&2', {
        container: {
          type: 1,
          volumes: [
            { containerPath: '/data', hostPath: 'data', mode: 'RW' },
            { containerPath: '/host', hostPath: hostDir, mode: 'RW' },
            { containerPath: '/ro', hostPath: 'ro', mode: 'RO' },
          ],
        },
      });
      const s = await sandbox(spec);
      await fs.mkdir(path.join(s.dir, 'ro'));
      await fs.writeFile(path.join(s.dir, 'ro', 'c'), 'from the sandbox\n');
      await e.launch({ spec, sandbox: s, host: 'h' });
      expect(await e.wait(spec.taskId)).toEqual({ kind: 'exited', exitCode: 0 });
      expect(await fs.readFile(path.join(s.dir, 'data', 'a'), 'utf8')).toBe('in-sandbox\n');
      expect(await fs.readFile(path.join(hostDir, 'b'), 'utf8')).toBe('on-host\n');
      expect(await fs.readFile(s.stdoutPath, 'utf8')).toBe('from the sandbox\n');
      expect(await fs.readFile(s.stderrPath, 'utf8')).toContain('read-only');
    } finally {
      await fs.rm(hostDir, { recursive: true, force: true });
    }
  });

  describe('images', () => {
    const local = '127.0.0.1:1/drover-test/busybox:latest';
    beforeAll(async () => {
      await testDaemon.api.getImage(TEST_IMAGE).tag({ repo: '127.0.0.1:1/drover-test/busybox', tag: 'latest' });
    });
    afterAll(async () => {
      await testDaemon.api.getImage(local).remove().catch(() => undefined);
    });

    it.each([
      { name: 'a missing image that cannot be pulled', image: UNPULLABLE_IMAGE, force: false },
      { name: 'a present image whose forced pull fails', image: local, force: true },
    ])('fails with CONTAINER_ERROR and the daemon\'s words: $name', async ({ image, force }) => {
      const e = executor();
      const spec = containerTask('exit 0', {}, { image, forcePullImage: force });
      const error = await launchError(e, spec);
      expect(error.reason).toBe('CONTAINER_ERROR');
      expect(error.rawMessage).toMatch(new RegExp(`^cannot pull image ${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*127\\.0\\.0\\.1:1`));
      expect(await containersOf(spec.taskId)).toEqual([]);
    });

    it('runs a present image without pulling it', async () => {
      const e = executor();
      const spec = containerTask('exit 0', {}, { image: local });
      await launch(e, spec);
      expect(await e.wait(spec.taskId)).toEqual({ kind: 'exited', exitCode: 0 });
    });
  });

  it('fails a container the daemon cannot start with CONTAINER_ERROR, leaving no container', async () => {
    const e = executor();
    const spec = containerTask('exit 0', {}, { parameters: [{ key: 'user', value: 'no-such-user' }] });
    const error = await launchError(e, spec);
    expect(error.reason).toBe('CONTAINER_ERROR');
    expect(error.rawMessage).toMatch(/^cannot start the container: .*no-such-user/);
    expect(await containersOf(spec.taskId)).toEqual([]);
  });

  it('after a restart, re-adopts a running container by its label and still copies its output, without repeats', async () => {
    const first = executor();
    const spec = containerTask(
      `echo before; while [ ! -e ${CONTAINER_SANDBOX}/go ]; do sleep 0.05; done; echo after; echo late >&2; sleep 60`,
    );
    const { handle, sandbox: s } = await launch(first, spec);
    await eventually(async () => (await fs.readFile(s.stdoutPath, 'utf8')) === 'before\n', 'before', 10_000);
    first.close();
    await fs.writeFile(path.join(s.dir, 'go'), '');

    const second = executor();
    // The handle lost its container id: the label finds it.
    const { containerId: _, ...details } = handle.details;
    expect(await second.recover([{ ...handle, details }])).toEqual(new Set([spec.taskId]));
    await eventually(async () => (await fs.readFile(s.stdoutPath, 'utf8')) === 'before\nafter\n', 'after', 10_000);
    const exit = await second.kill(spec.taskId, 10_000);
    expect(exit).toEqual({ kind: 'exited', exitCode: 143 });
    expect(await fs.readFile(s.stdoutPath, 'utf8')).toBe('before\nafter\n');
    expect(await fs.readFile(s.stderrPath, 'utf8')).toBe('late\n');
  });

  it('after a restart, reports the real exit code of a container that ended meanwhile, with all its output', async () => {
    const first = executor();
    const spec = containerTask(`echo one; while [ ! -e ${CONTAINER_SANDBOX}/go ]; do sleep 0.05; done; echo two; exit 7`);
    const { handle, sandbox: s } = await launch(first, spec);
    await eventually(async () => (await fs.readFile(s.stdoutPath, 'utf8')) === 'one\n', 'one', 10_000);
    first.close();
    await fs.writeFile(path.join(s.dir, 'go'), '');
    await eventually(async () => !(await inspect(handle)).State.Running, 'the container to end', 10_000);

    const second = executor();
    expect(await second.recover([handle])).toEqual(new Set([spec.taskId]));
    expect(await second.wait(spec.taskId)).toEqual({ kind: 'exited', exitCode: 7 });
    expect(await fs.readFile(s.stdoutPath, 'utf8')).toBe('one\ntwo\n');
  });

  it('removes the container of an ended task it never watched (checkpointed before a restart)', async () => {
    const first = executor();
    const spec = containerTask('exit 0');
    const { handle } = await launch(first, spec);
    await first.wait(spec.taskId);
    first.close();
    expect(await containersOf(spec.taskId)).toHaveLength(1);
    await executor().remove(handle);
    expect(await containersOf(spec.taskId)).toEqual([]);
  });

  it('ignores handles of other executors', async () => {
    const e = executor();
    const spec = shellTask('sleep 1');
    const handle: TaskHandle = { taskId: spec.taskId, executor: 'process', pid: 1, details: {} };
    expect(await e.recover([handle])).toEqual(new Set());
    await e.remove(handle);
  });

  it('labels test containers for cleanup', async () => {
    const e = executor();
    const spec = containerTask('exit 0');
    const { handle } = await launch(e, spec);
    expect((await inspect(handle)).Config.Labels?.[TEST_RUN_LABEL]).toBe(TEST_RUN);
  });
});
