/** `drover master`: run a master in the foreground until SIGINT/SIGTERM. */
import path from 'node:path';
import { requireTlsOffLoopback } from '@drover/common';
import type { Command } from 'commander';
import { type CliContext, insecureAllowed, tlsMaterial } from '../cli-context.js';
import { ExitWithCode } from '../cli-errors.js';
import { commanderParser } from '../options/commander-parser.js';
import { parseDuration } from '../options/duration.js';
import { parseEtcdEndpoints, parseEtcdPrefix } from '../options/etcd-endpoints.js';
import { parseCount, parsePortNumber } from '../options/numbers.js';
import { parsedOption } from '../options/parsed-option.js';
import { type LogFlags, logFormatOption, logLevelOption, serverLogger, startMaster } from '../serving.js';

interface MasterFlags extends LogFlags {
  dataDir?: string;
  etcd?: string[];
  etcdPrefix: string;
  leaseTtl: number;
  advertise?: string;
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
    .option('--data-dir <dir>', 'state directory (SQLite store); required without --etcd')
    .option('--etcd <urls>', 'keep state in etcd and elect a leader among the masters on it (HA): client URLs, comma-separated', commanderParser(parseEtcdEndpoints))
    .option('--etcd-prefix <prefix>', "key prefix of this cluster's state in etcd", commanderParser(parseEtcdPrefix), '/drover')
    .addOption(parsedOption('--lease-ttl <duration>', "the leader's etcd lease: a dead leader is replaced about this long after it stopped", parseDuration, '2s'))
    .option('--advertise <host>', 'host agents, clients and other masters reach this master at (default: --host, or the hostname when listening on all interfaces)')
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
      if (opts.dataDir === undefined && opts.etcd === undefined) cmd.error("error: required option '--data-dir <dir>' not specified (or --etcd for HA masters)", { exitCode: 2 });
      if (opts.etcd !== undefined && opts.leaseTtl < 1000) cmd.error('error: --lease-ttl must be at least 1s (etcd leases count whole seconds)', { exitCode: 2 });
      const dataDir = path.resolve(io.cwd, opts.dataDir ?? '.');
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
        ...(opts.etcd !== undefined ? { etcd: { endpoints: opts.etcd, prefix: opts.etcdPrefix, leaseTtlMs: opts.leaseTtl } } : {}),
        ...(opts.advertise !== undefined ? { advertiseHost: opts.advertise } : {}),
        tls,
        logger: serverLogger(ctx, opts, 'info'),
      });
      const where = opts.etcd !== undefined ? `state in etcd ${opts.etcd.join(',')} under ${opts.etcdPrefix}` : `data in ${dataDir}`;
      io.stdout(
        `master listening on ${opts.host}:${master.grpcPort} (gRPC${tls ? ' with mutual TLS' : ', plaintext'}, agents dial ${master.grpcAddress}) ` +
          `and ${opts.host}:${master.httpPort} (${tls ? 'HTTPS' : 'HTTP'}); ${where}\n`,
      );
      // A master also stops on its own (its store failed, or it lost the
      // leadership): exit non-zero so a supervisor starts it again.
      const onItsOwn = await Promise.race([stop.then(() => undefined), master.stopped]);
      if (onItsOwn !== undefined) {
        await master.stop();
        io.stderr(`master stopped: ${onItsOwn}\n`);
        throw new ExitWithCode(1);
      }
      io.stdout('stopping master; tasks on agents keep running\n');
      await master.stop();
      io.stdout('stopped\n');
    });
}
