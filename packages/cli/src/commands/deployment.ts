/** `drover deployment ...`: list, inspect and cancel the deployments that carry out changes to apps. */
import { CancelDeploymentResponse, Deployment } from '@drover/proto';
import type { Command } from 'commander';
import { type CliContext, printJson, withClient } from '../cli-context.js';
import { formatDeploymentDetails, formatDeploymentTable } from '../output/deployments.js';

/** Adds the `deployment` command group to the program. */
export function registerDeploymentCommands(program: Command, ctx: CliContext): void {
  const deployment = program.command('deployment').description('inspect and cancel deployments (every change to an app is one)');

  deployment
    .command('list')
    .description('list deployments in progress (with --all, recently ended ones too), newest first')
    .option('--app <id>', 'only deployments of this app')
    .option('--all', 'include ended deployments, with when they ended')
    .option('--json', 'print a JSON array of deployments')
    .action(async (opts: { app?: string; all?: boolean; json?: boolean }, cmd: Command) => {
      const deployments = await withClient(ctx, cmd, (c) => c.listDeployments({ appId: opts.app, includeEnded: opts.all ?? false }));
      if (opts.json) return printJson(ctx, deployments.map((d) => Deployment.toJSON(d)));
      if (deployments.length === 0) return ctx.io.stderr(opts.all ? 'no deployments\n' : 'no deployments in progress (--all shows ended ones)\n');
      ctx.io.stdout(formatDeploymentTable(deployments, { withEnded: opts.all === true, now: ctx.io.now() }));
    });

  deployment
    .command('get')
    .description('show one deployment and its progress')
    .argument('<id>', 'deployment id')
    .option('--json', 'print the deployment as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const found = await withClient(ctx, cmd, (c) => c.getDeployment(id));
      if (opts.json) return printJson(ctx, Deployment.toJSON(found));
      ctx.io.stdout(formatDeploymentDetails(found, ctx.io.now()));
    });

  deployment
    .command('cancel')
    .description('cancel a running deployment: its app goes back to the version it came from, in a rollback deployment')
    .argument('<id>', 'deployment id')
    .option('--force', 'just stop it, without rolling back: the app keeps its new spec and the tasks it has')
    .option('--json', 'print the canceled deployment and the rollback as JSON')
    .action(async (id: string, opts: { force?: boolean; json?: boolean }, cmd: Command) => {
      const result = await withClient(ctx, cmd, (c) => c.cancelDeployment(id, { force: opts.force }));
      if (opts.json) return printJson(ctx, CancelDeploymentResponse.toJSON(result));
      const { canceled, rollback } = result;
      ctx.io.stdout(
        rollback
          ? `canceled deployment ${canceled.id}; rolling back ${rollback.appId} to version ${rollback.version} with deployment ${rollback.id} (drover deployment get ${rollback.id} shows it)\n`
          : `canceled deployment ${canceled.id} without rolling back; ${canceled.appId} keeps version ${canceled.version}\n`,
      );
    });
}
