import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newId, silentLogger } from '@drover/common';
import { TaskState, TaskStatus } from '@drover/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatusJournal } from './status-journal.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-journal-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function status(taskId: string, state: TaskState): TaskStatus {
  return TaskStatus.fromPartial({ uuid: newId(), taskId, state, timestamp: new Date(), message: 'm', exitCode: 0 });
}

describe('status journal', () => {
  it('keeps pending updates on disk, in order, until acked', async () => {
    const journal = await StatusJournal.open(dir, silentLogger());
    const a1 = status('a', TaskState.TASK_STATE_STARTING);
    const b1 = status('b', TaskState.TASK_STATE_STARTING);
    const a2 = status('a', TaskState.TASK_STATE_RUNNING);
    for (const s of [a1, b1, a2]) await journal.append(s);

    const reopened = await StatusJournal.open(dir, silentLogger());
    expect(reopened.pending().map((e) => e.status)).toEqual([a1, b1, a2]);
    expect(reopened.lastSeq).toBe(3);

    expect((await reopened.ack(a1.uuid))?.status).toEqual(a1);
    expect(await reopened.ack(a1.uuid)).toBeUndefined();
    expect(reopened.forTask('a').map((e) => e.status.uuid)).toEqual([a2.uuid]);

    const third = await StatusJournal.open(dir, silentLogger());
    expect(third.pending().map((e) => e.status.uuid)).toEqual([b1.uuid, a2.uuid]);
    expect((await third.append(status('c', TaskState.TASK_STATE_FAILED))).seq).toBe(4);
  });

  it('drops every pending update of a task', async () => {
    const journal = await StatusJournal.open(dir, silentLogger());
    await journal.append(status('a', TaskState.TASK_STATE_STARTING));
    await journal.append(status('a', TaskState.TASK_STATE_FAILED));
    const b = status('b', TaskState.TASK_STATE_RUNNING);
    await journal.append(b);
    await journal.dropTask('a');
    expect((await StatusJournal.open(dir, silentLogger())).pending().map((e) => e.status)).toEqual([b]);
    expect((await fs.readdir(dir)).length).toBe(1);
  });

  it('keeps sequence numbers above a floor', async () => {
    const journal = await StatusJournal.open(dir, silentLogger());
    journal.advanceSeq(41);
    expect((await journal.append(status('a', TaskState.TASK_STATE_RUNNING))).seq).toBe(42);
  });

  it('writes updates made during a write together, in one batch file, and loads them back in order', async () => {
    const journal = await StatusJournal.open(dir, silentLogger());
    const all = Array.from({ length: 30 }, (_, i) => status(`t${i % 5}`, TaskState.TASK_STATE_RUNNING));
    const entries = await Promise.all(all.map((s) => journal.append(s)));
    expect(entries.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    // The first write goes alone; everything made while it ran shares the next ones.
    expect((await fs.readdir(dir)).length).toBeLessThan(all.length / 2);
    expect((await StatusJournal.open(dir, silentLogger())).pending().map((e) => e.status)).toEqual(all);
  });

  it('removes a batch file once every update in it is acked, and not before', async () => {
    const journal = await StatusJournal.open(dir, silentLogger());
    await journal.append(status('warm', TaskState.TASK_STATE_RUNNING));
    const [a, b] = [status('a', TaskState.TASK_STATE_RUNNING), status('b', TaskState.TASK_STATE_RUNNING)];
    const first = journal.append(status('first', TaskState.TASK_STATE_RUNNING));
    // a and b arrive while "first" is being written: they share a file.
    await Promise.all([first, journal.append(a), journal.append(b)]);
    const files = await fs.readdir(dir);
    await journal.ack(a.uuid);
    expect(await fs.readdir(dir)).toEqual(files);
    await journal.ack(b.uuid);
    expect((await fs.readdir(dir)).length).toBe(files.length - 1);
    expect((await StatusJournal.open(dir, silentLogger())).pending().map((e) => e.status.taskId)).toEqual(['warm', 'first']);
  });

  it.each<{ name: string; content: string; pending: string[] }>([
    { name: 'a torn batch file (a crash while it was written: nothing in it was sent)', content: '{"entries":[{"seq":7,"sta', pending: [] },
    {
      name: 'a file of an agent before group commit',
      content: JSON.stringify({ seq: 7, status: TaskStatus.toJSON(status('old', TaskState.TASK_STATE_FINISHED)) }),
      pending: ['old'],
    },
  ])('loads next to the others: $name', async ({ content, pending }) => {
    await fs.writeFile(path.join(dir, '000000000007.json'), content);
    const journal = await StatusJournal.open(dir, silentLogger());
    expect(journal.pending().map((e) => e.status.taskId)).toEqual(pending);
    expect((await journal.append(status('new', TaskState.TASK_STATE_RUNNING))).seq).toBe(8);
  });

  it('keeps only the later copy of an update journaled twice', async () => {
    const journal = await StatusJournal.open(dir, silentLogger());
    const final = status('a', TaskState.TASK_STATE_FINISHED);
    await journal.append(final);
    await journal.append(status('b', TaskState.TASK_STATE_RUNNING));
    await journal.append(final);
    const reopened = await StatusJournal.open(dir, silentLogger());
    expect(reopened.pending().map((e) => [e.seq, e.status.taskId])).toEqual([
      [2, 'b'],
      [3, 'a'],
    ]);
    expect((await fs.readdir(dir)).length).toBe(2);
  });
});
