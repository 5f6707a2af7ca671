/**
 * What `drover app deploy|scale|restart|rollback` do after the master took
 * the change: follow its deployment to the end, drawing its progress, and
 * exit with its outcome. A deployment that fails or is canceled may have
 * started a rollback; that one is followed too, so the user learns where
 * the app ended up, and the command still exits 1: the change asked for
 * did not happen.
 *
 * Ctrl-C only stops the waiting, as with `drover run --wait`: the
 * deployment belongs to the cluster, and `drover deployment cancel` stops it.
 */
import type { DroverClient } from '@drover/client';
import type { Deployment } from '@drover/proto';
import type { CliContext } from './cli-context.js';
import { ExitCode, ExitWithCode } from './cli-errors.js';
import { followDeployment } from './deployment-follower.js';
import { deploymentStateName, durationOf, formatDeploymentProgress } from './output/deployments.js';
import { LiveBlock } from './output/live-block.js';

/** How to wait. */
export interface WaitOptions {
  /** Aborts on Ctrl-C. */
  signal: AbortSignal;
  /** Draw no progress and print nothing on success (--json: standard output holds the JSON alone). */
  quiet?: boolean;
  /** Milliseconds between polls of the deployment (tests shorten it). */
  pollMs?: number;
}

/**
 * Follows `deployment` (and the rollback it may start) to the end. Returns
 * when it succeeded; otherwise prints why on standard error and throws
 * ExitWithCode: 1 when it failed or was canceled, 130 when Ctrl-C stopped
 * the waiting.
 */
export async function waitForDeployment(ctx: CliContext, client: DroverClient, deployment: Deployment, options: WaitOptions): Promise<void> {
  const { io } = ctx;
  const ended = await follow(ctx, client, deployment, options);
  if (deploymentStateName(ended) === 'SUCCEEDED') {
    if (!options.quiet) io.stdout(`deployment ${ended.id} succeeded${durationOf(ended)}\n`);
    return;
  }
  io.stderr(`error: deployment ${ended.id} ${outcomeOf(ended)}\n`);
  if (ended.rollbackId) {
    const rollback = await client.getDeployment(ended.rollbackId);
    if (!options.quiet) io.stdout(`rolling back: deployment ${rollback.id} returns ${rollback.appId} to version ${rollback.version}\n`);
    const back = await follow(ctx, client, rollback, options);
    io.stderr(
      deploymentStateName(back) === 'SUCCEEDED'
        ? `rollback ${back.id} succeeded${durationOf(back)}: ${back.appId} is back at version ${back.version}\n`
        : `rollback ${back.id} ${outcomeOf(back)}\n`,
    );
  }
  throw new ExitWithCode(ExitCode.Failure);
}

/** Follows one deployment, drawing its progress; resolves with its end, or exits 130 after Ctrl-C. */
async function follow(ctx: CliContext, client: DroverClient, deployment: Deployment, options: WaitOptions): Promise<Deployment> {
  const block = new LiveBlock(ctx.io);
  const draw = (d: Deployment): void => {
    if (!options.quiet) block.update(formatDeploymentProgress(d));
  };
  draw(deployment);
  const ended = await followDeployment(client, deployment, { onUpdate: draw, signal: options.signal, pollMs: options.pollMs });
  if (ended !== undefined) return ended;
  ctx.io.stderr(
    `stopped waiting; deployment ${deployment.id} goes on (drover deployment get ${deployment.id} shows it, drover deployment cancel ${deployment.id} rolls it back)\n`,
  );
  throw new ExitWithCode(ExitCode.Interrupted);
}

/** "failed: <why>" or "was canceled: <why>" (followDeployment only returns ended deployments). */
function outcomeOf(d: Deployment): string {
  const why = d.message ? `: ${d.message}` : '';
  return deploymentStateName(d) === 'CANCELED' ? `was canceled${why}` : `failed${why}`;
}
