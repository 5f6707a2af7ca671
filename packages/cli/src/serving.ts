/**
 * The shared life of the long-running commands (dev, master, agent): start,
 * wait for a stop signal, stop in order. Stopping never kills tasks: they
 * run in their own process groups and a restarted agent re-adopts them, so
 * upgrading or restarting Drover does not take apps down.
 */
import type { RunningAgent } from '@drover/agent';
import { AddressInUseError } from '@drover/common';
import type { MasterOptions, RunningMaster } from '@drover/master';
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

/** The log level of in-process masters and agents: DROVER_LOG_LEVEL, else `fallback`. */
export function logLevel(ctx: CliContext, fallback: string): string {
  return ctx.io.env.DROVER_LOG_LEVEL ?? fallback;
}
