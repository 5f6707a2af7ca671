/**
 * `drover app ...`: deploy, list, get, scale, restart, roll back and delete
 * apps, and list their versions.
 *
 * Every change is a deployment on the master. The changing commands wait
 * for it by default, drawing its progress, and exit 0 only once it
 * succeeded (see wait-for-deployment.ts); --detach returns as soon as the
 * master took the change. An app whose deployment still runs refuses
 * another change (FailedPrecondition) unless --force replaces it.
 */
import { Code, DroverError } from '@drover/common';
import type { DroverClient } from '@drover/client';
import { App, AppVersion, DeployAppResponse, type Deployment, RestartAppResponse, RollbackAppResponse, ScaleAppResponse } from '@drover/proto';
import type { Command } from 'commander';
import { type CliContext, printJson, stopSignal, withClient } from '../cli-context.js';
import { HintedError } from '../cli-errors.js';
import { commanderParser } from '../options/commander-parser.js';
import { parseCount } from '../options/numbers.js';
import { formatAppDetails, formatAppTable, formatVersionTable } from '../output/apps.js';
import { kindOf, progressCell } from '../output/deployments.js';
import { plural } from '../output/plural.js';
import { waitForDeployment } from '../wait-for-deployment.js';

interface JsonFlag {
  json?: boolean;
}

/** Flags of the commands that change an app. */
interface ChangeFlags extends JsonFlag {
  force?: boolean;
  detach?: boolean;
}

const FORCE_HELP = 'replace a deployment of the app that is still running instead of failing';
const DETACH_HELP = 'return once the master took the change, printing the deployment id, instead of waiting for it';
const WAIT_HELP = [
  '',
  'Waits for the deployment by default, drawing its progress, and exits 0 once every instance runs',
  '(and passes its health checks) at the new version. It exits 1 when the deployment fails or is',
  'canceled; a failed deployment rolls back, and the rollback is followed to its end too. Ctrl-C',
  'stops the waiting, not the deployment (exit 130): drover deployment cancel ID stops that.',
].join('\n');

/** Adds the `app` command group to the program. */
export function registerAppCommands(program: Command, ctx: CliContext): void {
  const app = program.command('app').description('deploy and manage apps');

  app
    .command('deploy')
    .description('create an app, or update it if the id exists, from a JSON or YAML file (Marathon field names), and wait for the deployment')
    .argument('<file>', 'app definition; .json, .yaml or .yml (other names: JSON, then YAML)')
    .option('--force', FORCE_HELP)
    .option('--detach', DETACH_HELP)
    .option('--json', "print the master's answer (the stored app and its deployment) as JSON")
    .addHelpText('after', WAIT_HELP)
    .action(async (file: string, opts: ChangeFlags, cmd: Command) => {
      // Validating locally first reports every mistake with its path without a round trip;
      // the master validates again, and its refusal is reported the same way.
      // Imported here: YAML and app validation are only needed to deploy.
      const { readAppFile } = await import('../app-file.js');
      const spec = await readAppFile(file, ctx.io.cwd);
      await withClient(ctx, cmd, async (c) => {
        const result = await c.deployApp(spec, { force: opts.force }).catch((e: unknown) => explainLock(c, spec.id, opts, e));
        if (opts.json) printJson(ctx, DeployAppResponse.toJSON(result));
        const id = result.app.spec?.id ?? spec.id;
        if (result.deployment === undefined) {
          if (!opts.json) ctx.io.stdout(`app ${id} is unchanged (version ${result.app.version})\n`);
          return;
        }
        if (!opts.json) ctx.io.stdout(`${result.created ? 'created' : 'updated'} app ${id} (version ${result.app.version}), deployment ${result.deployment.id}\n`);
        await waitUnlessDetached(ctx, c, result.deployment, opts);
      });
    });

  app
    .command('list')
    .description('list apps with their task counts and health')
    .option('--json', 'print a JSON array of apps')
    .action(async (opts: JsonFlag, cmd: Command) => {
      const apps = await withClient(ctx, cmd, (c) => c.listApps());
      if (opts.json) return printJson(ctx, apps.map((a) => App.toJSON(a)));
      if (apps.length === 0) return ctx.io.stderr('no apps\n');
      ctx.io.stdout(formatAppTable(apps));
    });

  app
    .command('get')
    .description("show an app's spec, task counts and health, deployment in progress, launch delay and last failure, and, if instances wait, why")
    .argument('<id>', 'app id ("web" and "/web" are the same)')
    .option('--json', 'print the app as JSON')
    .action(async (id: string, opts: JsonFlag, cmd: Command) => {
      const { found, deployments } = await withClient(ctx, cmd, async (c) => {
        const found = await c.getApp(id);
        if (opts.json || (found.status?.deployments.length ?? 0) === 0) return { found, deployments: [] };
        // Only adds detail to the deployment ids the app already lists: not worth failing the command for.
        const deployments = await c.listDeployments({ appId: found.spec?.id ?? id }).catch((): Deployment[] => []);
        return { found, deployments };
      });
      if (opts.json) return printJson(ctx, App.toJSON(found));
      ctx.io.stdout(formatAppDetails(found, ctx.io.now(), deployments));
    });

  app
    .command('versions')
    .description("list an app's stored versions, newest first, marking the current one")
    .argument('<id>', 'app id')
    .option('--json', 'print a JSON array of versions, each with its spec')
    .action(async (id: string, opts: JsonFlag, cmd: Command) => {
      const [found, versions] = await withClient(ctx, cmd, (c) => Promise.all([c.getApp(id), c.appVersions(id)]));
      if (opts.json) return printJson(ctx, versions.map((v) => AppVersion.toJSON(v)));
      if (versions.length === 0) return ctx.io.stderr(`no versions of app ${found.spec?.id ?? id} are stored\n`);
      ctx.io.stdout(formatVersionTable(versions, found.version));
    });

  app
    .command('scale')
    .description('set the number of instances (scale-down kills the youngest tasks), and wait for the deployment')
    .argument('<id>', 'app id')
    .argument('<instances>', 'new instance count, 0 or more', commanderParser(parseCount))
    .option('--force', FORCE_HELP)
    .option('--detach', DETACH_HELP)
    .option('--json', "print the master's answer (the app and its deployment) as JSON")
    .addHelpText('after', WAIT_HELP)
    .action(async (id: string, instances: number, opts: ChangeFlags, cmd: Command) => {
      await withClient(ctx, cmd, async (c) => {
        const result = await c.scaleApp(id, instances, { force: opts.force }).catch((e: unknown) => explainLock(c, id, opts, e));
        if (opts.json) printJson(ctx, ScaleAppResponse.toJSON(result));
        const appId = result.app.spec?.id ?? id;
        if (result.deployment === undefined) {
          if (!opts.json) ctx.io.stdout(`app ${appId} already has ${plural(instances, 'instance')}\n`);
          return;
        }
        if (!opts.json) ctx.io.stdout(`scaling app ${appId} to ${plural(instances, 'instance')}, deployment ${result.deployment.id}\n`);
        await waitUnlessDetached(ctx, c, result.deployment, opts);
      });
    });

  app
    .command('restart')
    .description('replace every task of an app with a new one, under its upgrade strategy, and wait for the deployment')
    .argument('<id>', 'app id')
    .option('--force', FORCE_HELP)
    .option('--detach', DETACH_HELP)
    .option('--json', 'print the deployment as JSON')
    .addHelpText('after', WAIT_HELP)
    .action(async (id: string, opts: ChangeFlags, cmd: Command) => {
      await withClient(ctx, cmd, async (c) => {
        const deployment = await c.restartApp(id, { force: opts.force }).catch((e: unknown) => explainLock(c, id, opts, e));
        if (opts.json) printJson(ctx, RestartAppResponse.toJSON({ deployment }));
        else ctx.io.stdout(`restarting app ${deployment.appId || id} (version ${deployment.version}), deployment ${deployment.id}\n`);
        await waitUnlessDetached(ctx, c, deployment, opts);
      });
    });

  app
    .command('rollback')
    .description("deploy an earlier version's spec again (the previous one by default), and wait for the deployment")
    .argument('<id>', 'app id')
    .option('--to <version>', 'the version to go back to, as drover app versions lists them')
    .option('--force', FORCE_HELP)
    .option('--detach', DETACH_HELP)
    .option('--json', "print the master's answer (the app and the deployment) as JSON")
    .addHelpText('after', `${WAIT_HELP}\n\nThe rollback is a new version with the old spec, so it can be rolled back in turn.`)
    .action(async (id: string, opts: ChangeFlags & { to?: string }, cmd: Command) => {
      await withClient(ctx, cmd, async (c) => {
        const result = await c.rollbackApp(id, { toVersion: opts.to, force: opts.force }).catch((e: unknown) => explainLock(c, id, opts, e));
        if (opts.json) printJson(ctx, RollbackAppResponse.toJSON(result));
        else {
          const target = opts.to ? `version ${opts.to}` : 'its previous version';
          ctx.io.stdout(`rolling back app ${result.app.spec?.id ?? id} to ${target} (as version ${result.app.version}), deployment ${result.deployment.id}\n`);
        }
        await waitUnlessDetached(ctx, c, result.deployment, opts);
      });
    });

  app
    .command('delete')
    .description('remove an app and kill its tasks')
    .argument('<id>', 'app id')
    .option('--force', 'delete even while a deployment of the app runs (it is canceled)')
    .action(async (id: string, opts: ChangeFlags, cmd: Command) => {
      const { tasksKilled } = await withClient(ctx, cmd, (c) => c.deleteApp(id, { force: opts.force }).catch((e: unknown) => explainLock(c, id, opts, e)));
      ctx.io.stdout(`deleted app ${id} (${plural(tasksKilled, 'task')} killed)\n`);
    });
}

/** Waits for the deployment unless --detach; with --json, quietly (standard output holds the JSON alone). */
async function waitUnlessDetached(ctx: CliContext, client: DroverClient, deployment: Deployment, opts: ChangeFlags): Promise<void> {
  if (opts.detach) return;
  await waitForDeployment(ctx, client, deployment, { signal: stopSignal(ctx), quiet: opts.json });
}

/**
 * Rethrows a failed change. When the master refused it because a deployment
 * of the app still runs (FailedPrecondition, and the app has one), adds a
 * hint naming that deployment and --force. The running deployment is
 * looked up rather than read from the message: messages are for people.
 */
async function explainLock(client: DroverClient, appId: string, opts: ChangeFlags, error: unknown): Promise<never> {
  const err = DroverError.from(error);
  if (err.code !== Code.FailedPrecondition || opts.force) throw err;
  const running = await client.listDeployments({ appId }).catch((): Deployment[] => []);
  const d = running[0];
  if (d === undefined) throw err;
  throw new HintedError(
    err,
    `deployment ${d.id} (${kindOf(d)}, ${progressCell(d.progress)}) is still running: add --force to replace it, or cancel it with drover deployment cancel ${d.id}`,
  );
}
