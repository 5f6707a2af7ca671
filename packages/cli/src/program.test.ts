import { DROVER_VERSION } from '@drover/common';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliContext, DEFAULT_MASTER, masterAddresses } from './cli-context.js';
import { parseDuration } from './options/duration.js';
import { parseSize } from './options/size.js';
import { allRegistrars, buildProgram, registrarsFor } from './program.js';
import { type FakeMaster, startFakeMaster } from './testing/fake-master.js';
import { clusterInfo } from './testing/fixtures.js';
import { run } from './testing/run-cli.js';

const everyCommand = await allRegistrars();

describe('drover (program)', () => {
  it.each([
    { name: '--version', argv: ['--version'], code: 0, stdout: `${DROVER_VERSION}\n`, stderr: '' },
    { name: '--help', argv: ['--help'], code: 0, stdout: expect.stringContaining('Usage: drover [options] [command]'), stderr: '' },
    { name: 'help for a subcommand', argv: ['app', 'deploy', '--help'], code: 0, stdout: expect.stringContaining('Usage: drover app deploy'), stderr: '' },
    {
      name: '--help shows the newer commands by example',
      argv: ['--help'],
      code: 0,
      stdout: expect.stringMatching(/drover run --wait -- sh -c 'echo hello'\n.*drover agent drain ID --deadline 10m/),
      stderr: '',
    },
    {
      name: 'help for run explains -- and the exit code',
      argv: ['run', '--help'],
      code: 0,
      stdout: expect.stringMatching(/Usage: drover run \[options\] <command\.\.\.>.*Put the command after "--".*Exit code with --wait: 0 when the task FINISHED/s),
      stderr: '',
    },
    {
      name: '--help names the deployment and events commands and the waiting exit codes',
      argv: ['--help'],
      code: 0,
      stdout: expect.stringMatching(/deployment +inspect and cancel deployments.*events \[options\] +follow the cluster's events.*Ctrl-C while waiting exits 130 \(drover events, task logs -f: 0\)/s),
      stderr: '',
    },
    {
      name: 'help for app deploy explains the waiting',
      argv: ['app', 'deploy', '--help'],
      code: 0,
      stdout: expect.stringMatching(/--force .*--detach .*Waits for the deployment by default/s),
      stderr: '',
    },
    { name: 'no command', argv: [], code: 2, stdout: '', stderr: expect.stringContaining('Usage: drover') },
    { name: 'a group without its subcommand', argv: ['task'], code: 2, stdout: '', stderr: expect.stringContaining('Usage: drover task') },
    { name: 'an unknown command', argv: ['nope'], code: 2, stdout: '', stderr: "error: unknown command 'nope'\n" },
    { name: 'a misspelt subcommand', argv: ['app', 'lst'], code: 2, stdout: '', stderr: "error: unknown command 'lst'\n(Did you mean list?)\n" },
    { name: 'an unknown option', argv: ['app', 'list', '--wide'], code: 2, stdout: '', stderr: "error: unknown option '--wide'\n" },
    { name: 'a missing argument', argv: ['app', 'get'], code: 2, stdout: '', stderr: "error: missing required argument 'id'\n" },
    { name: 'too many arguments', argv: ['app', 'get', 'a', 'b'], code: 2, stdout: '', stderr: expect.stringContaining('error: too many arguments') },
  ])('$name exits $code', async ({ argv, code, stdout, stderr }) => {
    expect(await run(argv)).toEqual({ code, stdout, stderr });
  });

  describe('defaults in --help', () => {
    /** Every command of the tree, depth first. */
    const commands = (c: Command): Command[] => [c, ...c.commands.flatMap(commands)];
    const parsers: Record<string, (text: string) => number> = { '<duration>': parseDuration, '<size>': parseSize };
    const options = commands(buildProgram({} as CliContext, everyCommand)).flatMap((c) =>
      c.options.flatMap((o) => {
        const kind = Object.keys(parsers).find((k) => o.flags.includes(k));
        return kind === undefined || o.defaultValue === undefined ? [] : [{ name: `${c.name()} ${o.long}`, option: o, parse: parsers[kind] as (t: string) => number }];
      }),
    );

    it('covers the duration options with defaults', () => {
      expect(options.map((o) => o.name)).toEqual(expect.arrayContaining(['master --lost-timeout', 'master --task-history', 'dev --lost-timeout']));
    });

    it.each(options)('$name shows its default as typed, and that text parses to the default', ({ option, parse }) => {
      expect(option.defaultValueDescription).toBeDefined();
      expect(parse(option.defaultValueDescription as string)).toBe(option.defaultValue);
    });

    it.each([
      { command: 'master', shown: ['(default: 3s)', '(default: 1h)'] },
      { command: 'dev', shown: ['(default: 3s)'] },
    ])('drover $command --help shows human durations, never milliseconds', async ({ command, shown }) => {
      const { stdout } = await run([command, '--help']);
      for (const text of shown) expect(stdout).toContain(text);
      expect(stdout).not.toMatch(/default: (3000|3600000)\)/);
    });
  });

  describe('choosing the master', () => {
    let master: FakeMaster;
    let deadAddress: string;

    beforeAll(async () => {
      master = await startFakeMaster({ 'cluster.info': () => clusterInfo });
      const dead = await startFakeMaster({});
      deadAddress = dead.address;
      dead.stop();
    });

    afterAll(() => master.stop());

    it('uses DROVER_MASTER when --master is absent', async () => {
      const result = await run(['cluster', 'info'], { env: { DROVER_MASTER: master.address } });
      expect(result.code).toBe(0);
    });

    it('prefers --master to DROVER_MASTER, and reports an unreachable master with exit code 1', async () => {
      const result = await run(['--master', deadAddress, 'cluster', 'info'], { env: { DROVER_MASTER: master.address } });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`^error: cannot reach the master at ${deadAddress}: connect ECONNREFUSED .*\\nhint: is a master running there\\? .*\\n$`));
    });

    it('accepts --master after the subcommand too', async () => {
      const result = await run(['cluster', 'info', '--master', master.address]);
      expect(result.code).toBe(0);
    });

    it(`falls back to ${DEFAULT_MASTER}`, () => {
      const ctx = { io: { env: {} } } as unknown as CliContext;
      const program = new Command().option('--master <a>');
      program.parse([], { from: 'user' });
      expect(masterAddresses(ctx, program)).toEqual([DEFAULT_MASTER]);
    });
  });
});

describe('which command modules a command line loads', () => {
  it.each<{ name: string; argv: string[]; count: number | 'all' }>([
    { name: 'a command', argv: ['task', 'list'], count: 1 },
    { name: 'a command after global options with values', argv: ['--master', 'app', 'app', 'list'], count: 1 },
    { name: 'a command after --flag=value', argv: ['--master=h:1', '--insecure', 'run', '--', 'true'], count: 1 },
    { name: 'the version only', argv: ['--version'], count: 0 },
    { name: 'help for the whole tree', argv: ['--help'], count: 'all' },
    { name: 'help and version together', argv: ['-V', '--help'], count: 'all' },
    { name: 'no command (for the usage)', argv: [], count: 'all' },
    { name: 'an unknown command (for suggestions)', argv: ['ap', 'list'], count: 'all' },
  ])('$name', async ({ argv, count }) => {
    expect((await registrarsFor(argv)).length).toBe(count === 'all' ? everyCommand.length : count);
  });
});
