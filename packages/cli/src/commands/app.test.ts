import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NotFoundError, ValidationError } from '@drover/common';
import type { AppSpec } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeMaster, startFakeMaster } from '../testing/fake-master.js';
import { bigApp, crashApp, webApp } from '../testing/fixtures.js';
import { run } from '../testing/run-cli.js';

describe('drover app', () => {
  let master: FakeMaster;
  let dir: string;
  const cli = (...argv: string[]) => run(['--master', master.address, ...argv], { cwd: dir });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-app-cmd-'));
    await writeFile(path.join(dir, 'web.yaml'), 'id: web\ncmd: node server.js\ninstances: 2\nmem: 64\n');
    await writeFile(path.join(dir, 'api.json'), JSON.stringify({ id: '/api', args: ['api'], mem: 64 }));
    await writeFile(path.join(dir, 'huge.yaml'), 'id: huge\ncmd: x\nmem: 999999\n');
    await writeFile(path.join(dir, 'bad.yaml'), 'id: web\ncpus: 0\nportDefinitions:\n  - port: 70000\n');
    await writeFile(path.join(dir, 'broken.yaml'), 'id: web\ncmd: [x\n');
    master = await startFakeMaster({
      'apps.deploy': (req: { app: AppSpec }) => {
        if (req.app.mem !== undefined && req.app.mem > 100_000) {
          throw new ValidationError([{ path: 'mem', message: 'no agent could ever offer 999999 MiB' }], 'rejected by the master');
        }
        return { app: { ...webApp, spec: req.app }, created: req.app.id !== '/web' };
      },
      'apps.list': () => ({ apps: [bigApp, crashApp, webApp] }),
      'apps.get': (req: { id: string }) => {
        const app = { '/web': webApp, web: webApp, big: bigApp, crash: crashApp }[req.id];
        if (app === undefined) throw new NotFoundError('app', req.id);
        return { app };
      },
      'apps.scale': (req: { id: string; instances: number }) => ({ app: { ...webApp, spec: { ...webApp.spec!, instances: req.instances } } }),
      'apps.delete': (req: { id: string }) => {
        if (req.id === 'nope') throw new NotFoundError('app', req.id);
        return { tasksKilled: req.id === 'one' ? 1 : 2 };
      },
    });
  });

  afterAll(async () => {
    master.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    { name: 'deploy of an existing app (YAML) says updated', argv: ['app', 'deploy', 'web.yaml'], code: 0, stdout: 'updated app /web (version 2025-06-01T11:00:00.000Z)\n', stderr: '' },
    { name: 'deploy of a new app (JSON) says created', argv: ['app', 'deploy', 'api.json'], code: 0, stdout: 'created app /api (version 2025-06-01T11:00:00.000Z)\n', stderr: '' },
    {
      name: 'deploy of an invalid file prints every violation and sends nothing',
      argv: ['app', 'deploy', 'bad.yaml'],
      code: 2,
      stdout: '',
      stderr: [
        'error: invalid app definition in bad.yaml',
        '  cmd: one of cmd or args is required',
        '  cpus: must be at least 0.001',
        '  portDefinitions[0].port: must be at most 65535',
        '',
      ].join('\n'),
    },
    {
      name: 'deploy refused by the master prints its violations',
      argv: ['app', 'deploy', 'huge.yaml'],
      code: 2,
      stdout: '',
      stderr: 'error: rejected by the master\n  mem: no agent could ever offer 999999 MiB\n',
    },
    {
      name: 'deploy of a file that is not YAML',
      argv: ['app', 'deploy', 'broken.yaml'],
      code: 2,
      stdout: '',
      stderr: expect.stringMatching(/^error: broken\.yaml is not valid YAML: line \d+, column \d+: .+\n$/),
    },
    { name: 'deploy of a missing file', argv: ['app', 'deploy', 'nope.yaml'], code: 1, stdout: '', stderr: 'error: cannot read nope.yaml: no such file\n' },
    {
      name: 'list prints a table; WAITING counts instances held back by a launch delay too',
      argv: ['app', 'list'],
      code: 0,
      stdout: [
        'ID       RUNNING   STAGED   WAITING   CPUS   MEM    VERSION                    CMD',
        '/big     0/3       0        3         0.1    4096   2025-06-01T11:30:00.000Z   java -jar "big app.jar"',
        '/crash   1/2       0        1         0.1    64     2025-06-01T11:50:00.000Z   ./crash.sh',
        '/web     2/2       0        -         0.1    64     2025-06-01T11:00:00.000Z   node server.js',
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'get shows the spec and task counts',
      argv: ['app', 'get', 'web'],
      code: 0,
      stdout: [
        'ID:           /web',
        'Version:      2025-06-01T11:00:00.000Z',
        'Command:      node server.js',
        'Instances:    2',
        'CPUs:         0.1',
        'Memory:       64 MiB',
        'Disk:         0 MiB',
        'GPUs:         0',
        'Ports:        any/tcp (http)',
        'Env:          MODE=dev',
        'Kill grace:   3s',
        'Constraints:  -',
        'Placement:    binpack',
        'Backoff:      1s x1.15, max 300s',
        'Tasks:        2 running, 0 staged, 0 killing',
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'get explains why instances wait',
      argv: ['app', 'get', 'big'],
      code: 0,
      stdout: expect.stringContaining(
        [
          'Tasks:        0 running, 0 staged, 0 killing',
          'Waiting:      3 instances waiting: no agent has 4096 MiB of memory free',
          'Rejections (2 agents considered):',
          '  REASON             AGENTS   DETAIL',
          '  insufficient mem   2        need 4096 MiB, most free 960 MiB',
          '',
        ].join('\n'),
      ),
      stderr: '',
    },
    {
      name: 'get of a failing app shows placement, backoff, the launch delay and the last failure',
      argv: ['app', 'get', 'crash'],
      code: 0,
      stdout: [
        'ID:            /crash',
        'Version:       2025-06-01T11:50:00.000Z',
        'Command:       ./crash.sh',
        'Instances:     2',
        'CPUs:          0.1',
        'Memory:        64 MiB',
        'Disk:          0 MiB',
        'GPUs:          0',
        'Ports:         any/tcp (http)',
        'Env:           MODE=dev',
        'Kill grace:    3s',
        'Constraints:   hostname:UNIQUE, rack:GROUP_BY:3',
        'Placement:     spread',
        'Backoff:       2s x1.5, max 60s',
        'Tasks:         1 running, 0 staged, 0 killing',
        'Launch delay:  1.32s (3 consecutive failures), next launch at 2025-06-01T12:00:01.000Z (in 1s)',
        'Last failure:  crash.55555555-5555-5555-5555-555555555555 on node1, 2025-06-01T11:58:00.000Z (2m ago)',
        '               FAILED, exit code 1: command exited with code 1',
        '               ran version 2025-06-01T11:00:00.000Z (not the current one)',
        '               stderr (last 10 lines):',
        '                   at frame2 (crash.js:2)',
        '                   at frame3 (crash.js:3)',
        '                   at frame4 (crash.js:4)',
        '                   at frame5 (crash.js:5)',
        '                   at frame6 (crash.js:6)',
        '                   at frame7 (crash.js:7)',
        '                   at frame8 (crash.js:8)',
        '                   at frame9 (crash.js:9)',
        '                 Error: cannot open /data/db',
        '                 exiting',
        'Waiting:       launch delayed 1.0 s of 1.32 s after repeated failures: last task failed (command exited with code 1)',
        '',
      ].join('\n'),
      stderr: '',
    },
    { name: 'get of an unknown app', argv: ['app', 'get', 'nope'], code: 1, stdout: '', stderr: 'error: app nope not found\n' },
    { name: 'scale', argv: ['app', 'scale', 'web', '5'], code: 0, stdout: 'scaled app /web to 5 instances\n', stderr: '' },
    { name: 'scale to one', argv: ['app', 'scale', 'web', '1'], code: 0, stdout: 'scaled app /web to 1 instance\n', stderr: '' },
    {
      name: 'scale with a bad count',
      argv: ['app', 'scale', 'web', '-1'],
      code: 2,
      stdout: '',
      stderr: expect.stringContaining('bad count "-1": expected a whole number, 0 or more'),
    },
    { name: 'delete', argv: ['app', 'delete', 'web'], code: 0, stdout: 'deleted app web (2 tasks killed)\n', stderr: '' },
    { name: 'delete with one task', argv: ['app', 'delete', 'one'], code: 0, stdout: 'deleted app one (1 task killed)\n', stderr: '' },
    { name: 'delete of an unknown app', argv: ['app', 'delete', 'nope'], code: 1, stdout: '', stderr: 'error: app nope not found\n' },
  ])('$name', async ({ argv, code, stdout, stderr }) => {
    const result = await cli(...argv);
    expect(result).toEqual({ code, stdout, stderr });
  });

  it('sends the locally validated spec with defaults filled in', async () => {
    await cli('app', 'deploy', 'web.yaml');
    const [method, request] = master.calls.at(-1)!;
    expect(method).toBe('apps.deploy');
    expect(request).toMatchObject({ app: { id: '/web', cmd: 'node server.js', instances: 2, mem: 64, cpus: 1 } });
  });

  it('never calls the master for an invalid file', async () => {
    const before = master.calls.length;
    await cli('app', 'deploy', 'bad.yaml');
    expect(master.calls.length).toBe(before);
  });

  it.each([
    {
      name: 'list',
      argv: ['app', 'list', '--json'],
      want: [bigApp, crashApp, webApp].map((a) => expect.objectContaining({ version: a.version })),
    },
    {
      name: 'get of a failing app',
      argv: ['app', 'get', 'crash', '--json'],
      want: expect.objectContaining({
        spec: expect.objectContaining({ constraints: [{ field: 'hostname', operator: 'CONSTRAINT_OPERATOR_UNIQUE' }, expect.objectContaining({ value: '3' })] }),
        status: expect.objectContaining({
          launchDelaySeconds: 1.3225,
          consecutiveFailures: 3,
          lastTaskFailure: expect.objectContaining({ exitCode: 1, state: 'FAILED', stderrTail: expect.stringContaining('exiting') }),
        }),
      }),
    },
    {
      name: 'get',
      argv: ['app', 'get', 'web', '--json'],
      want: {
        spec: expect.objectContaining({ id: '/web', cmd: 'node server.js', portDefinitions: [{ protocol: 'tcp', name: 'http' }] }),
        version: webApp.version,
        status: { tasksRunning: 2 },
      },
    },
    { name: 'deploy', argv: ['app', 'deploy', 'api.json', '--json'], want: { app: expect.objectContaining({ spec: expect.objectContaining({ id: '/api' }) }), created: true } },
    { name: 'scale', argv: ['app', 'scale', 'web', '3', '--json'], want: expect.objectContaining({ spec: expect.objectContaining({ instances: 3 }) }) },
  ])('$name --json prints the proto JSON', async ({ argv, want }) => {
    const result = await cli(...argv);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(want);
  });
});
