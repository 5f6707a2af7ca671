/** `drover cluster info` and `drover cluster status`. */
import { InfoResponse } from '@drover/proto';
import type { Command } from 'commander';
import { type CliContext, printJson, withClient } from '../cli-context.js';
import { formatClusterInfo, formatClusterStatus } from '../output/cluster.js';

/** Adds the `cluster` command group to the program. */
export function registerClusterCommands(program: Command, ctx: CliContext): void {
  const cluster = program.command('cluster').description('facts about the cluster');

  cluster
    .command('info')
    .description('version, leader, uptime and counts of the answering master')
    .option('--json', 'print the answer as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { info, address } = await withClient(ctx, cmd, async (c) => ({ info: await c.clusterInfo(), address: c.address }));
      if (opts.json) return printJson(ctx, InfoResponse.toJSON(info));
      ctx.io.stdout(formatClusterInfo(info, address));
    });

  cluster
    .command('status')
    .description('the leader, and every master with its role and epoch')
    .option('--json', 'print the masters as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      // Info answers on standbys too: whichever master answers first tells, and is named.
      const { info, address } = await withClient(ctx, cmd, async (c) => ({ info: await c.clusterInfo(), address: c.address }));
      if (opts.json) return printJson(ctx, { leader: info.leader, leaderHttp: info.leaderHttp, answeredBy: address, masters: (InfoResponse.toJSON(info) as { masters?: unknown[] }).masters ?? [] });
      ctx.io.stdout(formatClusterStatus(info, address));
    });
}
