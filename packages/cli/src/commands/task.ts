/** `drover task ...`: list, inspect and kill tasks. */
import { Task, WaitingInstances } from '@drover/proto';
import type { Command } from 'commander';
import { type CliContext, printJson, withClient } from '../cli-context.js';
import { formatTaskDetails, formatTaskTable, formatWaitingTable, hasEnded } from '../output/tasks.js';

/** Adds the `task` command group to the program. */
export function registerTaskCommands(program: Command, ctx: CliContext): void {
  const task = program.command('task').description('inspect and kill tasks');

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
}
