import { NotFoundError } from '@drover/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeMaster, startFakeMaster } from '../testing/fake-master.js';
import { agent1, agent2, drainingAgent, NOW } from '../testing/fixtures.js';
import { fakeRuntime } from '../testing/fake-runtime.js';
import { run } from '../testing/run-cli.js';

describe('drover agent list / get / drain / undrain', () => {
  let master: FakeMaster;
  const cli = (...argv: string[]) => run(['--master', master.address, ...argv]);

  beforeAll(async () => {
    master = await startFakeMaster({
      'agents.list': () => ({ agents: [agent1, agent2, drainingAgent] }),
      'agents.get': (req: { id: string }) => {
        const agent = { [agent1.id]: agent1, [drainingAgent.id]: drainingAgent }[req.id];
        if (agent === undefined) throw new NotFoundError('agent', req.id);
        return { agent };
      },
      'agents.drain': (req: { id: string; deadlineSeconds?: number }) => {
        if (req.id !== agent1.id) throw new NotFoundError('agent', req.id);
        const deadline = new Date(NOW.getTime() + (req.deadlineSeconds ?? 300) * 1000);
        return { agent: { ...agent1, draining: true, drainDeadline: deadline } };
      },
      'agents.undrain': (req: { id: string }) => {
        if (req.id !== drainingAgent.id) throw new NotFoundError('agent', req.id);
        return { agent: { ...drainingAgent, draining: false, drainDeadline: undefined } };
      },
    });
  });

  afterAll(() => master.stop());

  it.each([
    {
      name: 'list shows capacity as used/total, and which agents drain',
      argv: ['agent', 'list'],
      code: 0,
      stdout: [
        'ID        HOSTNAME   STATE             CPUS    MEM            TASKS   LAST SEEN',
        'agent-1   node1      ACTIVE            0.2/4   128/7936 MiB   2       2s',
        'agent-2   node2      LOST              0/4     0/7936 MiB     0       10m',
        'agent-3   node3      ACTIVE,draining   0.2/4   128/7936 MiB   2       1s',
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'get shows one agent',
      argv: ['agent', 'get', 'agent-1'],
      code: 0,
      stdout: [
        'ID:             agent-1',
        'Hostname:       node1',
        'Address:        10.0.0.1',
        'State:          ACTIVE',
        'Version:        0.1.0',
        'Attributes:     rack=r1',
        'Capabilities:   isolation:cgroups-v1, docker',
        'Boot id:        0f9a4c2e-1b7d-4e3a-9c55-2d8f6a1b3c4d',
        'Total:          4 cpus, 7936 MiB mem, 10000 MiB disk, ports 31000-32000',
        'Reserved:       0.2 cpus, 128 MiB mem, 0 MiB disk',
        'Machine usage:  0.5/4 cpus, 2048/7936 MiB mem',
        'Tasks:          2',
        'Registered:     2025-05-29T12:00:00.000Z (3d ago)',
        'Last seen:      2025-06-01T11:59:58.000Z (2s ago)',
        '',
      ].join('\n'),
      stderr: '',
    },
    {
      name: 'get of a draining agent says until when, and which offered ports other processes hold',
      argv: ['agent', 'get', 'agent-3'],
      code: 0,
      stdout: expect.stringMatching(
        /State: {10}ACTIVE\nDraining: {7}until 2025-06-01T12:05:00.000Z \(in 5m\)\nVersion:[^]*\nPorts in use: {3}31500,31900-31901 \(by other processes: not given to tasks\)\nTasks:/,
      ),
      stderr: '',
    },
    { name: 'get of an unknown agent', argv: ['agent', 'get', 'x'], code: 1, stdout: '', stderr: 'error: agent x not found\n' },
    {
      name: "drain with the master's default deadline",
      argv: ['agent', 'drain', 'agent-1'],
      code: 0,
      stdout: 'draining agent agent-1 (node1): no new tasks; its tasks move elsewhere; the rest are killed at 2025-06-01T12:05:00.000Z (in 5m)\n',
      stderr: '',
    },
    {
      name: 'drain with --deadline',
      argv: ['agent', 'drain', 'agent-1', '--deadline', '1m30s'],
      code: 0,
      stdout: 'draining agent agent-1 (node1): no new tasks; its tasks move elsewhere; the rest are killed at 2025-06-01T12:01:30.000Z (in 90s)\n',
      stderr: '',
    },
    {
      name: 'drain with a deadline without unit',
      argv: ['agent', 'drain', 'agent-1', '--deadline', '300'],
      code: 2,
      stdout: '',
      stderr:
        "error: option '--deadline <duration>' argument '300' is invalid. " +
        'bad duration "300": expected a number with a unit (ms, s, m, h), for example 500ms, 10s, 5m or 1m30s\n',
    },
    { name: 'drain without an id', argv: ['agent', 'drain'], code: 2, stdout: '', stderr: "error: missing required argument 'id'\n" },
    { name: 'drain of an unknown agent', argv: ['agent', 'drain', 'x'], code: 1, stdout: '', stderr: 'error: agent x not found\n' },
    { name: 'undrain', argv: ['agent', 'undrain', 'agent-3'], code: 0, stdout: 'undrained agent agent-3 (node3): it takes new tasks again\n', stderr: '' },
    { name: 'undrain of an unknown agent', argv: ['agent', 'undrain', 'x'], code: 1, stdout: '', stderr: 'error: agent x not found\n' },
  ])('$name', async ({ argv, code, stdout, stderr }) => {
    expect(await cli(...argv)).toEqual({ code, stdout, stderr });
  });

  it('list --json prints an array of proto JSON agents', async () => {
    const result = await cli('agent', 'list', '--json');
    expect(result.code).toBe(0);
    const agents = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(agents.map((a) => [a.id, a.state, a.draining])).toEqual([
      ['agent-1', 'AGENT_STATE_ACTIVE', undefined],
      ['agent-2', 'AGENT_STATE_LOST', undefined],
      ['agent-3', 'AGENT_STATE_ACTIVE', true],
    ]);
  });

  it.each([
    { name: 'the default deadline is left to the master', argv: ['agent', 'drain', 'agent-1'], sent: { id: 'agent-1' } },
    { name: '--deadline is sent in seconds', argv: ['agent', 'drain', 'agent-1', '--deadline', '1.5s'], sent: { id: 'agent-1', deadlineSeconds: 1.5 } },
    { name: 'a zero deadline kills at once', argv: ['agent', 'drain', 'agent-1', '--deadline', '0s'], sent: { id: 'agent-1', deadlineSeconds: 0 } },
  ])('drain: $name', async ({ argv, sent }) => {
    expect((await cli(...argv)).code).toBe(0);
    const [method, request] = master.calls.at(-1)!;
    expect(method).toBe('agents.drain');
    expect(request).toStrictEqual({ deadlineSeconds: undefined, ...sent });
  });

  it.each([
    { name: 'drain', argv: ['agent', 'drain', 'agent-1', '--json'], want: { id: 'agent-1', draining: true, drainDeadline: '2025-06-01T12:05:00.000Z' } },
    { name: 'undrain', argv: ['agent', 'undrain', 'agent-3', '--json'], want: { id: 'agent-3' } },
  ])('$name --json prints the agent as proto JSON', async ({ argv, want }) => {
    const result = await cli(...argv);
    expect(result.code).toBe(0);
    const agent = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(agent).toMatchObject(want);
    if (argv[1] === 'undrain') expect(agent).not.toHaveProperty('draining');
  });
});

describe('drover agent (run)', () => {
  it('starts an agent with the parsed flags and stops it on a signal, leaving tasks running', async () => {
    const fake = fakeRuntime();
    const result = await run(
      [
        'agent',
        '--master',
        '10.0.0.1:5053',
        '--insecure',
        '--work-dir',
        'work',
        '--hostname',
        'node7',
        '--address',
        '10.0.0.7',
        '--attributes',
        'rack=r1,zone=a',
        '--resources',
        'cpus=2,mem=1024,ports=[31000-31999,33000]',
      ],
      { cwd: '/srv', runtime: fake.runtime },
    );
    expect(result).toEqual({
      code: 0,
      stdout: [
        'agent started (work dir /srv/work); connecting to master 10.0.0.1:5053',
        'registered as agent agent-1',
        'stopping agent; its tasks keep running and are re-adopted when it starts again',
        'stopped',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(fake.agentOptions).toEqual([
      expect.objectContaining({
        master: ['10.0.0.1:5053'],
        workDir: '/srv/work',
        hostname: 'node7',
        address: '10.0.0.7',
        attributes: { rack: 'r1', zone: 'a' },
        resources: { cpus: 2, mem: 1024, ports: [{ begin: 31000, end: 31999 }, { begin: 33000, end: 33000 }] },
        dockerSocket: undefined,
        allowPrivileged: false,
        allowHostVolumes: false,
      }),
    ]);
    expect(fake.events).toEqual(['agent.start', 'agent.registered', 'agent.stop']);
    // Start-up's garbage does not grow the idle agent's young generation (young-generation.ts).
    expect(fake.heap).toEqual(['hold after -', 'release after agent.registered']);
  });

  it('lets the young generation grow again when stopped before it registered', async () => {
    const fake = fakeRuntime({ agentNeverRegisters: true });
    await run(['agent', '--work-dir', '/w'], { env: { DROVER_MASTER: 'm1:5053', DROVER_INSECURE: '1' }, runtime: fake.runtime });
    expect(fake.heap).toEqual(['hold after -', 'release after agent.start']);
  });

  it('passes the Docker flags: socket (resolved), privileged containers and host volumes', async () => {
    const fake = fakeRuntime();
    await run(
      ['agent', '--work-dir', '/w', '--docker-socket', 'run/docker.sock', '--allow-privileged', '--allow-host-volumes'],
      { cwd: '/srv', env: { DROVER_MASTER: 'm1:5053', DROVER_INSECURE: '1' }, runtime: fake.runtime },
    );
    expect(fake.agentOptions[0]).toMatchObject({
      dockerSocket: '/srv/run/docker.sock',
      allowPrivileged: true,
      allowHostVolumes: true,
    });
  });

  it('passes the sandbox limits: log rotation, sandbox collection and the pids cap', async () => {
    const fake = fakeRuntime();
    await run(
      ['agent', '--work-dir', '/w', '--log-max-size', '5MiB', '--log-files', '2', '--sandbox-max-age', '72h', '--sandbox-max-size', '20GiB', '--pids-limit', '512'],
      { env: { DROVER_MASTER: 'm1:5053', DROVER_INSECURE: '1' }, runtime: fake.runtime },
    );
    expect(fake.agentOptions[0]).toMatchObject({
      logMaxBytes: 5 * 1024 ** 2,
      logFiles: 2,
      sandboxMaxAgeMs: 72 * 3_600_000,
      sandboxMaxTotalBytes: 20 * 1024 ** 3,
      pidsLimit: 512,
    });
  });

  it('dials DROVER_MASTER when --master is not given', async () => {
    const fake = fakeRuntime();
    await run(['agent', '--work-dir', '/w'], { env: { DROVER_MASTER: 'm1:5053', DROVER_INSECURE: '1' }, runtime: fake.runtime });
    expect(fake.agentOptions[0]?.master).toEqual(['m1:5053']);
  });

  it('takes a list of masters, a host without port meaning :5053', async () => {
    const fake = fakeRuntime();
    await run(['agent', '--work-dir', '/w'], { env: { DROVER_MASTER: 'm1, m2:6000,m3', DROVER_INSECURE: '1' }, runtime: fake.runtime });
    expect(fake.agentOptions[0]?.master).toEqual(['m1:5053', 'm2:6000', 'm3:5053']);
  });

  it('refuses a bad master address, naming it, and starts nothing', async () => {
    const fake = fakeRuntime();
    const result = await run(['agent', '--work-dir', '/w', '--master', 'm1,http://m2'], { env: { DROVER_INSECURE: '1' }, runtime: fake.runtime });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('"http://m2" is not host, host:port or [ipv6]:port');
    expect(fake.agentOptions).toEqual([]);
  });

  it.each([
    { name: 'a missing --work-dir', argv: ['agent'], stderr: "error: required option '--work-dir <dir>' not specified\n" },
    {
      name: 'plaintext to a master beyond loopback',
      argv: ['agent', '--master', '10.0.0.1:5053', '--work-dir', '/w'],
      stderr:
        'error: refusing plaintext gRPC when connecting to 10.0.0.1:5053: give --tls-ca, --tls-cert and --tls-key ' +
        '(scripts/gen-certs makes a set), or --insecure on a network you trust\n',
    },
    {
      name: 'half a TLS configuration',
      argv: ['agent', '--master', '10.0.0.1:5053', '--work-dir', '/w', '--tls-ca', '/etc/drover/ca.crt'],
      stderr: 'error: TLS needs all of --tls-ca, --tls-cert and --tls-key; missing --tls-cert, --tls-key\n',
    },
    {
      name: 'bad --resources',
      argv: ['agent', '--work-dir', '/w', '--resources', 'cpus=2,ports=31000-31999,33000'],
      stderr:
        "error: option '--resources <list>' argument 'cpus=2,ports=31000-31999,33000' is invalid. " +
        'bad resources: "33000" has no value: to give several port ranges write ports=[A-B,C-D]\n',
    },
    {
      name: 'bad --attributes',
      argv: ['agent', '--work-dir', '/w', '--attributes', 'rack'],
      stderr: "error: option '--attributes <k=v,...>' argument 'rack' is invalid. bad attributes: \"rack\" has no value: expected key=value\n",
    },
    {
      name: 'a --log-max-size without a unit',
      argv: ['agent', '--work-dir', '/w', '--log-max-size', '10'],
      stderr:
        "error: option '--log-max-size <size>' argument '10' is invalid. " +
        'bad size "10": expected a number with a unit (B, KiB, MiB, GiB, TiB), for example 10MiB or 20GiB\n',
    },
    {
      name: 'a --pids-limit of 0',
      argv: ['agent', '--work-dir', '/w', '--pids-limit', '0'],
      stderr: "error: option '--pids-limit <n>' argument '0' is invalid. bad count \"0\": expected a whole number, 1 or more\n",
    },
  ])('refuses $name with exit code 2', async ({ argv, stderr }) => {
    const fake = fakeRuntime();
    expect(await run(argv, { runtime: fake.runtime })).toEqual({ code: 2, stdout: '', stderr });
    expect(fake.events).toEqual([]);
  });
});
