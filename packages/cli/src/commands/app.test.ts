import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Code, DroverError, NotFoundError, ValidationError } from '@drover/common';
import { App, type AppSpec, Deployment, DeploymentKind, DeploymentState } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeploymentScript } from '../testing/deployment-script.js';
import { type FakeMaster, startFakeMaster } from '../testing/fake-master.js';
import {
  ago,
  bigApp,
  crashApp,
  deploymentEvent,
  healthyTask,
  NOW,
  runningTask,
  shopApp,
  shopRollback,
  shopUpdate,
  shopUpdateAt,
  shopV1,
  taskEvent,
  webApp,
} from '../testing/fixtures.js';
import { run } from '../testing/run-cli.js';

const V1 = '2025-06-01T10:00:00.000Z';
const V_CONFIG = '2025-06-01T10:30:00.000Z';
const V = webApp.version;

/** An update of /web from V1, with `newHealthy` of 2 new instances healthy and `oldRemaining` old ones left. */
function webAt(newHealthy: number, oldRemaining: number, more: Partial<Deployment> = {}): Deployment {
  return Deployment.fromPartial({
    id: 'd-web',
    appId: '/web',
    version: V,
    fromVersion: V1,
    kind: DeploymentKind.DEPLOYMENT_KIND_UPDATE,
    state: DeploymentState.DEPLOYMENT_STATE_RUNNING,
    steps: [{ action: 'RestartApplication', appId: '/web' }],
    currentStep: 1,
    progress: { targetInstances: 2, newLive: newHealthy, newHealthy, oldRemaining, healthyTotal: newHealthy + oldRemaining },
    startedAt: ago(42),
    minHealthy: 2,
    maxLive: 4,
    ...more,
  });
}
const succeeded = { state: DeploymentState.DEPLOYMENT_STATE_SUCCEEDED, endedAt: NOW };

/** A new app's deployment. */
const apiCreate = Deployment.fromPartial({
  ...webAt(0, 0),
  id: 'd-api',
  appId: '/api',
  fromVersion: '',
  kind: DeploymentKind.DEPLOYMENT_KIND_CREATE,
  steps: [{ action: 'StartApplication', appId: '/api' }],
  progress: { targetInstances: 1 },
});

/** /web scaled to `instances`, `healthy` of them healthy. */
function webScaleTo(instances: number, healthy: number, more: Partial<Deployment> = {}): Deployment {
  return Deployment.fromPartial({
    ...webAt(0, 0),
    id: 'd-scale',
    fromVersion: V,
    kind: DeploymentKind.DEPLOYMENT_KIND_SCALE,
    steps: [{ action: 'ScaleApplication', appId: '/web' }],
    progress: { targetInstances: instances, newLive: healthy, newHealthy: healthy, healthyTotal: healthy },
    startedAt: ago(5),
    ...more,
  });
}

/** The deployment holding /locked. */
const lockedBy = Deployment.fromPartial({ ...shopUpdate, id: 'd-lock', appId: '/locked' });
const lockedError = (id: string) => new DroverError(`app ${id} is locked by deployment d-lock; retry when it ends, or force the change`, Code.FailedPrecondition);
const lockedHint = 'hint: deployment d-lock (UPDATE, 4/6 healthy, 2 old) is still running: add --force to replace it, or cancel it with drover deployment cancel d-lock\n';

/** The rollback of /shop's failed update, ending at `newHealthy` of 6 with `oldRemaining` left. */
const shopRollbackAt = (newHealthy: number, oldRemaining: number, more: Partial<Deployment> = {}): Deployment =>
  Deployment.fromPartial({
    ...shopRollback,
    progress: { targetInstances: 6, newLive: newHealthy, newHealthy, oldRemaining, healthyTotal: newHealthy + oldRemaining },
    ...more,
  });
const shopFailure = `no progress for 300 s (progress deadline 300 s); rolling back to ${shopV1}`;

describe('drover app', () => {
  let master: FakeMaster;
  let dir: string;
  const script = new DeploymentScript();
  const cli = (...argv: string[]) => run(['--master', master.address, ...argv], { cwd: dir });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-app-cmd-'));
    await writeFile(path.join(dir, 'web.yaml'), 'id: web\ncmd: node server.js\ninstances: 2\nmem: 64\n');
    await writeFile(path.join(dir, 'api.json'), JSON.stringify({ id: '/api', args: ['api'], mem: 64 }));
    await writeFile(path.join(dir, 'huge.yaml'), 'id: huge\ncmd: x\nmem: 999999\n');
    await writeFile(path.join(dir, 'bad.yaml'), 'id: web\ncpus: 0\nportDefinitions:\n  - port: 70000\n');
    await writeFile(path.join(dir, 'broken.yaml'), 'id: web\ncmd: [x\n');
    await writeFile(path.join(dir, 'shop.yaml'), 'id: shop\ncmd: ./shop\ninstances: 6\n');
    await writeFile(path.join(dir, 'same.yaml'), 'id: same\ncmd: x\n');
    await writeFile(path.join(dir, 'locked.yaml'), 'id: locked\ncmd: x\n');
    master = await startFakeMaster({
      ...script.handlers(),
      'apps.deploy': (req: { app: AppSpec; force: boolean }) => {
        if (req.app.mem !== undefined && req.app.mem > 100_000) {
          throw new ValidationError([{ path: 'mem', message: 'no agent could ever offer 999999 MiB' }], 'rejected by the master');
        }
        if (req.app.id === '/locked' && !req.force) throw lockedError('/locked');
        const app = { ...(req.app.id === '/shop' ? shopApp : webApp), spec: req.app };
        const deployment = { '/web': webAt(0, 2), '/api': apiCreate, '/shop': shopUpdateAt(3, 3), '/locked': webAt(0, 2, { id: 'd-forced', appId: '/locked' }) }[req.app.id];
        return { app, created: req.app.id === '/api', deployment };
      },
      'apps.list': () => ({ apps: [bigApp, crashApp, shopApp, webApp] }),
      'apps.get': (req: { id: string }) => {
        const app = { '/web': webApp, web: webApp, big: bigApp, crash: crashApp, shop: shopApp }[req.id];
        if (app === undefined) throw new NotFoundError('app', req.id);
        return { app };
      },
      'apps.scale': (req: { id: string; instances: number; force: boolean }) => {
        if (req.id === 'locked' && !req.force) throw lockedError('/locked');
        const app = App.fromPartial({ ...webApp, spec: { ...webApp.spec!, instances: req.instances } });
        return req.instances === webApp.spec?.instances ? { app } : { app, deployment: webScaleTo(req.instances, 2) };
      },
      'apps.restart': (req: { id: string; force: boolean }) => {
        if (req.id === 'locked' && !req.force) throw lockedError('/locked');
        return { deployment: webAt(0, 2, { id: 'd-restart', kind: DeploymentKind.DEPLOYMENT_KIND_RESTART, version: '2025-06-01T12:00:00.000Z', fromVersion: V }) };
      },
      'apps.versions': (req: { id: string }) => {
        if (req.id !== 'web') throw new NotFoundError('app', req.id);
        return {
          versions: [
            // The current version is a scale down of the configuration before it: same spec, 2 instances instead of 3.
            { version: V, spec: webApp.spec, configVersion: V_CONFIG },
            { version: V_CONFIG, spec: { ...webApp.spec!, instances: 3 }, configVersion: '' },
            { version: V1, spec: { ...webApp.spec!, cmd: '', args: ['node', 'old server.js'], instances: 4, mem: 128 }, configVersion: '' },
          ],
        };
      },
      'apps.rollback': (req: { id: string; toVersion: string; force: boolean }) => {
        if (req.toVersion === 'nope') throw new NotFoundError('version', 'nope of app /web');
        const version = '2025-06-01T12:00:00.000Z';
        const deployment = webAt(0, 2, { id: 'd-back', kind: DeploymentKind.DEPLOYMENT_KIND_ROLLBACK, version, fromVersion: V });
        return { app: { ...webApp, version }, deployment };
      },
      'apps.delete': (req: { id: string; force: boolean }) => {
        if (req.id === 'nope') throw new NotFoundError('app', req.id);
        if (req.id === 'locked' && !req.force) throw lockedError('/locked');
        return { tasksKilled: req.id === 'one' ? 1 : 2 };
      },
      'deployments.list': (req: { appId: string }) => ({ deployments: { '/shop': [shopUpdate], '/locked': [lockedBy] }[req.appId] ?? [] }),
    });
  });

  afterAll(async () => {
    master.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    {
      name: 'deploy --detach of an existing app (YAML) says updated and names the deployment',
      argv: ['app', 'deploy', 'web.yaml', '--detach'],
      code: 0,
      stdout: `updated app /web (version ${V}), deployment d-web\n`,
      stderr: '',
    },
    {
      name: 'deploy --detach of a new app (JSON) says created',
      argv: ['app', 'deploy', 'api.json', '--detach'],
      code: 0,
      stdout: `created app /api (version ${V}), deployment d-api\n`,
      stderr: '',
    },
    { name: 'deploy of an unchanged spec starts no deployment', argv: ['app', 'deploy', 'same.yaml'], code: 0, stdout: `app /same is unchanged (version ${V})\n`, stderr: '' },
    {
      name: 'deploy to a locked app prints the master\'s message and a hint',
      argv: ['app', 'deploy', 'locked.yaml'],
      code: 1,
      stdout: '',
      stderr: `error: app /locked is locked by deployment d-lock; retry when it ends, or force the change\n${lockedHint}`,
    },
    {
      name: 'deploy --force replaces the running deployment',
      argv: ['app', 'deploy', 'locked.yaml', '--force', '--detach'],
      code: 0,
      stdout: `updated app /locked (version ${V}), deployment d-forced\n`,
      stderr: '',
    },
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
    { name: 'deploy of a missing file', argv: ['app', 'deploy', 'nope.yaml'], code: 2, stdout: '', stderr: 'error: cannot read nope.yaml: no such file\n' },
    {
      name: 'list prints a table; WAITING counts instances held back by a launch delay too',
      argv: ['app', 'list'],
      code: 0,
      stdout: [
        'ID       RUNNING   HEALTH   STAGED   WAITING   CPUS   MEM    VERSION                    CMD',
        '/big     0/3       -        0        3         0.1    4096   2025-06-01T11:30:00.000Z   java -jar "big app.jar"',
        '/crash   1/2       -        0        1         0.1    64     2025-06-01T11:50:00.000Z   ./crash.sh',
        '/shop    7/6       5/6      1        -         0.1    64     2025-06-01T11:58:00.000Z   ./shop --port $PORT0',
        '/web     2/2       -        0        -         0.1    64     2025-06-01T11:00:00.000Z   node server.js',
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
        'Health:       -',
        'Upgrade:      keep 100% healthy, up to 100% over capacity, 600s progress deadline',
        'Tasks:        2 running, 0 staged, 0 killing',
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'get of an app with health checks shows them, the tasks by health and the deployment in progress',
      argv: ['app', 'get', 'shop'],
      code: 0,
      stdout: expect.stringContaining(
        [
          'Backoff:      1s x1.15, max 300s',
          'Health:       HTTP /health on port index 0 every 10s (timeout 2s, grace 30s, kill after 3 failures)',
          '              COMMAND `test -f /tmp/ready` every 60s (timeout 20s, grace 300s, never kills)',
          'Upgrade:      keep 50% healthy, up to 20% over capacity, 300s progress deadline',
          'Tasks:        7 running (5 healthy, 1 unhealthy, 1 unknown), 1 staged, 0 killing',
          `Deployment:   ${shopUpdate.id} UPDATE RUNNING 4/6 healthy, 2 old, started 2m ago`,
          '',
        ].join('\n'),
      ),
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
        'Health:        -',
        'Upgrade:       keep 100% healthy, up to 100% over capacity, 600s progress deadline',
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
    { name: 'scale --detach', argv: ['app', 'scale', 'web', '5', '--detach'], code: 0, stdout: 'scaling app /web to 5 instances, deployment d-scale\n', stderr: '' },
    { name: 'scale to one', argv: ['app', 'scale', 'web', '1', '--detach'], code: 0, stdout: 'scaling app /web to 1 instance, deployment d-scale\n', stderr: '' },
    { name: 'scale to the current count starts no deployment', argv: ['app', 'scale', 'web', '2'], code: 0, stdout: 'app /web already has 2 instances\n', stderr: '' },
    {
      name: 'scale of a locked app',
      argv: ['app', 'scale', 'locked', '3'],
      code: 1,
      stdout: '',
      stderr: `error: app /locked is locked by deployment d-lock; retry when it ends, or force the change\n${lockedHint}`,
    },
    {
      name: 'restart --detach',
      argv: ['app', 'restart', 'web', '--detach'],
      code: 0,
      stdout: 'restarting app /web (version 2025-06-01T12:00:00.000Z), deployment d-restart\n',
      stderr: '',
    },
    {
      name: 'restart of a locked app',
      argv: ['app', 'restart', 'locked'],
      code: 1,
      stdout: '',
      stderr: `error: app /locked is locked by deployment d-lock; retry when it ends, or force the change\n${lockedHint}`,
    },
    {
      name: 'rollback --detach to the previous version',
      argv: ['app', 'rollback', 'web', '--detach'],
      code: 0,
      stdout: 'rolling back app /web to its previous version (as version 2025-06-01T12:00:00.000Z), deployment d-back\n',
      stderr: '',
    },
    {
      name: 'rollback --detach --to a version',
      argv: ['app', 'rollback', 'web', '--to', V1, '--detach'],
      code: 0,
      stdout: `rolling back app /web to version ${V1} (as version 2025-06-01T12:00:00.000Z), deployment d-back\n`,
      stderr: '',
    },
    { name: 'rollback --to an unknown version prints the master\'s error', argv: ['app', 'rollback', 'web', '--to', 'nope'], code: 1, stdout: '', stderr: 'error: version nope of app /web not found\n' },
    {
      name: 'versions lists them newest first, marks the current one, and which only scaled (their instance count is the truth)',
      argv: ['app', 'versions', 'web'],
      code: 0,
      stdout: [
        'VERSION                                      INSTANCES   CPUS   MEM   CMD',
        '2025-06-01T11:00:00.000Z (current) (scale)   2           0.1    64    node server.js',
        '2025-06-01T10:30:00.000Z                     3           0.1    64    node server.js',
        '2025-06-01T10:00:00.000Z                     4           0.1    128   node "old server.js"',
        '',
      ].join('\n'),
      stderr: '',
    },
    { name: 'versions of an unknown app', argv: ['app', 'versions', 'nope'], code: 1, stdout: '', stderr: 'error: app nope not found\n' },
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
    {
      name: 'delete of a locked app',
      argv: ['app', 'delete', 'locked'],
      code: 1,
      stdout: '',
      stderr: `error: app /locked is locked by deployment d-lock; retry when it ends, or force the change\n${lockedHint}`,
    },
    { name: 'delete --force of a locked app', argv: ['app', 'delete', 'locked', '--force'], code: 0, stdout: 'deleted app locked (2 tasks killed)\n', stderr: '' },
  ])('$name', async ({ argv, code, stdout, stderr }) => {
    const result = await cli(...argv);
    expect(result).toEqual({ code, stdout, stderr });
  });

  it('sends the locally validated spec with defaults filled in', async () => {
    await cli('app', 'deploy', 'web.yaml', '--detach');
    const [method, request] = master.calls.at(-1)!;
    expect(method).toBe('apps.deploy');
    expect(request).toMatchObject({ app: { id: '/web', cmd: 'node server.js', instances: 2, mem: 64, cpus: 1 }, force: false });
  });

  it.each([
    { name: 'deploy', argv: ['app', 'deploy', 'locked.yaml', '--force', '--detach'], want: ['apps.deploy', expect.objectContaining({ force: true })] },
    { name: 'scale', argv: ['app', 'scale', 'web', '3', '--force', '--detach'], want: ['apps.scale', { id: 'web', instances: 3, force: true }] },
    { name: 'restart', argv: ['app', 'restart', 'web', '--force', '--detach'], want: ['apps.restart', { id: 'web', force: true }] },
    { name: 'rollback', argv: ['app', 'rollback', 'web', '--to', V1, '--force', '--detach'], want: ['apps.rollback', { id: 'web', toVersion: V1, force: true }] },
    { name: 'delete', argv: ['app', 'delete', 'web', '--force'], want: ['apps.delete', { id: 'web', force: true }] },
    { name: 'delete without it', argv: ['app', 'delete', 'web'], want: ['apps.delete', { id: 'web', force: false }] },
  ])('$name sends --force', async ({ argv, want }) => {
    expect((await cli(...argv)).code).toBe(0);
    expect(master.calls.at(-1)).toEqual(want);
  });

  it('--detach never watches the deployment', async () => {
    const before = master.calls.length;
    await cli('app', 'deploy', 'web.yaml', '--detach');
    expect(master.calls.slice(before).map(([m]) => m)).toEqual(['apps.deploy']);
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
      want: [bigApp, crashApp, shopApp, webApp].map((a) => expect.objectContaining({ version: a.version })),
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
        status: { tasksRunning: 2, tasksHealthy: 2 },
      },
    },
    {
      name: 'deploy',
      argv: ['app', 'deploy', 'api.json', '--json', '--detach'],
      want: { app: expect.objectContaining({ spec: expect.objectContaining({ id: '/api' }) }), created: true, deployment: expect.objectContaining({ id: 'd-api', kind: 'DEPLOYMENT_KIND_CREATE' }) },
    },
    {
      name: 'scale',
      argv: ['app', 'scale', 'web', '3', '--json', '--detach'],
      want: { app: expect.objectContaining({ spec: expect.objectContaining({ instances: 3 }) }), deployment: expect.objectContaining({ id: 'd-scale' }) },
    },
    { name: 'restart', argv: ['app', 'restart', 'web', '--json', '--detach'], want: { deployment: expect.objectContaining({ id: 'd-restart', kind: 'DEPLOYMENT_KIND_RESTART' }) } },
    {
      name: 'rollback',
      argv: ['app', 'rollback', 'web', '--json', '--detach'],
      want: { app: expect.objectContaining({ version: '2025-06-01T12:00:00.000Z' }), deployment: expect.objectContaining({ id: 'd-back' }) },
    },
    {
      name: 'versions',
      argv: ['app', 'versions', 'web', '--json'],
      want: [
        { version: V, spec: expect.objectContaining({ cmd: 'node server.js', instances: 2 }), configVersion: V_CONFIG },
        { version: V_CONFIG, spec: expect.objectContaining({ cmd: 'node server.js', instances: 3 }) },
        { version: V1, spec: expect.objectContaining({ args: ['node', 'old server.js'] }) },
      ],
    },
  ])('$name --json prints the proto JSON', async ({ argv, want }) => {
    const result = await cli(...argv);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(want);
  });
  describe('waiting for the deployment', () => {
    /** /web's update: one task event moves it half way, then it succeeds. */
    const webSucceeds = (): void =>
      script.play(
        [webAt(0, 2)],
        [
          { state: webAt(1, 1), event: taskEvent(runningTask), awaitPoll: true },
          { event: deploymentEvent('deployment_success', webAt(2, 0, succeeded)) },
        ],
      );
    const webLines = [
      'RestartApplication /web  [....................]  0/2 new healthy, 2 old remaining',
      'RestartApplication /web  [######..............]  1/2 new healthy, 1 old remaining',
      'RestartApplication /web  [####################]  2/2 new healthy, 0 old remaining',
    ];

    it('prints a line whenever the numbers change and exits 0 once it succeeded', async () => {
      webSucceeds();
      expect(await cli('app', 'deploy', 'web.yaml')).toEqual({
        code: 0,
        stdout: [`updated app /web (version ${V}), deployment d-web`, ...webLines, 'deployment d-web succeeded in 42s', ''].join('\n'),
        stderr: '',
      });
    });

    it('redraws the progress in place on a terminal', async () => {
      webSucceeds();
      const result = await run(['--master', master.address, 'app', 'deploy', 'web.yaml'], { cwd: dir, ttyColumns: 120 });
      const redraw = '\u001b[1F\u001b[J';
      expect(result).toEqual({
        code: 0,
        stdout: `updated app /web (version ${V}), deployment d-web\n${webLines.join(`\n${redraw}`)}\ndeployment d-web succeeded in 42s\n`,
        stderr: '',
      });
    });

    it('with --json prints only the answer as JSON, and still waits', async () => {
      webSucceeds();
      const before = master.calls.length;
      const result = await cli('app', 'deploy', 'web.yaml', '--json');
      expect(result).toEqual({ code: 0, stdout: expect.any(String), stderr: '' });
      expect(JSON.parse(result.stdout)).toEqual({ app: expect.objectContaining({ version: V }), deployment: expect.objectContaining({ id: 'd-web', state: 'DEPLOYMENT_STATE_RUNNING' }) });
      expect(master.calls.slice(before).map(([m]) => m)).toContain('events.watch');
    });

    it('follows the rollback of a failed deployment, prints both outcomes and exits 1', async () => {
      script.play(
        [shopUpdateAt(3, 3), shopRollback],
        [
          { state: shopUpdateAt(4, 2), event: taskEvent(healthyTask), awaitPoll: true },
          { event: deploymentEvent('deployment_failed', shopUpdateAt(4, 2, { state: DeploymentState.DEPLOYMENT_STATE_FAILED, endedAt: NOW, message: shopFailure, rollbackId: shopRollback.id })) },
        ],
        [{ event: deploymentEvent('deployment_success', shopRollbackAt(6, 0, succeeded)) }],
      );
      expect(await cli('app', 'deploy', 'shop.yaml')).toEqual({
        code: 1,
        stdout: [
          `updated app /shop (version ${shopApp.version}), deployment ${shopUpdate.id}`,
          'RestartApplication /shop  [######..............]  3/6 new healthy, 3 old remaining',
          'RestartApplication /shop  [##########..........]  4/6 new healthy, 2 old remaining',
          `rolling back: deployment ${shopRollback.id} returns /shop to version ${shopV1}`,
          'RestartApplication /shop  [####................]  2/6 new healthy, 4 old remaining',
          'RestartApplication /shop  [####################]  6/6 new healthy, 0 old remaining',
          '',
        ].join('\n'),
        stderr: [`error: deployment ${shopUpdate.id} failed: ${shopFailure}`, `rollback ${shopRollback.id} succeeded in 5s: /shop is back at version ${shopV1}`, ''].join('\n'),
      });
    });

    it('says so when the rollback fails too', async () => {
      script.play(
        [shopUpdateAt(3, 3), shopRollback],
        [{ event: deploymentEvent('deployment_failed', shopUpdateAt(3, 3, { state: DeploymentState.DEPLOYMENT_STATE_FAILED, message: shopFailure, rollbackId: shopRollback.id })) }],
        [{ event: deploymentEvent('deployment_failed', shopRollbackAt(2, 4, { state: DeploymentState.DEPLOYMENT_STATE_FAILED, message: 'no progress for 300 s (progress deadline 300 s)' })) }],
      );
      const result = await cli('app', 'deploy', 'shop.yaml');
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `error: deployment ${shopUpdate.id} failed: ${shopFailure}\nrollback ${shopRollback.id} failed: no progress for 300 s (progress deadline 300 s)\n`,
      );
    });

    it('exits 1 when the deployment is canceled', async () => {
      script.play([apiCreate], [{ event: deploymentEvent('deployment_failed', Deployment.fromPartial({ ...apiCreate, state: DeploymentState.DEPLOYMENT_STATE_CANCELED, message: 'the app was deleted' })) }]);
      expect(await cli('app', 'deploy', 'api.json')).toEqual({
        code: 1,
        stdout: `created app /api (version ${V}), deployment d-api\nStartApplication /api  [....................]  0/1 new healthy, 0 old remaining\n`,
        stderr: 'error: deployment d-api was canceled: the app was deleted\n',
      });
    });

    it('scale waits for its deployment too', async () => {
      script.play([webScaleTo(5, 2)], [{ event: deploymentEvent('deployment_success', webScaleTo(5, 5, succeeded)) }]);
      expect(await cli('app', 'scale', 'web', '5')).toEqual({
        code: 0,
        stdout: [
          'scaling app /web to 5 instances, deployment d-scale',
          'ScaleApplication /web  [########............]  2/5 new healthy, 0 old remaining',
          'ScaleApplication /web  [####################]  5/5 new healthy, 0 old remaining',
          'deployment d-scale succeeded in 5s',
          '',
        ].join('\n'),
        stderr: '',
      });
    });

    it.each([
      { name: 'restart', argv: ['app', 'restart', 'web'], id: 'd-restart', first: 'restarting app /web (version 2025-06-01T12:00:00.000Z), deployment d-restart' },
      { name: 'rollback', argv: ['app', 'rollback', 'web'], id: 'd-back', first: 'rolling back app /web to its previous version (as version 2025-06-01T12:00:00.000Z), deployment d-back' },
    ])('$name waits for its deployment too', async ({ argv, id, first }) => {
      script.play([webAt(0, 2, { id })], [{ event: deploymentEvent('deployment_success', webAt(2, 0, { id, ...succeeded })) }]);
      expect(await cli(...argv)).toEqual({
        code: 0,
        stdout: [first, webLines[0], webLines[2], `deployment ${id} succeeded in 42s`, ''].join('\n'),
        stderr: '',
      });
    });

    it('Ctrl-C stops the waiting at once, not the deployment, and says how to follow it', async () => {
      script.play([webAt(0, 2)], []);
      const waitForStop = () => new Promise<string>((resolve) => setTimeout(() => resolve('SIGINT'), 100));
      const result = await run(['--master', master.address, 'app', 'deploy', 'web.yaml'], { cwd: dir, runtime: { waitForStop } });
      expect(result).toEqual({
        code: 130,
        stdout: `updated app /web (version ${V}), deployment d-web\n${webLines[0]}\n`,
        stderr: 'stopped waiting; deployment d-web goes on (drover deployment get d-web shows it, drover deployment cancel d-web rolls it back)\n',
      });
      await vi.waitFor(() => expect(master.canceled).toContain('events.watch'));
    });

    it('fails with the master\'s error when the deployment cannot be read', async () => {
      script.play([], []);
      expect(await cli('app', 'deploy', 'web.yaml')).toEqual({
        code: 1,
        stdout: `updated app /web (version ${V}), deployment d-web\n${webLines[0]}\n`,
        stderr: 'error: deployment d-web not found\n',
      });
    });
  });
});
