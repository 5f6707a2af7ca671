import { NotFoundError } from '@drover/common';
import { TaskState } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeMaster, startFakeMaster } from '../testing/fake-master.js';
import { adoptedTask, bigWaiting, failedTask, healthyTask, pendingTask, runningTask, unhealthyTask, unknownHealthTask } from '../testing/fixtures.js';
import { run } from '../testing/run-cli.js';

describe('drover task', () => {
  let master: FakeMaster;
  const cli = (...argv: string[]) => run(['--master', master.address, ...argv]);

  beforeAll(async () => {
    master = await startFakeMaster({
      'tasks.list': (req: { appId: string; includeEnded: boolean }) => {
        const ended = req.includeEnded ? [failedTask] : [];
        switch (req.appId) {
          case 'none':
            return { tasks: [], waiting: [] };
          case 'big':
            return { tasks: [], waiting: [bigWaiting] };
          case 'web':
            return { tasks: [runningTask, ...ended], waiting: [] };
          case 'shop':
            return { tasks: [healthyTask, unhealthyTask, unknownHealthTask], waiting: [] };
          case 'lost':
            return { tasks: [adoptedTask], waiting: [] };
          default:
            return { tasks: [runningTask, pendingTask, ...ended], waiting: [bigWaiting] };
        }
      },
      'tasks.get': (req: { id: string }) => {
        const task = { [failedTask.id]: failedTask, [pendingTask.id]: pendingTask, [unhealthyTask.id]: unhealthyTask, [healthyTask.id]: healthyTask }[req.id];
        if (task === undefined) throw new NotFoundError('task', req.id);
        return { task };
      },
      'tasks.kill': () => ({ task: { ...runningTask, state: TaskState.TASK_STATE_KILLING, killRequested: true } }),
    });
  });

  afterAll(() => master.stop());

  it.each([
    {
      name: 'list shows live tasks',
      argv: ['task', 'list', '--app', 'web'],
      code: 0,
      stdout: [
        'ID                                         APP    STATE     HEALTH   HOST    PORTS   AGE',
        'web.11111111-1111-1111-1111-111111111111   /web   RUNNING   -        node1   31001   5m',
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'list marks a task the master adopted after losing its state',
      argv: ['task', 'list', '--app', 'lost'],
      code: 0,
      stdout: [
        'ID                                          APP     STATE               HEALTH   HOST    PORTS   AGE',
        'lost.77777777-7777-7777-7777-777777777777   /lost   RUNNING (adopted)   -        node1   31001   5m',
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'list shows what health checks say',
      argv: ['task', 'list', '--app', 'shop'],
      code: 0,
      stdout: [
        'ID                                          APP     STATE     HEALTH      HOST    PORTS   AGE',
        'shop.33333333-3333-3333-3333-333333333333   /shop   RUNNING   healthy     node1   31001   5m',
        'shop.55555555-5555-5555-5555-555555555555   /shop   RUNNING   unhealthy   node1   31001   5m',
        'shop.66666666-6666-6666-6666-666666666666   /shop   RUNNING   unknown     node1   31001   5m',
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'list says why PENDING tasks wait, then lists app instances waiting for a place',
      argv: ['task', 'list'],
      code: 0,
      stdout: [
        'ID                                         APP    STATE     HEALTH   HOST    PORTS   AGE   DETAIL',
        'web.11111111-1111-1111-1111-111111111111   /web   RUNNING   -        node1   31001   5m    -',
        'run.44444444-4444-4444-4444-444444444444   -      PENDING   -        -       -       10s   waiting: 2 agents: insufficient mem (need 4096 MiB, most free 960 MiB)',
        '',
        'APP    WAITING   WHY',
        '/big   3         2 agents: insufficient mem (need 4096 MiB, most free 960 MiB)',
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'list --all adds when and how ended tasks ended',
      argv: ['task', 'list', '--all', '--app', 'web'],
      code: 0,
      stdout: [
        'ID                                         APP    STATE     HEALTH   HOST    PORTS   AGE   ENDED   DETAIL',
        'web.11111111-1111-1111-1111-111111111111   /web   RUNNING   -        node1   31001   5m    -       -',
        'web.22222222-2222-2222-2222-222222222222   /web   FAILED    -        node1   31002   2h    60m     exit 1: command exited with code 1',
        '',
      ].join('\n'),
      stderr: '',
    },
    { name: 'list with nothing live', argv: ['task', 'list', '--app', 'none'], code: 0, stdout: '', stderr: 'no live tasks (--all shows ended ones)\n' },
    {
      name: 'list with nothing live but instances waiting',
      argv: ['task', 'list', '--app', 'big'],
      code: 0,
      stdout: ['APP    WAITING   WHY', '/big   3         2 agents: insufficient mem (need 4096 MiB, most free 960 MiB)', ''].join('\n'),
      stderr: 'no live tasks (--all shows ended ones)\n',
    },
    {
      name: 'get of a PENDING task says why it waits',
      argv: ['task', 'get', pendingTask.id],
      code: 0,
      stdout: [
        'ID:           run.44444444-4444-4444-4444-444444444444',
        'App:          -',
        'App version:  -',
        'State:        PENDING',
        'Waiting:      2 agents: insufficient mem (need 4096 MiB, most free 960 MiB)',
        'Agent:        -',
        'Ports:        -',
        'Resources:    0.1 cpus, 4096 MiB mem, 0 MiB disk',
        'Staged:       2025-06-01T11:59:50.000Z (10s ago)',
        '',
      ].join('\n'),
      stderr: '',
    },
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
    {
      name: 'get of an unhealthy task shows the failing check',
      argv: ['task', 'get', unhealthyTask.id],
      code: 0,
      stdout: expect.stringContaining('State:        RUNNING\nHealth:       unhealthy\n              last failed check: HTTP 503 from /health\nAgent:'),
      stderr: '',
    },
    {
      name: 'get of a healthy task',
      argv: ['task', 'get', healthyTask.id],
      code: 0,
      stdout: expect.stringContaining('State:        RUNNING\nHealth:       healthy\nAgent:'),
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

  it('list --json prints an array of proto JSON tasks, as it always did', async () => {
    const result = await cli('task', 'list', '--all', '--json');
    expect(result.code).toBe(0);
    const tasks = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(tasks.map((t) => t.state)).toEqual(['TASK_STATE_RUNNING', 'TASK_STATE_PENDING', 'TASK_STATE_FAILED']);
    expect(tasks[1]).toMatchObject({ waiting: { summary: pendingTask.waiting?.summary } });
    expect(tasks[2]).toMatchObject({ exitCode: 1, reason: 'TASK_REASON_COMMAND_EXITED', endedAt: '2025-06-01T11:00:00.000Z' });
  });

  it.each([
    {
      name: 'tasks and waiting instances',
      argv: ['task', 'list', '--json', '--waiting'],
      want: {
        tasks: [expect.objectContaining({ id: runningTask.id }), expect.objectContaining({ id: pendingTask.id })],
        waiting: [{ appId: '/big', instances: 3, explanation: expect.objectContaining({ waiting: 3, summary: bigWaiting.explanation?.summary }) }],
      },
    },
    { name: 'both keys even when empty', argv: ['task', 'list', '--app', 'none', '--waiting', '--json'], want: { tasks: [], waiting: [] } },
  ])('list --json --waiting prints {tasks, waiting}: $name', async ({ argv, want }) => {
    const result = await cli(...argv);
    expect(result).toEqual({ code: 0, stdout: expect.any(String), stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual(want);
  });

  it('list --waiting without --json prints the tables as usual', async () => {
    expect(await cli('task', 'list', '--waiting')).toEqual(await cli('task', 'list'));
  });
});

describe('drover task logs and files', () => {
  let master: FakeMaster;
  const cli = (argv: string[], options: Parameters<typeof run>[1] = {}) => run(['--master', master.address, ...argv], options);
  /** Resolves once the follow stream below sent its lines. */
  let sentAll: () => void = () => undefined;
  const followSent = new Promise<void>((resolve) => (sentAll = resolve));
  const entries = [
    { path: 'logs', size: 4096, isDirectory: true, modifiedAt: new Date('2025-06-01T11:59:00.000Z'), mode: 0o755 },
    { path: 'stdout', size: 1536, isDirectory: false, modifiedAt: new Date('2025-06-01T11:58:30.000Z'), mode: 0o644 },
    { path: 'stdout.1', size: 10_485_760, isDirectory: false, modifiedAt: new Date('2025-06-01T10:00:00.000Z'), mode: 0o600 },
  ];
  const utf8 = Buffer.from('héllo\n');

  beforeAll(async () => {
    master = await startFakeMaster({
      'tasks.logs': (req: { taskId: string; follow: boolean }) => {
        if (req.taskId === 'gone.1') throw new NotFoundError('task', 'gone.1');
        if (!req.follow) return [{ data: Buffer.from('line 1\n') }, { data: utf8.subarray(0, 2) }, { data: utf8.subarray(2) }];
        return (async function* follow() {
          yield { data: Buffer.from('a\n') };
          await new Promise((r) => setTimeout(r, 20));
          yield { data: Buffer.from('b\n') };
          sentAll();
          if (req.taskId === 'ends.1') return; // the task ended: the master ends the stream
          await new Promise(() => undefined); // a live task: until the client goes away
        })();
      },
      'tasks.listFiles': (req: { taskId: string; path: string }) => {
        if (req.path === '' || req.path === '.') return { entries };
        if (req.path === 'empty') return { entries: [] };
        if (req.path === 'logs/app.log' || req.path === './logs/app.log') return { entries: [{ ...entries[1], path: 'logs/app.log' }] };
        throw new NotFoundError('file', req.path);
      },
      'tasks.readFile': () => [{ data: Buffer.from('app '), offset: 0 }, { data: Buffer.from('log\n'), offset: 4 }],
    });
  });

  afterAll(() => master.stop());

  it('logs prints the raw bytes in order (a character split across messages stays whole)', async () => {
    expect(await cli(['task', 'logs', 'web.1'])).toEqual({ code: 0, stdout: 'line 1\nhéllo\n', stderr: '' });
    expect(master.calls.at(-1)).toEqual(['tasks.logs', { taskId: 'web.1', stderr: false, follow: false, tailLines: undefined }]);
  });

  it.each([
    { name: '--stderr and --tail', argv: ['--stderr', '--tail', '20'], request: { stderr: true, tailLines: 20 } },
    // 0 is sent as 0, not left out: the master prints nothing for it and the whole file without it.
    { name: '--tail 0', argv: ['--tail', '0'], request: { stderr: false, tailLines: 0 } },
  ])('logs passes $name', async ({ argv, request }) => {
    await cli(['task', 'logs', 'web.1', ...argv]);
    expect(master.calls.at(-1)).toEqual(['tasks.logs', { taskId: 'web.1', follow: false, ...request }]);
  });

  it('logs -f prints lines as they come and exits 0 on Ctrl-C, canceling the stream', async () => {
    const waitForStop = () => followSent.then(() => new Promise<string>((r) => setTimeout(() => r('SIGINT'), 30)));
    const result = await cli(['task', 'logs', 'web.1', '-f'], { runtime: { waitForStop } });
    expect(result).toEqual({ code: 0, stdout: 'a\nb\n', stderr: '' });
    expect(master.calls.at(-1)).toEqual(['tasks.logs', { taskId: 'web.1', stderr: false, follow: true, tailLines: undefined }]);
    await vi.waitFor(() => expect(master.canceled).toContain('tasks.logs'));
  });

  it('logs --follow ends with exit 0 when the task ends', async () => {
    expect(await cli(['task', 'logs', 'ends.1', '--follow'], { runtime: { waitForStop: () => new Promise(() => undefined) } })).toEqual({
      code: 0,
      stdout: 'a\nb\n',
      stderr: '',
    });
  });

  it.each([
    { name: 'logs of an unknown task', argv: ['task', 'logs', 'gone.1'], code: 1, stderr: 'error: task gone.1 not found\n' },
    { name: 'logs with a bad --tail', argv: ['task', 'logs', 'web.1', '--tail', 'ten'], code: 2, stderr: expect.stringContaining("option '--tail <n>' argument 'ten' is invalid") },
    { name: 'files of a missing path', argv: ['task', 'files', 'web.1', 'nope'], code: 1, stderr: 'error: file nope not found\n' },
  ])('$name fails', async ({ argv, code, stderr }) => {
    expect(await cli(argv)).toEqual({ code, stdout: '', stderr });
  });

  it('files lists the sandbox as a table', async () => {
    expect(await cli(['task', 'files', 'web.1'])).toEqual({
      code: 0,
      stdout: [
        'MODE         SIZE   MODIFIED               PATH',
        'drwxr-xr-x   4.0K   2025-06-01T11:59:00Z   logs/',
        '-rw-r--r--   1.5K   2025-06-01T11:58:30Z   stdout',
        '-rw-------   10M    2025-06-01T10:00:00Z   stdout.1',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(master.calls.at(-1)).toEqual(['tasks.listFiles', { taskId: 'web.1', path: '' }]);
  });

  it('files --json prints the entries as proto JSON', async () => {
    const result = await cli(['task', 'files', 'web.1', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { path: 'logs', size: 4096, isDirectory: true, modifiedAt: '2025-06-01T11:59:00.000Z', mode: 0o755 },
      { path: 'stdout', size: 1536, modifiedAt: '2025-06-01T11:58:30.000Z', mode: 0o644 },
      { path: 'stdout.1', size: 10_485_760, modifiedAt: '2025-06-01T10:00:00.000Z', mode: 0o600 },
    ]);
  });

  it('files of a file prints its content', async () => {
    expect(await cli(['task', 'files', 'web.1', './logs/app.log'])).toEqual({ code: 0, stdout: 'app log\n', stderr: '' });
    expect(master.calls.slice(-2)).toEqual([
      ['tasks.listFiles', { taskId: 'web.1', path: './logs/app.log' }],
      ['tasks.readFile', { taskId: 'web.1', path: 'logs/app.log', offset: 0, length: 0 }],
    ]);
  });

  it('files of an empty directory says so', async () => {
    expect(await cli(['task', 'files', 'web.1', 'empty'])).toEqual({ code: 0, stdout: '', stderr: 'no files\n' });
  });
});
