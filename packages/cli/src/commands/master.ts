/** `drover master`: run a master in the foreground until SIGINT/SIGTERM. */
import path from 'node:path';
import { createLogger, requireTlsOffLoopback } from '@drover/common';
import type { Command } from 'commander';
import { type CliContext, insecureAllowed, tlsMaterial } from '../cli-context.js';
import { commanderParser } from '../options/commander-parser.js';
import { parseDuration } from '../options/duration.js';
import { parseCount, parsePortNumber } from '../options/numbers.js';
import { logLevel } from '../serving.js';

interface MasterFlags {
  dataDir: string;
  grpcPort: number;
  httpPort: number;
  host: string;
  lostTimeout: number;
  taskHistory: number;
  taskHistoryMax: number;
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
    .option('--lost-timeout <duration>', 'how long a silent agent has before its tasks are replaced', commanderParser(parseDuration), 10_000)
    .option('--task-history <duration>', 'how long ended tasks stay listed (task list --all)', commanderParser(parseDuration), 3_600_000)
    .option('--task-history-max <n>', 'at most this many ended tasks are kept', commanderParser(parseCount), 1000)
    .option(
      '--min-running <duration>',
      'how long a task of an app without health checks must run before it counts as healthy (deployments wait for it)',
      commanderParser(parseDuration),
      5_000,
    )
    .action(async (opts: MasterFlags, cmd: Command) => {
      const { io, runtime } = ctx;
      const dataDir = path.resolve(io.cwd, opts.dataDir);
      const tls = tlsMaterial(ctx, cmd);
      requireTlsOffLoopback(tls, opts.host, insecureAllowed(ctx, cmd), `serving on ${opts.host}:${opts.grpcPort}`);
      const stop = runtime.waitForStop();
      const master = await runtime.startMaster({
        dataDir,
        grpcHost: opts.host,
        grpcPort: opts.grpcPort,
        httpHost: opts.host,
        httpPort: opts.httpPort,
        agentLostTimeoutMs: opts.lostTimeout,
        taskHistoryMs: opts.taskHistory,
        taskHistoryMax: opts.taskHistoryMax,
        minRunningMs: opts.minRunning,
        tls,
        logger: createLogger({ level: logLevel(ctx, 'info') }),
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
