/**
 * `drover dev`: a whole cluster in one process for a laptop. A master and an
 * agent start side by side, bound to 127.0.0.1 only, with their state under
 * one directory (./.drover by default: master/ and agent/), so `rm -rf
 * .drover` is a full reset and nothing is reachable from the network.
 */
import path from 'node:path';
import type { RunningAgent } from '@drover/agent';
import type { RunningMaster } from '@drover/master';
import type { Command } from 'commander';
import { type CliContext, DEFAULT_MASTER } from '../cli-context.js';
import { commanderParser } from '../options/commander-parser.js';
import { parseDuration } from '../options/duration.js';
import { parsePortNumber } from '../options/numbers.js';
import { parsedOption } from '../options/parsed-option.js';
import { type LogFlags, logFormatOption, logLevelOption, registeredOrStopped, serverLogger, startMaster, stopAll } from '../serving.js';

const LOOPBACK = '127.0.0.1';

interface DevOptions extends LogFlags {
  dataDir: string;
  grpcPort: number;
  httpPort: number;
  lostTimeout: number;
  forceNewCluster: boolean;
}

/** Adds `drover dev` to the program. */
export function registerDevCommand(program: Command, ctx: CliContext): void {
  program
    .command('dev')
    .description('run a master and an agent in this process on 127.0.0.1, for trying Drover out')
    .option('--data-dir <dir>', 'state directory (master in <dir>/master, agent in <dir>/agent)', './.drover')
    .option('--grpc-port <port>', 'master gRPC port (0 picks a free one)', commanderParser(parsePortNumber), 5053)
    .option('--http-port <port>', 'master HTTP port (0 picks a free one)', commanderParser(parsePortNumber), 5050)
    .addOption(parsedOption('--lost-timeout <duration>', 'how long a silent agent has before its tasks are unreachable', parseDuration, '3s'))
    .option('--force-new-cluster', 'start afresh although the master store holds no usable state (it is moved aside)', false)
    .addOption(logLevelOption('warn'))
    .addOption(logFormatOption())
    .action((opts: DevOptions) => runDev(ctx, opts));
}

async function runDev(ctx: CliContext, opts: DevOptions): Promise<void> {
  const { io, runtime } = ctx;
  const dataDir = path.resolve(io.cwd, opts.dataDir);
  const logger = serverLogger(ctx, opts, 'warn');
  const stop = runtime.waitForStop();
  let master: RunningMaster | undefined;
  let agent: RunningAgent | undefined;
  try {
    master = await startMaster(ctx, {
      dataDir: path.join(dataDir, 'master'),
      grpcHost: LOOPBACK,
      grpcPort: opts.grpcPort,
      httpHost: LOOPBACK,
      httpPort: opts.httpPort,
      agentLostTimeoutMs: opts.lostTimeout,
      forceNewCluster: opts.forceNewCluster,
      logger,
    });
    agent = await runtime.startAgent({
      master: master.grpcAddress,
      workDir: path.join(dataDir, 'agent'),
      // Tasks are reached where the agent runs: on loopback, like everything else in dev.
      address: LOOPBACK,
      logger,
    });
    io.stdout(`master listening on ${master.grpcAddress} (gRPC) and http://${LOOPBACK}:${master.httpPort}; waiting for the agent...\n`);
    const first = await registeredOrStopped(agent, stop);
    if (first.kind === 'registered') {
      io.stdout(banner(master, first.id, dataDir, io.invokedAs));
      await stop;
    }
  } catch (e) {
    await stopAll([agent, master]).catch(() => undefined);
    throw e;
  }
  io.stdout('stopping agent, then master; tasks keep running and are re-adopted on the next `drover dev`\n');
  await stopAll([agent, master]);
  io.stdout('stopped\n');
}

function banner(master: RunningMaster, agentId: string, dataDir: string, invokedAs: string): string {
  const custom = master.grpcAddress !== DEFAULT_MASTER;
  return [
    '',
    'Drover dev cluster is up (master and agent in this process, on 127.0.0.1 only)',
    `  gRPC    ${master.grpcAddress}`,
    `  HTTP    http://${LOOPBACK}:${master.httpPort}`,
    `  data    ${dataDir}`,
    `  agent   ${agentId}`,
    '',
    'In another terminal:',
    ...(invokedAs === 'drover' ? [] : [`  alias drover='${invokedAs}'`]),
    ...(custom ? [`  export DROVER_MASTER=${master.grpcAddress}`] : []),
    '  drover app deploy examples/web.yaml',
    '  drover task list          # PORTS shows where each instance listens',
    '  curl http://127.0.0.1:<port>/',
    '',
    'Ctrl-C stops Drover; tasks keep running and are re-adopted on the next start.',
    '',
  ].join('\n');
}
