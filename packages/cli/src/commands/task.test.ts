import { NotFoundError } from '@drover/common';
import { TaskState } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeMaster, startFakeMaster } from '../testing/fake-master.js';
import { failedTask, runningTask } from '../testing/fixtures.js';
import { run } from '../testing/run-cli.js';

describe('drover task', () => {
  let master: FakeMaster;
  const cli = (...argv: string[]) => run(['--master', master.address, ...argv]);

  beforeAll(async () => {
    master = await startFakeMaster({
      'tasks.list': (req: { appId: string; includeEnded: boolean }) => {
        if (req.appId === 'none') return { tasks: [] };
        return { tasks: req.includeEnded ? [runningTask, failedTask] : [runningTask] };
      },
      'tasks.get': (req: { id: string }) => {
        if (req.id !== failedTask.id) throw new NotFoundError('task', req.id);
        return { task: failedTask };
      },
      'tasks.kill': () => ({ task: { ...runningTask, state: TaskState.TASK_STATE_KILLING, killRequested: true } }),
    });
  });

  afterAll(() => master.stop());

  it.each([
    {
      name: 'list shows live tasks',
      argv: ['task', 'list'],
      code: 0,
      stdout: [
        'ID                                         APP    STATE     HOST    PORTS   AGE',
        'web.11111111-1111-1111-1111-111111111111   /web   RUNNING   node1   31001   5m',
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'list --all adds when and how ended tasks ended',
      argv: ['task', 'list', '--all'],
      code: 0,
      stdout: [
        'ID                                         APP    STATE     HOST    PORTS   AGE   ENDED   DETAIL',
        'web.11111111-1111-1111-1111-111111111111   /web   RUNNING   node1   31001   5m    -       -',
        'web.22222222-2222-2222-2222-222222222222   /web   FAILED    node1   31002   2h    60m     exit 1: command exited with code 1',
        '',
      ].join('\n'),
      stderr: '',
    },
    { name: 'list with nothing live', argv: ['task', 'list', '--app', 'none'], code: 0, stdout: '', stderr: 'no live tasks (--all shows ended ones)\n' },
    {
      name: 'get shows one task',
      argv: ['task', 'get', failedTask.id],
      code: 0,
      stdout: [
        'ID:           web.22222222-2222-2222-2222-222222222222',
        'App:          /web',
        'App version:  2025-06-01T11:00:00.000Z',
        'State:        FAILED',
        'Agent:        agent-1 (node1)',
        'Ports:        31002',
        'Resources:    0.1 cpus, 64 MiB mem, 0 MiB disk, ports 31001',
        'PID:          4242',
        'Staged:       2025-06-01T10:00:00.000Z (2h ago)',
        'Started:      2025-06-01T10:00:10.000Z (119m ago)',
        'Ended:        2025-06-01T11:00:00.000Z (60m ago)',
        'Exit code:    1',
        'Reason:       COMMAND_EXITED',
        'Message:      command exited with code 1',
        '',
      ].join('\n'),
      stderr: '',
    },
    { name: 'get of an unknown task', argv: ['task', 'get', 'x'], code: 1, stdout: '', stderr: 'error: task x not found\n' },
    { name: 'kill', argv: ['task', 'kill', runningTask.id], code: 0, stdout: `killing task ${runningTask.id}\n`, stderr: '' },
  ])('$name', async ({ argv, code, stdout, stderr }) => {
    expect(await cli(...argv)).toEqual({ code, stdout, stderr });
  });

  it('passes --app and --all to the master', async () => {
    await cli('task', 'list', '--app', 'web', '--all');
    expect(master.calls.at(-1)).toEqual(['tasks.list', { appId: 'web', includeEnded: true }]);
  });

  it('list --json prints an array of proto JSON tasks', async () => {
    const result = await cli('task', 'list', '--all', '--json');
    expect(result.code).toBe(0);
    const tasks = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(tasks.map((t) => t.state)).toEqual(['TASK_STATE_RUNNING', 'TASK_STATE_FAILED']);
    expect(tasks[1]).toMatchObject({ exitCode: 1, reason: 'TASK_REASON_COMMAND_EXITED', endedAt: '2025-06-01T11:00:00.000Z' });
  });
});
