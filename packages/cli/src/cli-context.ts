/**
 * Everything a command touches outside its arguments: output streams,
 * environment, working directory, clock, and the long-running pieces
 * (master, agent, stop signals). Commands take it as a parameter so tests
 * run them in-process with captured output and fakes, and bin.ts wires the
 * real process.
 */
import type { AgentOptions, RunningAgent } from '@drover/agent';
import { DroverClient } from '@drover/client';
import { dialTarget, hostOf, loadTls, parseMasterList, requireTlsOffLoopback, type TlsMaterial, UnreachableError } from '@drover/common';
import type { MasterOptions, RunningMaster } from '@drover/master';
import type { Command } from 'commander';
import { withConnectionHint } from './connection-hints.js';
import { DEFAULT_MASTER } from './default-master.js';

export { DEFAULT_MASTER } from './default-master.js';

/** Where a command writes and what it reads from its surroundings. */
export interface CliIo {
  /** Writes text to standard output as is (callers end lines with "\n"). */
  stdout(text: string): void;
  /** Writes bytes to standard output untouched (task logs and files are not necessarily text). */
  stdoutBytes(data: Uint8Array): void;
  /** Writes text to standard error as is. */
  stderr(text: string): void;
  /** Environment variables (DROVER_MASTER, DROVER_LOG_LEVEL). */
  env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** The current time; fixed in tests so ages are stable. */
  now(): Date;
  /** How the user ran this CLI ("drover", or "node /path/to/drover.js"), for hints that name it. */
  invokedAs: string;
  /** Set when standard output is a terminal: live progress is redrawn in place instead of printed line by line. */
  tty?: TerminalInfo;
}

/** What a command may know about the terminal standard output goes to. */
export interface TerminalInfo {
  /** Its width in columns; lines redrawn in place are cut to fit, or they would wrap and break the redraw. */
  readonly columns: number;
}

/** The long-running parts, replaceable in tests. */
export interface CliRuntime {
  /** Starts a master in this process. */
  startMaster(options: MasterOptions): Promise<RunningMaster>;
  /** Starts an agent in this process. */
  startAgent(options: AgentOptions): Promise<RunningAgent>;
  /**
   * Keeps the process's young generation small until the returned function
   * is called: `drover agent` holds it through its start-up (see
   * young-generation.ts).
   */
  holdYoungGeneration(): () => void;
  /** Resolves with the signal's name once the process is asked to stop (SIGINT, SIGTERM). */
  waitForStop(): Promise<string>;
}

/** What every command gets. */
export interface CliContext {
  /** Output and surroundings. */
  io: CliIo;
  /** Master, agent and signals. */
  runtime: CliRuntime;
}

/**
 * The masters a command talks to: --master, else DROVER_MASTER, else
 * 127.0.0.1:5053; a comma-separated list, a host without port meaning
 * :5053. Throws InvalidArgument naming every bad address.
 */
export function masterAddresses(ctx: CliContext, command: Command): string[] {
  const flag = (command.optsWithGlobals() as { master?: string }).master;
  return parseMasterList(flag ?? ctx.io.env.DROVER_MASTER ?? DEFAULT_MASTER);
}

/** The global TLS flags, each falling back to its DROVER_* variable. */
interface TlsFlags {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecure?: boolean;
}

/** The TLS material of --tls-ca/--tls-cert/--tls-key (or DROVER_TLS_*), if given. */
export function tlsMaterial(ctx: CliContext, command: Command): TlsMaterial | undefined {
  const flags = command.optsWithGlobals() as TlsFlags;
  const env = ctx.io.env;
  return loadTls({
    ca: flags.tlsCa ?? env.DROVER_TLS_CA,
    cert: flags.tlsCert ?? env.DROVER_TLS_CERT,
    key: flags.tlsKey ?? env.DROVER_TLS_KEY,
  });
}

/** True when --insecure (or DROVER_INSECURE=1) allows plaintext off loopback. */
export function insecureAllowed(ctx: CliContext, command: Command): boolean {
  return (command.optsWithGlobals() as TlsFlags).insecure === true || ctx.io.env.DROVER_INSECURE === '1';
}

/** The TLS material to dial `masters` with; refuses plaintext off loopback (for any of them) unless --insecure. */
export function dialTls(ctx: CliContext, command: Command, masters: readonly string[]): TlsMaterial | undefined {
  const tls = tlsMaterial(ctx, command);
  for (const address of masters) requireTlsOffLoopback(tls, hostOf(address), insecureAllowed(ctx, command), `connecting to ${address}`);
  return tls;
}

/**
 * Runs `fn` with a client for the command's masters (it finds the leader
 * among them) and always closes it; a master it could not reach comes with
 * a hint on what to do about it.
 */
export async function withClient<T>(ctx: CliContext, command: Command, fn: (client: DroverClient) => Promise<T>): Promise<T> {
  const masters = masterAddresses(ctx, command);
  const tls = dialTls(ctx, command, masters);
  const client = new DroverClient(masters, { dial: (address) => dialTarget(tls, address) });
  try {
    return await fn(client);
  } catch (e) {
    throw e instanceof UnreachableError ? withConnectionHint(e, tls !== undefined) : e;
  } finally {
    client.close();
  }
}

/**
 * A signal that aborts when the user asks the process to stop (Ctrl-C,
 * SIGTERM), for commands that follow something until then: passed to the
 * client's streams, it cancels them at once.
 */
export function stopSignal(ctx: CliContext): AbortSignal {
  const stop = new AbortController();
  void ctx.runtime.waitForStop().then(() => stop.abort());
  return stop.signal;
}

/** Writes a value as indented JSON, for --json. */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
