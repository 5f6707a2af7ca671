/**
 * The `drover` command tree. buildProgram wires commander to a CliContext
 * instead of the process, and runCli turns every outcome into an exit code,
 * so tests run any command in-process and read its output and exit code.
 */
import { DROVER_VERSION } from '@drover/common';
import { Command } from 'commander';
import { type CliContext, DEFAULT_MASTER } from './cli-context.js';
import { ExitCode, reportError } from './cli-errors.js';
import { registerAgentCommands } from './commands/agent.js';
import { registerAppCommands } from './commands/app.js';
import { registerClusterCommands } from './commands/cluster.js';
import { registerDeploymentCommands } from './commands/deployment.js';
import { registerDevCommand } from './commands/dev.js';
import { registerEventsCommand } from './commands/events.js';
import { registerMasterCommand } from './commands/master.js';
import { registerRunCommand } from './commands/run.js';
import { registerTaskCommands } from './commands/task.js';

/** Builds the whole command tree around `ctx`; commander never exits the process itself. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('drover')
    .description('Drover: one cluster manager for processes (Mesos + Marathon in one)')
    .version(DROVER_VERSION, '-V, --version', 'print the version')
    .option('--master <host:port>', `master gRPC address for client commands and agents (env DROVER_MASTER, default ${DEFAULT_MASTER})`)
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
  registerDevCommand(program, ctx);
  registerMasterCommand(program, ctx);
  registerAgentCommands(program, ctx);
  registerAppCommands(program, ctx);
  registerDeploymentCommands(program, ctx);
  registerTaskCommands(program, ctx);
  registerRunCommand(program, ctx);
  registerClusterCommands(program, ctx);
  registerEventsCommand(program, ctx);
  return program;
}

/** Runs one command line (without "node drover") and resolves with its exit code; never throws. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' });
    return ExitCode.Ok;
  } catch (e) {
    return reportError(ctx.io, e);
  }
}
