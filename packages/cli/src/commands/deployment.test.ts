import { Code, DroverError, NotFoundError } from '@drover/common';
import { Deployment, DeploymentState } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeMaster, startFakeMaster } from '../testing/fake-master.js';
import { NOW, shopRollback, shopUpdate, webScale } from '../testing/fixtures.js';
import { run } from '../testing/run-cli.js';

const canceled = Deployment.fromPartial({
  ...shopUpdate,
  state: DeploymentState.DEPLOYMENT_STATE_CANCELED,
  endedAt: NOW,
  message: 'canceled: rolling back',
  rollbackId: shopRollback.id,
});
/** The same deployment as ended, under an id of its own so both can be looked up. */
const ended = Deployment.fromPartial({ ...canceled, id: 'd-ended' });

describe('drover deployment', () => {
  let master: FakeMaster;
  const cli = (...argv: string[]) => run(['--master', master.address, ...argv]);

  beforeAll(async () => {
    master = await startFakeMaster({
      'deployments.list': (req: { appId: string; includeEnded: boolean }) => {
        if (req.appId === '/none') return { deployments: [] };
        return { deployments: req.includeEnded ? [shopUpdate, webScale] : [shopUpdate] };
      },
      'deployments.get': (req: { id: string }) => {
        const found = { [shopUpdate.id]: shopUpdate, [webScale.id]: webScale, [ended.id]: ended }[req.id];
        if (found === undefined) throw new NotFoundError('deployment', req.id);
        return { deployment: found };
      },
      'deployments.cancel': (req: { id: string; force: boolean }) => {
        if (req.id === webScale.id) throw new DroverError(`deployment ${req.id} is succeeded, not running`, Code.FailedPrecondition);
        if (req.id !== shopUpdate.id) throw new NotFoundError('deployment', req.id);
        if (req.force) return { canceled: { ...shopUpdate, state: DeploymentState.DEPLOYMENT_STATE_CANCELED, message: 'canceled (forced: no rollback)' } };
        return { canceled, rollback: shopRollback };
      },
    });
  });

  afterAll(() => master.stop());

  it.each([
    {
      name: 'list shows the deployments in progress',
      argv: ['deployment', 'list'],
      code: 0,
      stdout: [
        'ID                                     APP     KIND     STATE     PROGRESS             AGE   MESSAGE',
        `${shopUpdate.id}   /shop   UPDATE   RUNNING   4/6 healthy, 2 old   2m    -`,
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'list --all adds ended ones and when they ended',
      argv: ['deployment', 'list', '--all'],
      code: 0,
      stdout: [
        'ID                                     APP     KIND     STATE       PROGRESS             AGE   ENDED   MESSAGE',
        `${shopUpdate.id}   /shop   UPDATE   RUNNING     4/6 healthy, 2 old   2m    -       -`,
        `${webScale.id}   /web    SCALE    SUCCEEDED   2/2 healthy, 0 old   61m   60m     -`,
        '',
      ].join('\n'),
      stderr: '',
    },
    { name: 'list with none in progress', argv: ['deployment', 'list', '--app', 'none'], code: 0, stdout: '', stderr: 'no deployments in progress (--all shows ended ones)\n' },
    { name: 'list --all with none at all', argv: ['deployment', 'list', '--app', 'none', '--all'], code: 0, stdout: '', stderr: 'no deployments\n' },
    {
      name: 'get shows one deployment with its progress and deadline',
      argv: ['deployment', 'get', shopUpdate.id],
      code: 0,
      stdout: [
        `ID:             ${shopUpdate.id}`,
        'App:            /shop',
        'Kind:           UPDATE',
        'State:          RUNNING',
        'Version:        2025-06-01T11:58:00.000Z (from 2025-06-01T10:00:00.000Z)',
        'Progress:       RestartApplication /shop  [##########..........]  4/6 new healthy, 2 old remaining',
        'Strategy:       at least 3 healthy, at most 7 live; 6 healthy now',
        'Started:        2025-06-01T11:58:00.000Z (2m ago)',
        'Last progress:  2025-06-01T11:59:50.000Z (10s ago)',
        'Deadline:       fails at 2025-06-01T12:04:50.000Z (in 4m) without progress (300s deadline)',
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'get of an ended deployment shows when it ended, why, and its rollback',
      argv: ['deployment', 'get', 'd-ended'],
      code: 0,
      stdout: expect.stringContaining(
        [
          'State:          CANCELED',
          'Version:        2025-06-01T11:58:00.000Z (from 2025-06-01T10:00:00.000Z)',
          'Progress:       RestartApplication /shop  [##########..........]  4/6 new healthy, 2 old remaining',
          'Strategy:       at least 3 healthy, at most 7 live; 6 healthy now',
          'Started:        2025-06-01T11:58:00.000Z (2m ago)',
          'Last progress:  2025-06-01T11:59:50.000Z (10s ago)',
          'Ended:          2025-06-01T12:00:00.000Z (0s ago)',
          'Message:        canceled: rolling back',
          `Rollback:       ${shopRollback.id} (drover deployment get ${shopRollback.id})`,
          '',
        ].join('\n'),
      ),
      stderr: '',
    },
    { name: 'get of an unknown deployment', argv: ['deployment', 'get', 'nope'], code: 1, stdout: '', stderr: 'error: deployment nope not found\n' },
    {
      name: 'cancel rolls back and names the rollback deployment',
      argv: ['deployment', 'cancel', shopUpdate.id],
      code: 0,
      stdout: `canceled deployment ${shopUpdate.id}; rolling back /shop to version 2025-06-01T10:00:00.000Z with deployment ${shopRollback.id} (drover deployment get ${shopRollback.id} shows it)\n`,
      stderr: '',
    },
    {
      name: 'cancel --force just stops it',
      argv: ['deployment', 'cancel', shopUpdate.id, '--force'],
      code: 0,
      stdout: `canceled deployment ${shopUpdate.id} without rolling back; /shop keeps version 2025-06-01T11:58:00.000Z\n`,
      stderr: '',
    },
    { name: 'cancel of an unknown deployment', argv: ['deployment', 'cancel', 'nope'], code: 1, stdout: '', stderr: 'error: deployment nope not found\n' },
    {
      name: 'cancel of an ended deployment',
      argv: ['deployment', 'cancel', webScale.id],
      code: 1,
      stdout: '',
      stderr: `error: deployment ${webScale.id} is succeeded, not running\n`,
    },
  ])('$name', async ({ argv, code, stdout, stderr }) => {
    expect(await cli(...argv)).toEqual({ code, stdout, stderr });
  });

  it('passes --app and --all to the master', async () => {
    await cli('deployment', 'list', '--app', 'shop', '--all');
    expect(master.calls.at(-1)).toEqual(['deployments.list', { appId: '/shop', includeEnded: true }]);
  });

  it.each([
    { name: 'cancel', argv: ['deployment', 'cancel', shopUpdate.id], want: ['deployments.cancel', { id: shopUpdate.id, force: false }] },
    { name: 'cancel --force', argv: ['deployment', 'cancel', shopUpdate.id, '--force'], want: ['deployments.cancel', { id: shopUpdate.id, force: true }] },
  ])('$name sends force', async ({ argv, want }) => {
    await cli(...argv);
    expect(master.calls.at(-1)).toEqual(want);
  });

  it.each([
    { name: 'list', argv: ['deployment', 'list', '--all', '--json'], want: [expect.objectContaining({ id: shopUpdate.id, state: 'DEPLOYMENT_STATE_RUNNING' }), expect.objectContaining({ kind: 'DEPLOYMENT_KIND_SCALE' })] },
    {
      name: 'get',
      argv: ['deployment', 'get', shopUpdate.id, '--json'],
      want: expect.objectContaining({ id: shopUpdate.id, progress: { targetInstances: 6, newLive: 5, newHealthy: 4, oldRemaining: 2, healthyTotal: 6 } }),
    },
    {
      name: 'cancel',
      argv: ['deployment', 'cancel', shopUpdate.id, '--json'],
      want: { canceled: expect.objectContaining({ state: 'DEPLOYMENT_STATE_CANCELED', rollbackId: shopRollback.id }), rollback: expect.objectContaining({ id: shopRollback.id }) },
    },
  ])('$name --json prints the proto JSON', async ({ argv, want }) => {
    const result = await cli(...argv);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(want);
  });
});
