/**
 * The `drover` command tree. buildProgram wires commander to a CliContext
 * instead of the process, and runCli turns every outcome into an exit code,
 * so tests run any command in-process and read its output and exit code.
 *
 * Start-up time. Each top-level command lives in a module of its own
 * (commands/*.ts) with everything it needs (output formats, the client,
 * YAML for app files), and runCli imports only the module of the command
 * on its command line: `drover task list` never loads what `drover app
 * deploy` or `drover events` need, and `drover --version` loads no command
 * at all. Help for the whole tree, and a command line naming no known
 * command (to suggest one), load them all.
 */
import { DROVER_VERSION } from '@drover/common/version';
import { Command, CommanderError } from 'commander';
import type { CliContext } from './cli-context.js';
import { DEFAULT_MASTER } from './default-master.js';

/** Adds one top-level command (with its subcommands) to the program. */
export type Registrar = (program: Command, ctx: CliContext) => void;

/** The top-level commands in the order help lists them, each with the module that registers it. */
const COMMANDS: ReadonlyArray<{ readonly name: string; readonly load: () => Promise<Registrar> }> = [
  { name: 'dev', load: async () => (await import('./commands/dev.js')).registerDevCommand },
  { name: 'master', load: async () => (await import('./commands/master.js')).registerMasterCommand },
  { name: 'agent', load: async () => (await import('./commands/agent.js')).registerAgentCommands },
  { name: 'app', load: async () => (await import('./commands/app.js')).registerAppCommands },
  { name: 'deployment', load: async () => (await import('./commands/deployment.js')).registerDeploymentCommands },
  { name: 'task', load: async () => (await import('./commands/task.js')).registerTaskCommands },
  { name: 'run', load: async () => (await import('./commands/run.js')).registerRunCommand },
  { name: 'cluster', load: async () => (await import('./commands/cluster.js')).registerClusterCommands },
  { name: 'events', load: async () => (await import('./commands/events.js')).registerEventsCommand },
];

/** Global options that take a value (as the next argument unless given as --flag=value). */
const GLOBAL_VALUE_OPTIONS = new Set(['--master', '--tls-ca', '--tls-cert', '--tls-key']);

/** Every top-level command's registrar, in help order. */
export async function allRegistrars(): Promise<Registrar[]> {
  return Promise.all(COMMANDS.map((c) => c.load()));
}

/** The registrars a command line needs (see the top of the file). */
export async function registrarsFor(argv: readonly string[]): Promise<Registrar[]> {
  let named: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (GLOBAL_VALUE_OPTIONS.has(arg)) i += 1;
      continue;
    }
    named = arg;
    break;
  }
  const command = COMMANDS.find((c) => c.name === named);
  if (command !== undefined) return [await command.load()];
  const wantsVersion = argv.includes('-V') || argv.includes('--version');
  if (named === undefined && wantsVersion && !argv.includes('-h') && !argv.includes('--help')) return [];
  return allRegistrars();
}

/** Builds the command tree around `ctx` with the given commands; commander never exits the process itself. */
export function buildProgram(ctx: CliContext, registrars: readonly Registrar[]): Command {
  const program = new Command('drover')
    .description('Drover: one cluster manager for processes (Mesos + Marathon in one)')
    .version(DROVER_VERSION, '-V, --version', 'print the version')
    .option(
      '--master <host:port,...>',
      `master gRPC addresses for client commands and agents, any of them (a standby names the leader; a host without port means :5053) (env DROVER_MASTER, default ${DEFAULT_MASTER})`,
    )
    .option('--tls-ca <file>', 'CA certificate of the cluster (env DROVER_TLS_CA); with --tls-cert and --tls-key turns on mutual TLS')
    .option('--tls-cert <file>', "this component's certificate (env DROVER_TLS_CERT)")
    .option('--tls-key <file>', "this component's private key (env DROVER_TLS_KEY)")
    .option('--insecure', 'allow plaintext gRPC beyond loopback, on a network you trust (env DROVER_INSECURE=1)')
    // Set before any subcommand is added: `.command()` copies these settings to each child.
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.stdout(s), writeErr: (s) => ctx.io.stderr(s) })
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      [
        '',
        'Start a local cluster:     drover dev',
        'Deploy an app and wait:    drover app deploy examples/web.yaml',
        'Go back a version:         drover app rollback web',
        'See what runs and waits:   drover task list',
        'Watch the cluster:         drover events --type deployment_info,deployment_success,deployment_failed',
        "Run a command once:        drover run --wait -- sh -c 'echo hello'",
        'Service an agent:          drover agent drain ID --deadline 10m; later drover agent undrain ID',
        '',
        'list and get commands take --json. Exit codes: 0 ok, 1 failure, 2 bad input (flags, arguments, app definition);',
        "app deploy/scale/restart/rollback wait for their deployment and exit 1 if it fails or is canceled (--detach does",
        "not wait); drover run --wait exits with its task's exit code; Ctrl-C while waiting exits 130 (drover events, task logs -f: 0).",
      ].join('\n'),
    );
  for (const register of registrars) register(program, ctx);
  return program;
}

/** Runs one command line (without "node drover") and resolves with its exit code; never throws. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  try {
    const program = buildProgram(ctx, await registrarsFor(argv));
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    // Help and version end through commander's exit override with nothing to
    // report: answered here, so `drover --version` loads no error reporting.
    if (e instanceof CommanderError && e.exitCode === 0) return 0;
    const { reportError } = await import('./cli-errors.js');
    return reportError(ctx.io, e);
  }
}
