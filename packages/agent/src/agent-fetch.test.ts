import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type FetchUri, type TaskSpec, TaskReason } from '@drover/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentHarness } from './testing/agent-harness.js';
import { ArtifactServer, sha256Of, tarball } from './testing/artifact-server.js';
import type { FakeMaster } from './testing/fake-master.js';
import { shellTask } from './testing/task-specs.js';

const h = new AgentHarness();
afterEach(() => h.cleanup());

const SCRIPT = '#!/bin/sh\necho "fetched script ran in $PWD"\n';
let server: ArtifactServer;
beforeAll(async () => {
  server = await ArtifactServer.start();
  server.serve('/run.sh', { kind: 'file', body: Buffer.from(SCRIPT) });
  server.serve('/missing', { kind: 'status', status: 404 });
  server.serve('/stall.bin', { kind: 'stall', body: Buffer.alloc(10_000), sendBytes: 1 });
  server.serve('/app.tgz', {
    kind: 'file',
    body: tarball([{ name: 'app/bin/hello', type: 'File', body: '#!/bin/sh\necho hello from the tarball\n', mode: 0o755 }]),
  });
  server.serve('/shared.sh', { kind: 'file', body: Buffer.from('#!/bin/sh\necho shared\n') });
});
afterAll(() => server.close());

function launch(master: FakeMaster, spec: TaskSpec): void {
  master.latest?.send({ $case: 'launch', value: { task: spec } });
}

function withFetch(cmd: string, fetch: Partial<FetchUri>[]): TaskSpec {
  return shellTask(cmd, {
    fetch: fetch.map((f) => ({ uri: '', executable: false, cache: false, destPath: '', sha256: '', ...f })),
  });
}

describe('agent: artifact fetch before launch', () => {
  it('fails a task whose fetch fails with FETCH_FAILED and the reason, and never starts it', async () => {
    const master = await h.master();
    const agent = await h.agent(master, await h.workDir());
    await agent.registered();
    const spec = withFetch('touch started; sleep 30', [{ uri: server.url('/run.sh'), executable: true }, { uri: server.url('/missing') }]);
    launch(master, spec);
    await h.reached(master, spec.taskId, 'FAILED');
    const seen = h.statuses(master, spec.taskId);
    expect(seen.map((s) => s.state)).toEqual(['STARTING', 'FAILED']);
    expect(seen.at(-1)).toMatchObject({ reason: 'FETCH_FAILED', message: `fetch ${server.url('/missing')}: HTTP 404`, pid: 0 });
    const sandbox = path.join(agent.workDir, 'tasks', spec.taskId);
    const names = await fs.readdir(sandbox);
    expect(names).toContain('run.sh');
    expect(names).not.toContain('started');
  });

  it('runs a fetched executable script and a command from a fetched tarball', async () => {
    const master = await h.master();
    const agent = await h.agent(master, await h.workDir());
    await agent.registered();
    const spec = withFetch('./run.sh && ./app/bin/hello', [
      { uri: server.url('/run.sh'), executable: true, sha256: sha256Of(SCRIPT) },
      { uri: server.url('/app.tgz') },
    ]);
    launch(master, spec);
    await h.reached(master, spec.taskId, 'FINISHED');
    expect(h.statuses(master, spec.taskId).map((s) => s.state)).toEqual(['STARTING', 'RUNNING', 'FINISHED']);
    const sandbox = path.join(agent.workDir, 'tasks', spec.taskId);
    expect(await fs.readFile(path.join(sandbox, 'stdout'), 'utf8')).toBe(
      `fetched script ran in ${sandbox}\nhello from the tarball\n`,
    );
  });

  it('kills a task while it fetches: KILLED, never started', async () => {
    const master = await h.master();
    const agent = await h.agent(master, await h.workDir(), { fetchIdleTimeoutMs: 30_000 });
    await agent.registered();
    const spec = withFetch('touch started', [{ uri: server.url('/stall.bin') }]);
    launch(master, spec);
    await h.reached(master, spec.taskId, 'STARTING');
    master.latest?.send({
      $case: 'kill',
      value: { taskId: spec.taskId, gracePeriodSeconds: 0, reason: TaskReason.TASK_REASON_KILL_REQUESTED, message: '' },
    });
    const killed = await h.reached(master, spec.taskId, 'KILLED');
    expect(killed).toMatchObject({ reason: 'KILL_REQUESTED', message: 'killed while fetching its artifacts', pid: 0 });
    expect(h.statuses(master, spec.taskId).map((s) => s.state)).toEqual(['STARTING', 'KILLED']);
    expect(await fs.readdir(path.join(agent.workDir, 'tasks', spec.taskId))).not.toContain('started');
  });

  it('serves the second task with a cached artifact from the agent cache', async () => {
    const master = await h.master();
    const agent = await h.agent(master, await h.workDir());
    await agent.registered();
    const before = server.hitsOf('/shared.sh');
    for (let i = 0; i < 2; i += 1) {
      const spec = withFetch('./shared.sh', [{ uri: server.url('/shared.sh'), executable: true, cache: true }]);
      launch(master, spec);
      await h.reached(master, spec.taskId, 'FINISHED');
    }
    expect(server.hitsOf('/shared.sh') - before).toBe(1);
    expect((await fs.readdir(path.join(agent.workDir, 'cache'))).length).toBe(2);
  });
});
