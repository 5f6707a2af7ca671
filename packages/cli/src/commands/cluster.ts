/** `drover cluster info`. */
import { InfoResponse } from '@drover/proto';
import type { Command } from 'commander';
import { type CliContext, masterAddress, printJson, withClient } from '../cli-context.js';
import { formatClusterInfo } from '../output/cluster.js';

/** Adds the `cluster` command group to the program. */
export function registerClusterCommands(program: Command, ctx: CliContext): void {
  const cluster = program.command('cluster').description('facts about the cluster');

  cluster
    .command('info')
    .description('version, leader, uptime and counts of the answering master')
    .option('--json', 'print the answer as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const info = await withClient(ctx, cmd, (c) => c.clusterInfo());
      if (opts.json) return printJson(ctx, InfoResponse.toJSON(info));
      ctx.io.stdout(formatClusterInfo(info, masterAddress(ctx, cmd)));
    });
}
