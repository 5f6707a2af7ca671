import { NotFoundError, silentLogger } from '@drover/common';
import { ContainerType, TaskSpec } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { sandboxFor } from '../sandbox/sandbox.js';
import { LaunchError } from './executor.js';
import { ExecutorRegistry, executorNameFor } from './executor-registry.js';
import { FakeExecutor, FakeHost } from './fake-executor.js';

const sandbox = sandboxFor('/nonexistent/tasks', 'x.1');

function spec(taskId: string, docker: boolean, cmd = 'sleep'): TaskSpec {
  return TaskSpec.fromPartial({
    taskId,
    cmd,
    container: docker ? { type: ContainerType.CONTAINER_TYPE_DOCKER, docker: { image: 'busybox' }, volumes: [] } : undefined,
  });
}

function registry(host = new FakeHost()) {
  const process = new FakeExecutor({ host, name: 'process' });
  const docker = new FakeExecutor({ host, name: 'docker', exitStatusAfterRecover: true });
  return { process, docker, registry: new ExecutorRegistry([process, docker], silentLogger()) };
}

describe('executor registry', () => {
  it.each([
    { name: 'a DOCKER container', docker: true, executor: 'docker' },
    { name: 'a plain command', docker: false, executor: 'process' },
  ])('sends $name to the $executor executor, and later calls to the same one', async ({ docker, executor }) => {
    const r = registry();
    const handle = await r.registry.launch({ spec: spec('t.1', docker), sandbox, host: 'h' });
    expect(executorNameFor(spec('t.1', docker))).toBe(executor);
    expect(handle.executor).toBe(executor);
    expect(r[executor as 'docker' | 'process'].launches).toHaveLength(1);
    expect(await r.registry.kill('t.1', 0)).toEqual({ kind: 'signaled', signal: 'SIGTERM' });
    expect(await r.registry.wait('t.1')).toEqual({ kind: 'signaled', signal: 'SIGTERM' });
    await r.registry.remove(handle);
    await expect(r.registry.wait('t.1')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('recovers each handle with the executor named in it', async () => {
    const host = new FakeHost();
    const before = registry(host);
    const a = await before.registry.launch({ spec: spec('a.1', false), sandbox, host: 'h' });
    const b = await before.registry.launch({ spec: spec('b.1', true), sandbox, host: 'h' });
    before.registry.close();
    const after = registry(host);
    const stranger = { taskId: 'c.1', executor: 'wasm', pid: 1, details: {} };
    expect(await after.registry.recover([a, b, stranger])).toEqual(new Set(['a.1', 'b.1']));
    await after.registry.kill('b.1', 0);
    await expect(after.docker.wait('b.1')).resolves.toEqual({ kind: 'signaled', signal: 'SIGTERM' });
    await expect(after.process.wait('b.1')).rejects.toBeInstanceOf(NotFoundError);
    expect(after.registry.capabilities).toEqual({ recover: true, exitStatusAfterRecover: false });
  });

  it('fails a launch loudly when the chosen executor is not registered', async () => {
    const r = new ExecutorRegistry([new FakeExecutor({ name: 'process' })], silentLogger());
    const error = await r.launch({ spec: spec('d.1', true), sandbox, host: 'h' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).rawMessage).toBe('this agent has no docker executor');
  });

  it('rejects calls about unknown tasks with NotFoundError', async () => {
    const r = registry().registry;
    await expect(r.wait('nope.1')).rejects.toBeInstanceOf(NotFoundError);
    await expect(r.kill('nope.1', 0)).rejects.toBeInstanceOf(NotFoundError);
  });
});
