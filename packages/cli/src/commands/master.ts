/** `drover master`: run a master in the foreground until SIGINT/SIGTERM. */
import path from 'node:path';
import { requireTlsOffLoopback } from '@drover/common';
import type { Command } from 'commander';
import { type CliContext, insecureAllowed, tlsMaterial } from '../cli-context.js';
import { commanderParser } from '../options/commander-parser.js';
import { parseDuration } from '../options/duration.js';
import { parseCount, parsePortNumber } from '../options/numbers.js';
import { parsedOption } from '../options/parsed-option.js';
import { type LogFlags, logFormatOption, logLevelOption, serverLogger, startMaster } from '../serving.js';

interface MasterFlags extends LogFlags {
  dataDir: string;
  grpcPort: number;
  httpPort: number;
  host: string;
  lostTimeout: number;
  taskHistory: number;
  taskHistoryMax: number;
  forceNewCluster: boolean;
  minRunning: number;
}

/** Adds `drover master` to the program. */
export function registerMasterCommand(program: Command, ctx: CliContext): void {
  program
    .command('master')
    .description('run a master: stores apps, places tasks, serves gRPC (agents, clients) and HTTP')
    .requiredOption('--data-dir <dir>', 'state directory (SQLite store)')
    .option('--grpc-port <port>', 'gRPC port for agents and clients', commanderParser(parsePortNumber), 5053)
    .option('--http-port <port>', 'HTTP port (/ping, /metrics, REST)', commanderParser(parsePortNumber), 5050)
    .option('--host <address>', 'interface to listen on', '0.0.0.0')
    .addOption(parsedOption('--lost-timeout <duration>', 'how long a silent agent has before its tasks are unreachable', parseDuration, '3s'))
    .addOption(parsedOption('--task-history <duration>', 'how long ended tasks stay listed (task list --all)', parseDuration, '1h'))
    .option('--task-history-max <n>', 'at most this many ended tasks are kept', commanderParser(parseCount), 1000)
    .option(
      '--force-new-cluster',
      'start a new cluster although the data dir holds a store without usable state (it is moved aside; running tasks are adopted)',
      false,
    )
    .addOption(
      parsedOption(
        '--min-running <duration>',
        'how long a task of an app without health checks must run before it counts as healthy (deployments wait for it)',
        parseDuration,
        '5s',
      ),
    )
    .addOption(logLevelOption('info'))
    .addOption(logFormatOption())
    .action(async (opts: MasterFlags, cmd: Command) => {
      const { io, runtime } = ctx;
      const dataDir = path.resolve(io.cwd, opts.dataDir);
      const tls = tlsMaterial(ctx, cmd);
      requireTlsOffLoopback(tls, opts.host, insecureAllowed(ctx, cmd), `serving on ${opts.host}:${opts.grpcPort}`);
      const stop = runtime.waitForStop();
      const master = await startMaster(ctx, {
        dataDir,
        grpcHost: opts.host,
        grpcPort: opts.grpcPort,
        httpHost: opts.host,
        httpPort: opts.httpPort,
        agentLostTimeoutMs: opts.lostTimeout,
        taskHistoryMs: opts.taskHistory,
        taskHistoryMax: opts.taskHistoryMax,
        forceNewCluster: opts.forceNewCluster,
        minRunningMs: opts.minRunning,
        tls,
        logger: serverLogger(ctx, opts, 'info'),
      });
      io.stdout(
        `master listening on ${opts.host}:${master.grpcPort} (gRPC${tls ? ' with mutual TLS' : ', plaintext'}, agents dial ${master.grpcAddress}) ` +
          `and ${opts.host}:${master.httpPort} (${tls ? 'HTTPS' : 'HTTP'}); data in ${dataDir}\n`,
      );
      await stop;
      io.stdout('stopping master; tasks on agents keep running\n');
      await master.stop();
      io.stdout('stopped\n');
    });
}
