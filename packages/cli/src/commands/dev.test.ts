import path from 'node:path';
import { AddressInUseError } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { fakeRuntime } from '../testing/fake-runtime.js';
import { run } from '../testing/run-cli.js';

const cwd = '/home/me/project';

describe('drover dev', () => {
  it('starts a master and an agent on loopback under ./.drover, and stops agent then master', async () => {
    const fake = fakeRuntime();
    const result = await run(['dev'], { cwd, runtime: fake.runtime });

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(fake.masterOptions).toEqual([
      expect.objectContaining({
        dataDir: path.join(cwd, '.drover/master'),
        grpcHost: '127.0.0.1',
        grpcPort: 5053,
        httpHost: '127.0.0.1',
        httpPort: 5050,
        agentLostTimeoutMs: 3000,
        forceNewCluster: false,
      }),
    ]);
    expect(fake.agentOptions).toEqual([
      expect.objectContaining({ master: '127.0.0.1:5053', workDir: path.join(cwd, '.drover/agent'), address: '127.0.0.1' }),
    ]);
    expect(fake.events).toEqual(['master.start', 'agent.start', 'agent.registered', 'agent.stop', 'master.stop']);
    expect(result.stdout).toContain('  gRPC    127.0.0.1:5053\n');
    expect(result.stdout).toContain('  HTTP    http://127.0.0.1:5050\n');
    expect(result.stdout).toContain(`  data    ${path.join(cwd, '.drover')}\n`);
    expect(result.stdout).toContain('  agent   agent-1\n');
    expect(result.stdout).toContain('drover app deploy examples/web.yaml');
    expect(result.stdout).not.toContain('DROVER_MASTER');
    expect(result.stdout).not.toContain('alias drover');
    expect(result.stdout).toMatch(/stopping agent, then master; tasks keep running and are re-adopted on the next `drover dev`\nstopped\n$/);
  });

  it.each([
    {
      name: 'custom ports, data dir, lost timeout and a forced new cluster',
      argv: ['dev', '--data-dir', '/tmp/d', '--grpc-port', '6000', '--http-port', '0', '--lost-timeout', '1m30s', '--force-new-cluster'],
      master: { dataDir: '/tmp/d/master', grpcPort: 6000, httpPort: 0, agentLostTimeoutMs: 90_000, forceNewCluster: true },
      agentWorkDir: '/tmp/d/agent',
    },
    {
      name: 'a relative data dir',
      argv: ['dev', '--data-dir', 'state'],
      master: { dataDir: path.join(cwd, 'state/master') },
      agentWorkDir: path.join(cwd, 'state/agent'),
    },
  ])('passes $name through', async ({ argv, master, agentWorkDir }) => {
    const fake = fakeRuntime();
    const result = await run(argv, { cwd, runtime: fake.runtime });
    expect(result.code).toBe(0);
    expect(fake.masterOptions[0]).toMatchObject(master);
    expect(fake.agentOptions[0]?.workDir).toBe(agentWorkDir);
  });

  it('tells how to point clients at a non-default port', async () => {
    const fake = fakeRuntime();
    const result = await run(['dev', '--grpc-port', '6000'], { cwd, runtime: fake.runtime });
    expect(result.stdout).toContain('  export DROVER_MASTER=127.0.0.1:6000\n');
    expect(result.stdout).not.toContain('alias drover');
  });

  it('stops the master when the agent cannot start', async () => {
    const fake = fakeRuntime({ agentFails: new Error('work dir is not writable') });
    const result = await run(['dev'], { cwd, runtime: fake.runtime });
    expect(result).toMatchObject({ code: 1, stderr: 'error: work dir is not writable\n' });
    expect(fake.events).toEqual(['master.start', 'agent.start', 'master.stop']);
  });

  it.each([
    { name: 'gRPC', listener: 'grpc' as const, port: 5053, flag: '--grpc-port' },
    { name: 'HTTP', listener: 'http' as const, port: 5050, flag: '--http-port' },
  ])('names the flag to change when the $name port is in use (a second drover dev)', async ({ listener, port, flag }) => {
    const fake = fakeRuntime({ masterFails: new AddressInUseError(listener, '127.0.0.1', port) });
    const result = await run(['dev'], { cwd, runtime: fake.runtime });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: cannot listen on 127.0.0.1:${port} (${listener === 'grpc' ? 'gRPC' : 'HTTP'}): the port is in use\n` +
        `hint: another process listens there (another drover dev or master?): stop it, or pass ${flag} to use another port (0 picks a free one)\n`,
    );
    expect(fake.events).toEqual(['master.start']);
  });

  it('stops cleanly when interrupted before the agent registered', async () => {
    const fake = fakeRuntime({ agentNeverRegisters: true });
    const result = await run(['dev'], { cwd, runtime: fake.runtime });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('Drover dev cluster is up');
    expect(fake.events).toEqual(['master.start', 'agent.start', 'agent.stop', 'master.stop']);
  });

  it.each([
    { name: 'a bad duration', argv: ['dev', '--lost-timeout', '10'], message: 'bad duration "10"' },
    { name: 'a bad port', argv: ['dev', '--grpc-port', '99999'], message: 'bad port "99999"' },
  ])('refuses $name with exit code 2', async ({ argv, message }) => {
    const fake = fakeRuntime();
    const result = await run(argv, { cwd, runtime: fake.runtime });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(fake.events).toEqual([]);
  });
});

describe('drover dev run from a checkout', () => {
  it('tells how to call the CLI when drover is not on the PATH', async () => {
    const fake = fakeRuntime();
    const result = await run(['dev'], { cwd: '/srv', runtime: fake.runtime, invokedAs: 'node /src/drover/packages/cli/bin/drover.js' });
    expect(result.stdout).toContain("In another terminal:\n  alias drover='node /src/drover/packages/cli/bin/drover.js'\n  drover app deploy examples/web.yaml\n");
  });
});
