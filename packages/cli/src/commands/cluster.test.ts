import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeMaster, startFakeMaster } from '../testing/fake-master.js';
import { clusterInfo } from '../testing/fixtures.js';
import { run } from '../testing/run-cli.js';

describe('drover cluster info', () => {
  let master: FakeMaster;

  beforeAll(async () => {
    master = await startFakeMaster({ 'cluster.info': () => clusterInfo });
  });

  afterAll(() => master.stop());

  it('prints the master facts', async () => {
    const result = await run(['cluster', 'info'], { env: { DROVER_MASTER: master.address } });
    expect(result).toEqual({
      code: 0,
      stdout: [
        `Master:         ${master.address}`,
        'Version:        0.1.0',
        'Leader:         127.0.0.1:5053 (this master)',
        'Epoch:          7',
        'Store:          sqlite',
        'Started:        2025-06-01T10:55:00.000Z',
        'Uptime:         65m',
        'Agents active:  1',
        'Apps:           2',
        'Live tasks:     2',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('prints the proto JSON with --json', async () => {
    const result = await run(['--master', master.address, 'cluster', 'info', '--json']);
    expect(JSON.parse(result.stdout)).toEqual({
      version: '0.1.0',
      leader: '127.0.0.1:5053',
      isLeader: true,
      uptimeSeconds: 3900,
      startedAt: '2025-06-01T10:55:00.000Z',
      epoch: 7,
      agentsActive: 1,
      apps: 2,
      tasksLive: 2,
      store: 'sqlite',
      masters: [{ grpcAddress: '127.0.0.1:5053', httpAddress: '127.0.0.1:5050', role: 'leader', epoch: 7 }],
      leaderHttp: '127.0.0.1:5050',
    });
  });
});

describe('drover cluster status', () => {
  let master: FakeMaster;

  beforeAll(async () => {
    master = await startFakeMaster({
      'cluster.info': () => ({
        ...clusterInfo,
        leader: '10.0.0.1:5053',
        isLeader: false,
        leaderHttp: '10.0.0.1:5050',
        masters: [
          { grpcAddress: '10.0.0.1:5053', httpAddress: '10.0.0.1:5050', role: 'leader', epoch: 7 },
          { grpcAddress: '10.0.0.2:5053', httpAddress: '10.0.0.2:5050', role: 'standby', epoch: 0 },
        ],
      }),
    });
  });

  afterAll(() => master.stop());

  it('names the leader and every master with role and epoch, as the answering master knows them', async () => {
    const result = await run(['cluster', 'status'], { env: { DROVER_MASTER: master.address } });
    expect(result).toEqual({
      code: 0,
      stdout: [
        'Leader:       10.0.0.1:5053 (HTTP 10.0.0.1:5050)',
        'Epoch:        7',
        `Answered by:  ${master.address} (a standby)`,
        '',
        'MASTER          HTTP            ROLE      EPOCH',
        '10.0.0.1:5053   10.0.0.1:5050   leader    7',
        '10.0.0.2:5053   10.0.0.2:5050   standby   -',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('prints the masters as JSON with --json', async () => {
    const result = await run(['cluster', 'status', '--json'], { env: { DROVER_MASTER: master.address } });
    expect(JSON.parse(result.stdout)).toEqual({
      leader: '10.0.0.1:5053',
      leaderHttp: '10.0.0.1:5050',
      answeredBy: master.address,
      masters: [
        { grpcAddress: '10.0.0.1:5053', httpAddress: '10.0.0.1:5050', role: 'leader', epoch: 7 },
        { grpcAddress: '10.0.0.2:5053', httpAddress: '10.0.0.2:5050', role: 'standby' },
      ],
    });
  });
});
