/** `drover task ...`: list, inspect and kill tasks. */
import { Task } from '@drover/proto';
import type { Command } from 'commander';
import { type CliContext, printJson, withClient } from '../cli-context.js';
import { formatTaskDetails, formatTaskTable, hasEnded } from '../output/tasks.js';

/** Adds the `task` command group to the program. */
export function registerTaskCommands(program: Command, ctx: CliContext): void {
  const task = program.command('task').description('inspect and kill tasks');

  task
    .command('list')
    .description('list live tasks (with --all, recently ended ones too)')
    .option('--app <id>', 'only tasks of this app')
    .option('--all', 'include ended tasks, with how they ended')
    .option('--json', 'print a JSON array of tasks')
    .action(async (opts: { app?: string; all?: boolean; json?: boolean }, cmd: Command) => {
      const tasks = await withClient(ctx, cmd, (c) => c.listTasks({ appId: opts.app, includeEnded: opts.all ?? false }));
      if (opts.json) return printJson(ctx, tasks.map((t) => Task.toJSON(t)));
      if (tasks.length === 0) return ctx.io.stderr(opts.all ? 'no tasks\n' : 'no live tasks (--all shows ended ones)\n');
      const withEnded = opts.all === true || tasks.some(hasEnded);
      ctx.io.stdout(formatTaskTable(tasks, { withEnded, now: ctx.io.now() }));
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
    .description('kill one task; if it belongs to an app, the app starts a replacement')
    .argument('<id>', 'task id')
    .option('--json', 'print the task as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const killed = await withClient(ctx, cmd, (c) => c.killTask(id));
      if (opts.json) return printJson(ctx, Task.toJSON(killed));
      ctx.io.stdout(`killing task ${killed.id}\n`);
    });
}
