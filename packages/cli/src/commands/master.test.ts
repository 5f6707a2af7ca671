import { AddressInUseError } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { fakeRuntime } from '../testing/fake-runtime.js';
import { run } from '../testing/run-cli.js';

describe('drover master', () => {
  it.each([
    {
      name: 'defaults',
      argv: ['master', '--data-dir', '/var/lib/drover', '--insecure'],
      want: { dataDir: '/var/lib/drover', grpcHost: '0.0.0.0', httpHost: '0.0.0.0', grpcPort: 5053, httpPort: 5050, agentLostTimeoutMs: 3000, taskHistoryMs: 3_600_000, taskHistoryMax: 1000, forceNewCluster: false, minRunningMs: 5000 },
    },
    {
      name: 'every flag',
      argv: ['master', '--data-dir', 'm', '--host', '10.0.0.5', '--grpc-port', '7053', '--http-port', '7050', '--lost-timeout', '30s', '--insecure', '--task-history', '10m', '--task-history-max', '50', '--force-new-cluster', '--min-running', '2s'],
      want: { dataDir: '/srv/m', grpcHost: '10.0.0.5', httpHost: '10.0.0.5', grpcPort: 7053, httpPort: 7050, agentLostTimeoutMs: 30_000, taskHistoryMs: 600_000, taskHistoryMax: 50, forceNewCluster: true, minRunningMs: 2000 },
    },
  ])('runs until stopped with $name', async ({ argv, want }) => {
    const fake = fakeRuntime();
    // The fake runtime signals stop once an agent registers; with no agent, stop on a timer.
    const runtime = { ...fake.runtime, waitForStop: () => new Promise<string>((r) => setTimeout(() => r('SIGTERM'), 5)) };
    const result = await run(argv, { cwd: '/srv', runtime });
    expect(result.code).toBe(0);
    expect(fake.masterOptions).toEqual([expect.objectContaining(want)]);
    expect(fake.events).toEqual(['master.start', 'master.stop']);
    expect(result.stdout).toMatch(/^master listening on .+\nstopping master; tasks on agents keep running\nstopped\n$/);
  });

  it('runs an HA master on etcd with --etcd, without a data dir', async () => {
    const fake = fakeRuntime();
    const runtime = { ...fake.runtime, waitForStop: () => new Promise<string>((r) => setTimeout(() => r('SIGTERM'), 5)) };
    const result = await run(['master', '--host', '127.0.0.1', '--etcd', 'http://e1:2379,http://e2:2379', '--etcd-prefix', '/prod', '--lease-ttl', '3s', '--advertise', 'm1.example'], { runtime });
    expect(result.code).toBe(0);
    expect(fake.masterOptions).toEqual([expect.objectContaining({ etcd: { endpoints: ['http://e1:2379', 'http://e2:2379'], prefix: '/prod', leaseTtlMs: 3000 }, advertiseHost: 'm1.example' })]);
    expect(result.stdout).toContain('state in etcd http://e1:2379,http://e2:2379 under /prod');
  });

  it.each([
    { argv: ['--etcd', 'e1:2379'], stderr: /bad etcd endpoint "e1:2379"/ },
    { argv: ['--etcd', 'http://e1:2379', '--etcd-prefix', 'drover'], stderr: /bad etcd prefix "drover"/ },
    { argv: ['--etcd', 'http://e1:2379', '--lease-ttl', '500ms'], stderr: /--lease-ttl must be at least 1s/ },
  ])('refuses $argv', async ({ argv, stderr }) => {
    const fake = fakeRuntime();
    const result = await run(['master', '--host', '127.0.0.1', ...argv], { runtime: fake.runtime });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(stderr);
    expect(fake.events).toEqual([]);
  });

  it('exits 1 saying why when the master stops on its own (lost leadership, failed store)', async () => {
    const fake = fakeRuntime();
    const runtime = {
      ...fake.runtime,
      startMaster: async (o: Parameters<typeof fake.runtime.startMaster>[0]) => ({ ...(await fake.runtime.startMaster(o)), stopped: Promise.resolve('lost the leadership') }),
      waitForStop: () => new Promise<string>(() => undefined),
    };
    const result = await run(['master', '--host', '127.0.0.1', '--etcd', 'http://e1:2379'], { runtime });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('master stopped: lost the leadership\n');
    expect(fake.events).toEqual(['master.start', 'master.stop']);
  });

  it('serves plaintext without --insecure only on loopback', async () => {
    const fake = fakeRuntime();
    const runtime = { ...fake.runtime, waitForStop: () => new Promise<string>((r) => setTimeout(() => r('SIGTERM'), 5)) };
    const refused = await run(['master', '--data-dir', '/d'], { runtime });
    expect(refused).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: refusing plaintext gRPC when serving on 0.0.0.0:5053: give --tls-ca, --tls-cert and --tls-key ' +
        '(scripts/gen-certs makes a set), or --insecure on a network you trust\n',
    });
    expect(fake.events).toEqual([]);
    const local = await run(['master', '--data-dir', '/d', '--host', '127.0.0.1'], { runtime });
    expect(local.code).toBe(0);
    expect(local.stdout).toContain('plaintext');
  });

  it('names the flag to change when its gRPC port is in use', async () => {
    const fake = fakeRuntime({ masterFails: new AddressInUseError('grpc', '127.0.0.1', 5053) });
    const result = await run(['master', '--data-dir', '/d', '--host', '127.0.0.1'], { runtime: fake.runtime });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: cannot listen on 127\.0\.0\.1:5053 \(gRPC\): the port is in use\nhint: .*pass --grpc-port to use another port/);
  });

  it.each([
    { name: '--log-level', argv: ['--log-level', 'debug'], env: {}, level: 'debug' },
    { name: 'DROVER_LOG_LEVEL', argv: [], env: { DROVER_LOG_LEVEL: 'error' }, level: 'error' },
    { name: 'the default', argv: [], env: {}, level: 'info' },
  ])('logs at the level $name says', async ({ argv, env, level }) => {
    const fake = fakeRuntime();
    const runtime = { ...fake.runtime, waitForStop: () => new Promise<string>((r) => setTimeout(() => r('SIGTERM'), 5)) };
    const result = await run(['master', '--data-dir', '/d', '--host', '127.0.0.1', ...argv], { runtime, env });
    expect(result.code).toBe(0);
    expect(fake.masterOptions[0]?.logger?.level).toBe(level);
  });

  it.each([
    { name: 'an unknown --log-level', argv: ['--log-level', 'loud'], env: {}, stderr: "error: option '--log-level <level>' argument 'loud' is invalid. Allowed choices are trace, debug, info, warn, error, fatal, silent.\n" },
    { name: 'an unknown --log-format', argv: ['--log-format', 'xml'], env: {}, stderr: "error: option '--log-format <format>' argument 'xml' is invalid. Allowed choices are pretty, json.\n" },
    { name: 'an unknown DROVER_LOG_LEVEL', argv: [], env: { DROVER_LOG_LEVEL: 'loud' }, stderr: expect.stringContaining('DROVER_LOG_LEVEL=loud is not a log level') },
  ])('refuses $name with exit code 2', async ({ argv, env, stderr }) => {
    const fake = fakeRuntime();
    const result = await run(['master', '--data-dir', '/d', '--host', '127.0.0.1', ...argv], { runtime: fake.runtime, env });
    expect(result).toEqual({ code: 2, stdout: '', stderr });
    expect(fake.events).toEqual([]);
  });

  it('requires --data-dir', async () => {
    const fake = fakeRuntime();
    const result = await run(['master'], { runtime: fake.runtime });
    expect(result).toEqual({ code: 2, stdout: '', stderr: "error: required option '--data-dir <dir>' not specified (or --etcd for HA masters)\n" });
    expect(fake.events).toEqual([]);
  });
});
