/** `drover task ...`: list, inspect and kill tasks; read their logs and sandbox files. */
import { FileEntry, Task, WaitingInstances } from '@drover/proto';
import type { Command } from 'commander';
import { type CliContext, printJson, stopSignal, withClient } from '../cli-context.js';
import { commanderParser } from '../options/commander-parser.js';
import { parseCount } from '../options/numbers.js';
import { formatFileTable } from '../output/files.js';
import { formatTaskDetails, formatTaskTable, formatWaitingTable, hasEnded } from '../output/tasks.js';

/** Adds the `task` command group to the program. */
export function registerTaskCommands(program: Command, ctx: CliContext): void {
  const task = program.command('task').description('inspect and kill tasks, read their logs and sandbox files');

  task
    .command('list')
    .description('list live tasks (with --all, recently ended ones too), then app instances waiting for a place')
    .option('--app <id>', 'only tasks of this app')
    .option('--all', 'include ended tasks, with how they ended')
    .option('--json', 'print a JSON array of tasks')
    .option('--waiting', 'with --json, print {"tasks": [...], "waiting": [...]} instead: the tasks and the app instances that have no task yet')
    .addHelpText(
      'after',
      [
        '',
        'After the tasks, a second table lists app instances that have no task yet (APP, WAITING, WHY): no agent',
        'fits them, or a launch delay holds them back after failures. A PENDING one-off task (drover run) says',
        'why it waits in DETAIL. --json alone keeps printing the array of tasks; add --waiting for both lists.',
      ].join('\n'),
    )
    .action(async (opts: { app?: string; all?: boolean; json?: boolean; waiting?: boolean }, cmd: Command) => {
      const { tasks, waiting } = await withClient(ctx, cmd, (c) => c.taskOverview({ appId: opts.app, includeEnded: opts.all ?? false }));
      if (opts.json) {
        const taskJson = tasks.map((t) => Task.toJSON(t));
        // Both keys always, even when empty, so `jq '.waiting[]'` never meets a null.
        return printJson(ctx, opts.waiting ? { tasks: taskJson, waiting: waiting.map((w) => WaitingInstances.toJSON(w)) } : taskJson);
      }
      if (tasks.length === 0) ctx.io.stderr(opts.all ? 'no tasks\n' : 'no live tasks (--all shows ended ones)\n');
      else ctx.io.stdout(formatTaskTable(tasks, { withEnded: opts.all === true || tasks.some(hasEnded), now: ctx.io.now() }));
      if (waiting.length === 0) return;
      ctx.io.stdout(`${tasks.length === 0 ? '' : '\n'}${formatWaitingTable(waiting)}`);
    });

  task
    .command('get')
    .description('show one task')
    .argument('<id>', 'task id')
    .option('--json', 'print the task as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const found = await withClient(ctx, cmd, (c) => c.getTask(id));
      if (opts.json) return printJson(ctx, Task.toJSON(found));
      ctx.io.stdout(formatTaskDetails(found, ctx.io.now()));
    });

  task
    .command('kill')
    .description('kill one task; if it belongs to an app, the app starts a replacement; a PENDING one-off task is cancelled')
    .argument('<id>', 'task id')
    .option('--json', 'print the task as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const killed = await withClient(ctx, cmd, (c) => c.killTask(id));
      if (opts.json) return printJson(ctx, Task.toJSON(killed));
      ctx.io.stdout(`killing task ${killed.id}\n`);
    });

  task
    .command('logs')
    .description("print a task's stdout (or stderr), relayed from its agent; with -f keep following until the task ends or Ctrl-C")
    .argument('<id>', 'task id')
    .option('--stderr', 'stderr instead of stdout')
    .option('-f, --follow', 'keep printing what the task writes (across log rotation) until it ends; Ctrl-C stops and exits 0')
    .option('--tail <n>', 'start with the last N lines; 0 prints none, so with -f only new output (default: the whole current log file)', commanderParser(parseCount))
    .addHelpText(
      'after',
      [
        '',
        'Bytes are printed exactly as the task wrote them. Logs rotate by size on the agent (stdout, stdout.1, ...);',
        'this prints the current file; read older ones with drover task files ID stdout.1.',
      ].join('\n'),
    )
    .action(async (id: string, opts: { stderr?: boolean; follow?: boolean; tail?: number }, cmd: Command) => {
      // Ctrl-C is how a follow normally ends: it cancels the stream and the command exits 0.
      const signal = opts.follow ? stopSignal(ctx) : undefined;
      await withClient(ctx, cmd, (c) =>
        c.taskLogs(id, { stderr: opts.stderr ?? false, follow: opts.follow ?? false, tailLines: opts.tail }, (data) => ctx.io.stdoutBytes(data), signal),
      );
    });

  task
    .command('files')
    .description("list a directory of a task's sandbox (default its top), or print a file of it")
    .argument('<id>', 'task id')
    .argument('[path]', 'path inside the sandbox', '')
    .option('--json', 'print the listing as a JSON array (for a file: its one entry) instead of a table or the content')
    .action(async (id: string, path: string, opts: { json?: boolean }, cmd: Command) => {
      await withClient(ctx, cmd, async (c) => {
        const entries = await c.listTaskFiles(id, path);
        if (opts.json) return printJson(ctx, entries.map((e) => FileEntry.toJSON(e)));
        const [only] = entries;
        // Listing a file answers that one entry, under the path asked for: print the file instead.
        if (entries.length === 1 && only !== undefined && !only.isDirectory && only.path === normalizePath(path) && only.path !== '') {
          await c.readTaskFile(id, only.path, {}, (data) => ctx.io.stdoutBytes(data));
          return;
        }
        if (entries.length === 0) ctx.io.stderr('no files\n');
        else ctx.io.stdout(formatFileTable(entries));
      });
    });
}

/** A sandbox path as the agent spells it back: no empty or "." components. */
function normalizePath(path: string): string {
  return path
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}
