/** `drover app ...`: deploy, list, get, scale and delete apps. */
import { App, DeployAppResponse } from '@drover/proto';
import type { Command } from 'commander';
import { readAppFile } from '../app-file.js';
import { type CliContext, printJson, withClient } from '../cli-context.js';
import { commanderParser } from '../options/commander-parser.js';
import { parseCount } from '../options/numbers.js';
import { formatAppDetails, formatAppTable } from '../output/apps.js';
import { plural } from '../output/plural.js';

interface JsonFlag {
  json?: boolean;
}

/** Adds the `app` command group to the program. */
export function registerAppCommands(program: Command, ctx: CliContext): void {
  const app = program.command('app').description('deploy and manage apps');

  app
    .command('deploy')
    .description('create an app, or update it if the id exists, from a JSON or YAML file (Marathon field names)')
    .argument('<file>', 'app definition; .json, .yaml or .yml (other names: JSON, then YAML)')
    .option('--json', 'print the stored app as JSON')
    .action(async (file: string, opts: JsonFlag, cmd: Command) => {
      // Validating locally first reports every mistake with its path without a round trip;
      // the master validates again, and its refusal is reported the same way.
      const spec = await readAppFile(file, ctx.io.cwd);
      const result = await withClient(ctx, cmd, (c) => c.deployApp(spec));
      if (opts.json) return printJson(ctx, DeployAppResponse.toJSON(result));
      const id = result.app.spec?.id ?? spec.id;
      ctx.io.stdout(`${result.created ? 'created' : 'updated'} app ${id} (version ${result.app.version})\n`);
    });

  app
    .command('list')
    .description('list apps with their task counts')
    .option('--json', 'print a JSON array of apps')
    .action(async (opts: JsonFlag, cmd: Command) => {
      const apps = await withClient(ctx, cmd, (c) => c.listApps());
      if (opts.json) return printJson(ctx, apps.map((a) => App.toJSON(a)));
      if (apps.length === 0) return ctx.io.stderr('no apps\n');
      ctx.io.stdout(formatAppTable(apps));
    });

  app
    .command('get')
    .description("show an app's spec, task counts, launch delay and last failure, and, if instances wait, why")
    .argument('<id>', 'app id ("web" and "/web" are the same)')
    .option('--json', 'print the app as JSON')
    .action(async (id: string, opts: JsonFlag, cmd: Command) => {
      const found = await withClient(ctx, cmd, (c) => c.getApp(id));
      if (opts.json) return printJson(ctx, App.toJSON(found));
      ctx.io.stdout(formatAppDetails(found, ctx.io.now()));
    });

  app
    .command('scale')
    .description('set the number of instances (scale-down kills the youngest tasks)')
    .argument('<id>', 'app id')
    .argument('<instances>', 'new instance count, 0 or more', commanderParser(parseCount))
    .option('--json', 'print the app as JSON')
    .action(async (id: string, instances: number, opts: JsonFlag, cmd: Command) => {
      const scaled = await withClient(ctx, cmd, (c) => c.scaleApp(id, instances));
      if (opts.json) return printJson(ctx, App.toJSON(scaled));
      ctx.io.stdout(`scaled app ${scaled.spec?.id ?? id} to ${plural(instances, 'instance')}\n`);
    });

  app
    .command('delete')
    .description('remove an app and kill its tasks')
    .argument('<id>', 'app id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { tasksKilled } = await withClient(ctx, cmd, (c) => c.deleteApp(id));
      ctx.io.stdout(`deleted app ${id} (${plural(tasksKilled, 'task')} killed)\n`);
    });
}
