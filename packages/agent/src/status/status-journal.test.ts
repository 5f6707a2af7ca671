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
});
