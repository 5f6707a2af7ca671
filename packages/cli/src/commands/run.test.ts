import { ValidationError } from '@drover/common';
import { type RunTaskRequest, type Task, TaskReason, TaskState } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeMaster, startFakeMaster } from '../testing/fake-master.js';
import { oneOffTask, pendingTask } from '../testing/fixtures.js';
import { run } from '../testing/run-cli.js';

const id = pendingTask.id;
const at = '2025-06-01T12:00:00.000Z';
const placed = [oneOffTask.pending, oneOffTask.staging, oneOffTask.starting, oneOffTask.running];
const finished = oneOffTask.ended({ state: TaskState.TASK_STATE_FINISHED, exitCode: 0, reason: TaskReason.TASK_REASON_COMMAND_EXITED });

/** What the fake master streams for each command line (the request's args joined by spaces). */
const scenarios: Record<string, Task[]> = {
  'sh -c exit 0': [...placed, finished],
  'sh -c exit 3': [oneOffTask.staging, oneOffTask.ended({ state: TaskState.TASK_STATE_FAILED, exitCode: 3, message: 'command exited with code 3' })],
  'sh -c kill -9 $$': [oneOffTask.staging, oneOffTask.ended({ state: TaskState.TASK_STATE_FAILED, signal: 'SIGKILL', reason: TaskReason.TASK_REASON_SIGNALED })],
  'no-such-program': [oneOffTask.staging, oneOffTask.ended({ state: TaskState.TASK_STATE_FAILED, message: 'cannot start no-such-program: no such file', pid: 0 })],
  'sleep 3600': [oneOffTask.running, oneOffTask.ended({ state: TaskState.TASK_STATE_KILLED, signal: 'SIGTERM', killRequested: true })],
  vanish: [oneOffTask.running],
};

/** Resolves once the fake master sent the first message of a stream that then stays open. */
let hangingStarted: () => void = () => undefined;
const hanging = new Promise<void>((resolve) => (hangingStarted = resolve));

describe('drover run', () => {
  let master: FakeMaster;
  const cli = (...argv: string[]) => run(['--master', master.address, ...argv]);

  beforeAll(async () => {
    master = await startFakeMaster({
      'tasks.run': (req: RunTaskRequest) => {
        const line = req.args.join(' ');
        if (line === 'refused') {
          throw new ValidationError([{ path: 'mem', message: 'no agent could ever offer 999999 MiB' }], 'invalid task');
        }
        if (line === 'hang') {
          return (async function* () {
            yield { task: oneOffTask.pending };
            hangingStarted();
            await new Promise(() => undefined);
          })();
        }
        const tasks = scenarios[line] ?? [oneOffTask.staging, finished];
        return (req.wait ? tasks : tasks.slice(0, 1)).map((task) => ({ task }));
      },
    });
  });

  afterAll(() => master.stop());

  it.each([
    { name: 'starts a task and returns', argv: ['run', '--', 'true'], code: 0, stdout: `started task ${id} (STAGING)\n`, stderr: '' },
    {
      name: 'says why a PENDING task waits',
      argv: ['run', '--', 'sh', '-c', 'exit 0'],
      code: 0,
      stdout: `started task ${id} (PENDING)\nwaiting: 2 agents: insufficient mem (need 4096 MiB, most free 960 MiB)\n`,
      stderr: '',
    },
    {
      name: '--wait prints every change and exits 0 when the task FINISHED',
      argv: ['run', '--wait', '--', 'sh', '-c', 'exit 0'],
      code: 0,
      stdout: [
        `started task ${id}`,
        `${at} PENDING  waiting: 2 agents: insufficient mem (need 4096 MiB, most free 960 MiB)`,
        `${at} STAGING  on node1`,
        `${at} STARTING on node1`,
        `${at} RUNNING  pid 4343`,
        `${at} FINISHED exited with code 0`,
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: '--wait exits with the exit code of a FAILED task',
      argv: ['run', '--wait', '--', 'sh', '-c', 'exit 3'],
      code: 3,
      stdout: `started task ${id}\n${at} STAGING  on node1\n${at} FAILED   exited with code 3\n`,
      stderr: '',
    },
    {
      name: '--wait exits with 128 + the signal of a task a signal ended',
      argv: ['run', '--wait', '--', 'sh', '-c', 'kill -9 $$'],
      code: 137,
      stdout: `started task ${id}\n${at} STAGING  on node1\n${at} FAILED   ended by SIGKILL\n`,
      stderr: '',
    },
    {
      name: '--wait exits 1 when the task could not start, with the reason',
      argv: ['run', '--wait', '--', 'no-such-program'],
      code: 1,
      stdout: `started task ${id}\n${at} STAGING  on node1\n${at} FAILED   cannot start no-such-program: no such file\n`,
      stderr: '',
    },
    {
      name: '--wait exits 1 when the task was KILLED',
      argv: ['run', '--wait', '--', 'sleep', '3600'],
      code: 1,
      stdout: `started task ${id}\n${at} RUNNING  pid 4343\n${at} KILLED   ended by SIGTERM\n`,
      stderr: '',
    },
    {
      name: '--wait exits 1 when the master stops reporting before the end',
      argv: ['run', '--wait', '--', 'vanish'],
      code: 1,
      stdout: `started task ${id}\n${at} RUNNING  pid 4343\n`,
      stderr: `the master stopped reporting before task ${id} ended; drover task get ${id} shows it\n`,
    },
    {
      name: 'a refusal by the master prints its violations',
      argv: ['run', '--mem', '999999', '--', 'refused'],
      code: 2,
      stdout: '',
      stderr: 'error: rejected by the master\n  mem: no agent could ever offer 999999 MiB\n',
    },
  ])('$name', async ({ argv, code, stdout, stderr }) => {
    expect(await cli(...argv)).toEqual({ code, stdout, stderr });
  });

  it('sends every flag, and the words after -- as args', async () => {
    const result = await cli(
      ...['run', '--cpus', '0.5', '--mem', '64', '--disk', '10', '--gpus', '1'],
      ...['--env', 'A=1', '--env', 'B=x=y', '--env', 'EMPTY='],
      ...['--constraint', 'hostname:UNIQUE', '--constraint', 'host:like:web-[0-9]+:8080', '--constraint', 'rack:IN:r1,r2'],
      ...['--port', '0', '--port', '8080', '--name', 'backup', '--wait'],
      ...['--', './backup.sh', '--full', 'two words'],
    );
    expect(result.code).toBe(0);
    const [method, request] = master.calls.at(-1)!;
    expect(method).toBe('tasks.run');
    expect(request).toEqual({
      cmd: '',
      args: ['./backup.sh', '--full', 'two words'],
      cpus: 0.5,
      mem: 64,
      disk: 10,
      gpus: 1,
      env: { A: '1', B: 'x=y', EMPTY: '' },
      constraints: [
        { field: 'hostname', operator: 1, value: '' },
        { field: 'host', operator: 4, value: 'web-[0-9]+:8080' },
        { field: 'rack', operator: 8, value: 'r1,r2' },
      ],
      portDefinitions: [
        { port: 0, protocol: 'tcp', name: '', labels: {} },
        { port: 8080, protocol: 'tcp', name: '', labels: {} },
      ],
      name: 'backup',
      wait: true,
    });
  });

  it('leaves the defaults to the master', async () => {
    await cli('run', 'true');
    expect(master.calls.at(-1)).toEqual([
      'tasks.run',
      { cmd: '', args: ['true'], env: {}, constraints: [], portDefinitions: [], name: '', wait: false },
    ]);
  });

  it.each([
    { name: 'no command', argv: ['run'], stderr: "error: missing required argument 'command'\n" },
    { name: "the command's options before --", argv: ['run', 'ls', '-l'], stderr: "error: unknown option '-l'\n" },
    {
      name: 'a constraint without operator',
      argv: ['run', '--constraint', 'rack', '--', 'true'],
      stderr:
        "error: option '--constraint <rule>' argument 'rack' is invalid. " +
        'bad constraint "rack": expected FIELD:OPERATOR[:VALUE], for example hostname:UNIQUE or rack:IN:r1,r2\n',
    },
    {
      name: 'a constraint with an unknown operator',
      argv: ['run', '--constraint', 'rack:NEAR:r1', '--', 'true'],
      stderr:
        "error: option '--constraint <rule>' argument 'rack:NEAR:r1' is invalid. " +
        'bad constraint "rack:NEAR:r1": operator must be one of UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS, IN\n',
    },
    {
      name: 'a constraint with a bad value',
      argv: ['run', '--constraint', 'rack:MAX_PER:two', '--', 'true'],
      stderr:
        "error: option '--constraint <rule>' argument 'rack:MAX_PER:two' is invalid. " +
        'bad constraint "rack:MAX_PER:two": MAX_PER needs a positive integer, got "two"\n',
    },
    {
      name: 'an env variable without value',
      argv: ['run', '--env', 'MODE', '--', 'true'],
      stderr:
        "error: option '--env <KEY=VALUE>' argument 'MODE' is invalid. " +
        'bad environment variable: "MODE" has no value: expected KEY=VALUE (KEY= for an empty value)\n',
    },
    {
      name: 'an env variable given twice',
      argv: ['run', '--env', 'A=1', '--env', 'A=2', '--', 'true'],
      stderr: "error: option '--env <KEY=VALUE>' argument 'A=2' is invalid. bad environment variable: \"A\" is given twice\n",
    },
    {
      name: 'a bad amount',
      argv: ['run', '--mem', '1G', '--', 'true'],
      stderr: "error: option '--mem <MiB>' argument '1G' is invalid. bad amount \"1G\": expected a number, 0 or more\n",
    },
    {
      name: 'a bad port',
      argv: ['run', '--port', '70000', '--', 'true'],
      stderr: "error: option '--port <n>' argument '70000' is invalid. bad port \"70000\": expected a number from 0 to 65535\n",
    },
    {
      name: 'a bad name',
      argv: ['run', '--name', 'Nightly_Backup', '--', 'true'],
      stderr:
        "error: option '--name <name>' argument 'Nightly_Backup' is invalid. bad task name \"Nightly_Backup\": " +
        'segment "Nightly_Backup" must be lowercase letters, digits, dots and dashes, starting and ending with a letter or digit\n',
    },
  ])('refuses $name with exit code 2 and sends nothing', async ({ argv, stderr }) => {
    const before = master.calls.length;
    expect(await cli(...argv)).toEqual({ code: 2, stdout: '', stderr });
    expect(master.calls.length).toBe(before);
  });

  it('--json prints the task as one JSON line', async () => {
    const result = await cli('run', '--json', '--', 'sh', '-c', 'exit 0');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toHaveLength(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ id, state: 'TASK_STATE_PENDING', waiting: { agentsConsidered: 2 } });
  });

  it('--json --wait prints one JSON line per change and keeps the exit code', async () => {
    const result = await cli('run', '--json', '--wait', '--', 'sh', '-c', 'exit 3');
    expect(result.code).toBe(3);
    const lines = result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((t) => [t.state, t.exitCode])).toEqual([
      ['TASK_STATE_STAGING', undefined],
      ['TASK_STATE_FAILED', 3],
    ]);
  });

  it('Ctrl-C stops the waiting at once (the stream is canceled), not the task, and says how to kill it', async () => {
    const waitForStop = async () => {
      await hanging;
      // Give the client time to print the first message.
      await new Promise((resolve) => setTimeout(resolve, 100));
      return 'SIGINT';
    };
    const result = await run(['--master', master.address, 'run', '--wait', '--', 'hang'], { runtime: { waitForStop } });
    expect(result).toEqual({
      code: 130,
      stdout: `started task ${id}\n${at} PENDING  waiting: 2 agents: insufficient mem (need 4096 MiB, most free 960 MiB)\n`,
      stderr: `stopped waiting; task ${id} keeps running (drover task kill ${id} stops it)\n`,
    });
    await vi.waitFor(() => expect(master.canceled).toContain('tasks.run'));
  });
});
