/**
 * File access and sandbox hygiene through a whole agent: real tasks, real
 * rotation and collection timers, FileRequests arriving over the agent's
 * Connect stream from a fake master.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Code } from '@drover/common';
import { FileOperation, FileRequest, type FileResponse } from '@drover/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentHarness } from '../testing/agent-harness.js';
import { eventually, type FakeMaster } from '../testing/fake-master.js';
import { shellTask } from '../testing/task-specs.js';

const h = new AgentHarness();
afterEach(() => h.cleanup());

let nextId = 1;

/** Sends a FileRequest on the newest stream; returns its id. */
function ask(master: FakeMaster, fields: Partial<FileRequest>): number {
  const requestId = nextId++;
  master.latest?.send({ $case: 'fileRequest', value: FileRequest.fromPartial({ requestId, ...fields }) });
  return requestId;
}

function answers(master: FakeMaster, requestId: number): FileResponse[] {
  return master.connections.flatMap((c) =>
    c.messages.flatMap((m) => (m.message?.$case === 'fileResponse' && m.message.value.requestId === requestId ? [m.message.value] : [])),
  );
}

const text = (master: FakeMaster, id: number) => Buffer.concat(answers(master, id).map((r) => r.data)).toString();
const done = (master: FakeMaster, id: number) => eventually(() => answers(master, id).find((r) => r.done), `request ${id} done`);

describe('file access through the agent', () => {
  it('lists and reads a running task sandbox, refuses traversal, and follows stdout to the end of the task', async () => {
    const master = await h.master();
    const agent = await h.agent(master, await h.workDir(), { followPollMs: 20 });
    await agent.registered();
    const spec = shellTask('echo started; mkdir logs; echo app > logs/app.log; sleep 0.4; echo bye; echo oops >&2');
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    await h.reached(master, spec.taskId, 'RUNNING');
    const taskId = spec.taskId;

    const follow = ask(master, { taskId, operation: FileOperation.FILE_OPERATION_READ, path: 'stdout', follow: true });
    await eventually(() => text(master, follow) === 'started\n', 'the first line');

    const listing = ask(master, { taskId, operation: FileOperation.FILE_OPERATION_LIST, path: '' });
    await eventually(() => (answers(master, listing)[0]?.entries ?? []).some((e) => e.path === 'logs'), 'the listing with logs');
    expect((await done(master, listing)).entries.map((e) => e.path)).toEqual(expect.arrayContaining(['.drover-task.json', 'logs', 'stderr', 'stdout']));

    const app = ask(master, { taskId, operation: FileOperation.FILE_OPERATION_READ, path: 'logs/app.log' });
    await done(master, app);
    expect(text(master, app)).toBe('app\n');

    const escape = ask(master, { taskId, operation: FileOperation.FILE_OPERATION_READ, path: '../../agent-id.json' });
    expect((await done(master, escape)).errorCode).toBe(Code.InvalidArgument);

    // The follow ends by itself once the task ended, with everything it wrote.
    const last = await done(master, follow);
    expect(text(master, follow)).toBe('started\nbye\n');
    expect(last.error).toBe('');
    await h.reached(master, taskId, 'FINISHED');

    // The task is forgotten (its final status was acked), its sandbox is still served.
    const stderr = ask(master, { taskId, operation: FileOperation.FILE_OPERATION_READ, path: 'stderr' });
    await done(master, stderr);
    expect(text(master, stderr)).toBe('oops\n');
  });

  it('rotates a chatty task and a follower sees every line across rotations', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    const agent = await h.agent(master, workDir, { logMaxBytes: 2000, logFiles: 3, logCheckIntervalMs: 20, followPollMs: 10 });
    await agent.registered();
    // 600 numbered lines, a few at a time, so rotations happen while the follower reads.
    const spec = shellTask('i=0; while [ $i -lt 600 ]; do echo "line $i"; i=$((i+1)); [ $((i % 20)) -eq 0 ] && sleep 0.02; done; true');
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    await h.reached(master, spec.taskId, 'RUNNING');
    const follow = ask(master, { taskId: spec.taskId, operation: FileOperation.FILE_OPERATION_READ, path: 'stdout', follow: true });
    await done(master, follow);
    await h.reached(master, spec.taskId, 'FINISHED');

    const sandbox = path.join(workDir, 'tasks', spec.taskId);
    expect(fs.existsSync(path.join(sandbox, 'stdout.1'))).toBe(true);
    expect(fs.existsSync(path.join(sandbox, 'stdout.2'))).toBe(true);
    expect(fs.existsSync(path.join(sandbox, 'stdout.3'))).toBe(false);
    const total = ['stdout', 'stdout.1', 'stdout.2'].reduce((sum, f) => sum + fs.statSync(path.join(sandbox, f)).size, 0);
    expect(total).toBeLessThan(3 * 2000 + 2000);
    // The writer is slow next to the copy, so nothing falls in the loss window: every line, once, in order.
    const lines = text(master, follow).trimEnd().split('\n');
    expect(lines).toEqual(Array.from({ length: 600 }, (_, i) => `line ${i}`));
  });

  it('stops a follow when the stream to the master ends', async () => {
    const master = await h.master();
    const agent = await h.agent(master, await h.workDir(), { followPollMs: 20 });
    await agent.registered();
    const spec = shellTask('echo hi; exec sleep 30');
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    await h.reached(master, spec.taskId, 'RUNNING');
    const first = master.latest;
    const follow = ask(master, { taskId: spec.taskId, operation: FileOperation.FILE_OPERATION_READ, path: 'stdout', follow: true });
    await eventually(() => text(master, follow) === 'hi\n', 'hi');
    first?.end();
    await eventually(() => master.connections.length === 2 && master.connections[1]?.register, 'the reconnect');
    // Nothing of the old request travels on the new stream.
    await new Promise((r) => setTimeout(r, 100));
    expect(master.connections[1]?.messages.some((m) => m.message?.$case === 'fileResponse')).toBe(false);
  });

  it('collects finished sandboxes over the size budget, keeping live ones', async () => {
    const master = await h.master();
    const workDir = await h.workDir();
    const tasksDir = path.join(workDir, 'tasks');
    // Sandboxes of tasks finished before this agent started (no checkpoint: forgotten).
    for (const [id, age] of [['old.1', 3], ['older.2', 5]] as const) {
      fs.mkdirSync(path.join(tasksDir, id), { recursive: true });
      fs.writeFileSync(path.join(tasksDir, id, 'stdout'), Buffer.alloc(3000));
      const at = new Date(Date.now() - age * 3600_000);
      fs.utimesSync(path.join(tasksDir, id, 'stdout'), at, at);
      fs.utimesSync(path.join(tasksDir, id), at, at);
    }
    const agent = await h.agent(master, workDir, { sandboxMaxTotalBytes: 4000, sandboxGcIntervalMs: 30 });
    await agent.registered();
    const spec = shellTask('head -c 2000 /dev/zero; exec sleep 30');
    master.latest?.send({ $case: 'launch', value: { task: spec } });
    await h.reached(master, spec.taskId, 'RUNNING');
    await eventually(() => !fs.existsSync(path.join(tasksDir, 'old.1')), 'the older finished sandboxes to go');
    expect(fs.existsSync(path.join(tasksDir, 'older.2'))).toBe(false);
    expect(fs.existsSync(path.join(tasksDir, spec.taskId, 'stdout'))).toBe(true);
  });
});
