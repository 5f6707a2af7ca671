/**
 * `drover run -- CMD ARGS...`: run a command once on the cluster, as a
 * one-off task the master places like an app instance but never restarts.
 * The program and its arguments are executed directly, without a shell, so
 * nothing is quoted twice; `drover run -- sh -c '...'` asks for a shell.
 *
 * With --wait the command follows the task until it ends and exits with the
 * task's exit code. Ctrl-C only stops following (at once: the stream is
 * canceled): the task belongs to the cluster, not to this terminal, and is
 * killed with `drover task kill`.
 */
import { type Constraint, type PortDefinition, type RunTaskRequest, Task } from '@drover/proto';
import type { Command } from 'commander';
import { type CliContext, stopSignal, withClient } from '../cli-context.js';
import { ExitCode, ExitWithCode } from '../cli-errors.js';
import { commanderAccumulator, commanderCollector, commanderParser } from '../options/commander-parser.js';
import { CONSTRAINT_SYNTAX, parseConstraint } from '../options/constraints.js';
import { addEnvVar } from '../options/env.js';
import { parseAmount, parseCount, parsePortNumber } from '../options/numbers.js';
import { parseTaskName } from '../options/task-name.js';
import { formatRunStarted, formatTaskChange, hasEnded } from '../output/tasks.js';
import { exitCodeOfTask } from '../task-exit-code.js';

interface RunFlags {
  cpus?: number;
  mem?: number;
  disk?: number;
  gpus?: number;
  env?: Record<string, string>;
  constraint?: Constraint[];
  port?: number[];
  name?: string;
  wait?: boolean;
  json?: boolean;
}

/** Adds `drover run` to the program. */
export function registerRunCommand(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run a command once on the cluster, as a one-off task that is never restarted')
    .argument('<command...>', 'program and arguments, after "--"; executed directly, without a shell')
    .option('--cpus <n>', 'CPU cores (default 0.1)', commanderParser(parseAmount))
    .option('--mem <MiB>', 'memory in MiB (default 32)', commanderParser(parseAmount))
    .option('--disk <MiB>', 'disk in MiB (default 0)', commanderParser(parseAmount))
    .option('--gpus <n>', 'whole GPUs (default 0)', commanderParser(parseCount))
    .option('--env <KEY=VALUE>', 'environment variable; repeatable', commanderAccumulator(addEnvVar))
    .option('--constraint <rule>', `placement rule, ${CONSTRAINT_SYNTAX}; repeatable`, commanderCollector(parseConstraint))
    .option('--port <n>', 'host port the task needs, 0 for any free one (the task sees it as PORT0...); repeatable', commanderCollector(parsePortNumber))
    .option('--name <name>', 'prefix of the task id (default "run"): lowercase letters, digits, dots and dashes', commanderParser(parseTaskName))
    .option('--wait', "follow the task until it ends, one line per change, and exit with the task's exit code")
    .option('--json', 'print the task as JSON, one object per line (with --wait, one per change)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  drover run -- ./backup.sh --full',
        "  drover run --wait --mem 256 --env MODE=prod -- sh -c 'make test > /tmp/out 2>&1'",
        "  drover run --constraint 'hostname:LIKE:db-[0-9]+' --constraint rack:IS:r1 --name dump -- pg_dump app",
        '',
        'Put the command after "--" so that its own options are not read as drover\'s. The words are',
        'executed as they are, without a shell: for pipes, redirections or variables use sh -c.',
        '',
        'Without --wait, prints the task id and its state, and why it waits if no agent can take it yet',
        '(PENDING); drover task get ID follows it up.',
        '',
        'Exit code with --wait: 0 when the task FINISHED; its exit code when it FAILED (128 + the signal',
        'number when a signal ended it, 137 for SIGKILL); 1 when it was KILLED or LOST; 130 after Ctrl-C,',
        'which stops the waiting but not the task (drover task kill ID stops it).',
      ].join('\n'),
    )
    .action((args: string[], opts: RunFlags, cmd: Command) => runTask(ctx, args, opts, cmd));
}

async function runTask(ctx: CliContext, args: string[], opts: RunFlags, cmd: Command): Promise<void> {
  const request: Partial<RunTaskRequest> = {
    args,
    cpus: opts.cpus,
    mem: opts.mem,
    disk: opts.disk,
    gpus: opts.gpus,
    env: opts.env ?? {},
    constraints: opts.constraint ?? [],
    portDefinitions: (opts.port ?? []).map((port): PortDefinition => ({ port, protocol: 'tcp', name: '', labels: {} })),
    name: opts.name ?? '',
    wait: opts.wait ?? false,
  };
  const { io } = ctx;
  const jsonLine = (t: Task): string => `${JSON.stringify(Task.toJSON(t))}\n`;
  if (!request.wait) {
    const task = await withClient(ctx, cmd, (c) => c.runTask(request));
    io.stdout(opts.json ? jsonLine(task) : formatRunStarted(task));
    return;
  }

  let latest: Task | undefined;
  const onChange = (t: Task): void => {
    if (opts.json) io.stdout(jsonLine(t));
    else io.stdout(`${latest === undefined ? `started task ${t.id}\n` : ''}${formatTaskChange(t, io.now())}`);
    latest = t;
  };
  const stop = stopSignal(ctx);
  let task: Task | undefined;
  try {
    task = await withClient(ctx, cmd, (c) => c.runTask(request, onChange, stop));
  } catch (e) {
    // Ctrl-C: runTask canceled the stream and rejected; anything else is a real failure.
    if (!stop.aborted) throw e;
  }
  if (task !== undefined) {
    if (!hasEnded(task)) io.stderr(`the master stopped reporting before task ${task.id} ended; drover task get ${task.id} shows it\n`);
    const code = exitCodeOfTask(task);
    if (code !== 0) throw new ExitWithCode(code);
    return;
  }
  io.stderr(
    latest === undefined
      ? 'stopped waiting before the master answered; the task may have started: drover task list shows it\n'
      : `stopped waiting; task ${latest.id} keeps running (drover task kill ${latest.id} stops it)\n`,
  );
  throw new ExitWithCode(ExitCode.Interrupted);
}
