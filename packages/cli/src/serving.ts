/**
 * The shared life of the long-running commands (dev, master, agent): start,
 * wait for a stop signal, stop in order. Stopping never kills tasks: they
 * run in their own process groups and a restarted agent re-adopts them, so
 * upgrading or restarting Drover does not take apps down.
 */
import type { RunningAgent } from '@drover/agent';
import { AddressInUseError, Code, createLogger, DroverError, LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger } from '@drover/common';
import type { MasterOptions, RunningMaster } from '@drover/master';
import { Option } from 'commander';
import type { CliContext } from './cli-context.js';
import { HintedError } from './cli-errors.js';

/** Starts the master of `drover master` or `drover dev`; a port another process holds comes with the flag that moves it. */
export async function startMaster(ctx: CliContext, options: MasterOptions): Promise<RunningMaster> {
  try {
    return await ctx.runtime.startMaster(options);
  } catch (e) {
    if (!(e instanceof AddressInUseError)) throw e;
    const flag = e.listener === 'grpc' ? '--grpc-port' : '--http-port';
    throw new HintedError(e, `another process listens there (another drover dev or master?): stop it, or pass ${flag} to use another port (0 picks a free one)`);
  }
}

/** What happened first after an agent started. */
export type AgentStartOutcome = { kind: 'registered'; id: string } | { kind: 'stopped'; signal: string };

/**
 * Waits for the agent's first registration or a stop signal, whichever comes
 * first; an agent that cannot reach its master keeps retrying, so the user
 * must be able to give up with Ctrl-C.
 */
export function registeredOrStopped(agent: RunningAgent, stop: Promise<string>): Promise<AgentStartOutcome> {
  return Promise.race([
    agent.registered().then((id: string): AgentStartOutcome => ({ kind: 'registered', id })),
    stop.then((signal): AgentStartOutcome => ({ kind: 'stopped', signal })),
  ]);
}

/** Stops each part in order, even if an earlier one fails; rethrows the first failure. */
export async function stopAll(parts: ReadonlyArray<{ stop(): Promise<void> } | undefined>): Promise<void> {
  let first: unknown;
  for (const part of parts) {
    try {
      await part?.stop();
    } catch (e) {
      first ??= e;
    }
  }
  if (first !== undefined) throw first;
}

/** The logging flags of the long-running commands. */
export interface LogFlags {
  /** --log-level: pino level. */
  logLevel?: string;
  /** --log-format: pretty or json. */
  logFormat?: LogFormat;
}

/** How the logs of an in-process master or agent are written. */
export interface LogSettings {
  level: string;
  format: LogFormat;
  colorize: boolean;
}

/** --log-level, for `drover master`, `agent` and `dev`. */
export function logLevelOption(defaultLevel: string): Option {
  return new Option('--log-level <level>', `how much to log (env DROVER_LOG_LEVEL; default ${defaultLevel})`).choices(LOG_LEVELS);
}

/** --log-format, for `drover master`, `agent` and `dev`. */
export function logFormatOption(): Option {
  return new Option('--log-format <format>', 'log lines for people or machines (env DROVER_LOG_FORMAT; default pretty on a terminal, else json)').choices(LOG_FORMATS);
}

/**
 * The level and format of the logs: each flag, else its DROVER_* variable,
 * else `defaultLevel` and pretty when standard output (where logs go) is a
 * terminal, JSON when it is a file or a pipe.
 */
export function logSettings(ctx: CliContext, flags: LogFlags, defaultLevel: string): LogSettings {
  const { env, tty } = ctx.io;
  const level = flags.logLevel ?? env.DROVER_LOG_LEVEL ?? defaultLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new DroverError(`DROVER_LOG_LEVEL=${level} is not a log level: use one of ${LOG_LEVELS.join(', ')}`, Code.InvalidArgument);
  }
  const format = flags.logFormat ?? env.DROVER_LOG_FORMAT ?? (tty ? 'pretty' : 'json');
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new DroverError(`DROVER_LOG_FORMAT=${format} is not a log format: use pretty or json`, Code.InvalidArgument);
  }
  return { level, format: format as LogFormat, colorize: format === 'pretty' && tty !== undefined };
}

/** The root logger of an in-process master or agent, as the flags and environment say. */
export function serverLogger(ctx: CliContext, flags: LogFlags, defaultLevel: string): Logger {
  return createLogger(logSettings(ctx, flags, defaultLevel));
}
