/**
 * How deployments look: the live progress lines of `drover app deploy` and
 * friends, `drover deployment list` and `drover deployment get`.
 *
 * Progress is measured on what a rolling change must do: bring up the
 * target's new instances and retire the rest (old versions, and the
 * surplus of a scale down). The bar is newHealthy / (target + oldRemaining
 * + surplusRemaining), so it fills as new instances turn healthy and as the
 * rest goes, and is full only when both are done.
 */
import {
  type Deployment,
  type DeploymentKindName,
  deploymentKindCodec,
  type DeploymentProgress,
  type DeploymentStateName,
  deploymentStateCodec,
} from '@drover/proto';
import { type DetailRow, formatDetails } from './details.js';
import { formatTable } from './table.js';
import { ageSince, formatAge, formatMoment } from './time.js';

/** Characters between a progress bar's brackets. */
export const BAR_WIDTH = 20;

/** The step action Marathon names for each kind, for a deployment that lists no steps. */
const ACTIONS: Record<DeploymentKindName, string> = {
  CREATE: 'StartApplication',
  UPDATE: 'RestartApplication',
  RESTART: 'RestartApplication',
  ROLLBACK: 'RestartApplication',
  SCALE: 'ScaleApplication',
};

/** The kind's short name, "UNKNOWN" for one newer than this CLI. */
export function kindOf(d: Deployment): string {
  return deploymentKindCodec.name(d.kind) ?? 'UNKNOWN';
}

/** The state's short name, "UNKNOWN" for one newer than this CLI. */
export function stateOf(d: Deployment): string {
  return deploymentStateCodec.name(d.state) ?? 'UNKNOWN';
}

/** The short state name; undefined for UNSPECIFIED or a state this CLI does not know. */
export function deploymentStateName(d: Deployment): DeploymentStateName | undefined {
  return deploymentStateCodec.name(d.state);
}

/** True once the deployment succeeded, failed or was canceled. */
export function hasEnded(d: Deployment): boolean {
  const state = deploymentStateName(d);
  return state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELED';
}

/** "[#########...........]" for a fraction from 0 to 1; full only at 1. */
export function progressBar(fraction: number, width: number = BAR_WIDTH): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const done = Math.floor(clamped * width);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}]`;
}

/** How much of the change is done: new instances healthy over the new ones wanted plus what is left to go. */
export function progressFraction(p: DeploymentProgress | undefined): number {
  if (p === undefined) return 0;
  const total = p.targetInstances + p.oldRemaining + p.surplusRemaining;
  return total === 0 ? 1 : Math.min(p.newHealthy, p.targetInstances) / total;
}

/**
 * "4/6 new healthy, 2 old remaining" (", 1 surplus stopping" during a scale
 * down), for progress lines. The count shown never exceeds the target,
 * whatever a master says.
 */
export function progressText(p: DeploymentProgress | undefined): string {
  if (p === undefined) return 'no progress reported';
  const surplus = p.surplusRemaining > 0 ? `, ${p.surplusRemaining} surplus stopping` : '';
  return `${Math.min(p.newHealthy, p.targetInstances)}/${p.targetInstances} new healthy, ${p.oldRemaining} old remaining${surplus}`;
}

/** "4/6 healthy, 2 old" (", 1 surplus" during a scale down), for a table cell. */
export function progressCell(p: DeploymentProgress | undefined): string {
  if (p === undefined) return '-';
  const surplus = p.surplusRemaining > 0 ? `, ${p.surplusRemaining} surplus` : '';
  return `${Math.min(p.newHealthy, p.targetInstances)}/${p.targetInstances} healthy, ${p.oldRemaining} old${surplus}`;
}

/**
 * One line per step: "RestartApplication /web  [##########..........]  4/6
 * new healthy, 2 old remaining". Steps before the current one show as done,
 * steps after it as waiting.
 */
export function formatDeploymentProgress(d: Deployment): string[] {
  const kind = deploymentKindCodec.name(d.kind);
  const steps = d.steps.length > 0 ? d.steps : [{ action: kind ? ACTIONS[kind] : 'Deploy', appId: d.appId }];
  const current = Math.max(1, d.currentStep);
  const labels = steps.map((s) => `${s.action} ${s.appId}`);
  const width = Math.max(...labels.map((l) => l.length));
  return labels.map((label, i) => {
    const step = i + 1;
    const [bar, text] =
      step < current ? [progressBar(1), 'done'] : step > current ? [progressBar(0), 'waiting'] : [progressBar(progressFraction(d.progress)), progressText(d.progress)];
    return `${label.padEnd(width)}  ${bar}  ${text}`;
  });
}

/** "in 42s" from start to end, or "" when either time is unknown. */
export function durationOf(d: Deployment): string {
  if (d.startedAt === undefined || d.endedAt === undefined) return '';
  return ` in ${formatAge(d.endedAt.getTime() - d.startedAt.getTime())}`;
}

/** Options of the deployment table. */
export interface DeploymentTableOptions {
  /** Add the ENDED column (set with --all, where ended deployments appear). */
  withEnded: boolean;
  /** The time ages are measured at. */
  now: Date;
}

/** The deployment list as a table. */
export function formatDeploymentTable(deployments: readonly Deployment[], options: DeploymentTableOptions): string {
  const header = ['id', 'app', 'kind', 'state', 'progress', 'age'];
  if (options.withEnded) header.push('ended');
  header.push('message');
  return formatTable(
    header,
    deployments.map((d) => {
      const row = [d.id, d.appId || '-', kindOf(d), stateOf(d), progressCell(d.progress), ageSince(d.startedAt, options.now)];
      if (options.withEnded) row.push(ageSince(d.endedAt, options.now));
      row.push(d.message || '-');
      return row;
    }),
  );
}

/** One deployment in detail. */
export function formatDeploymentDetails(d: Deployment, now: Date): string {
  const running = !hasEnded(d);
  const rows: DetailRow[] = [
    ['ID', d.id],
    ['App', d.appId || '-'],
    ['Kind', kindOf(d)],
    ['State', stateOf(d)],
    ['Version', `${d.version || '-'}${d.fromVersion === '' ? ' (new app)' : d.fromVersion === d.version ? '' : ` (from ${d.fromVersion})`}`],
    ['Progress', formatDeploymentProgress(d).join('\n')],
    ['Strategy', `at least ${d.minHealthy} healthy, at most ${d.maxLive} live${d.progress ? `; ${d.progress.healthyTotal} healthy now` : ''}`],
    ['Started', formatMoment(d.startedAt, now)],
    ['Last progress', formatMoment(d.lastProgressAt, now)],
    ['Deadline', running ? deadlineOf(d, now) : undefined],
    ['Ended', formatMoment(d.endedAt, now)],
    ['Message', d.message || undefined],
    ['Rollback', d.rollbackId ? `${d.rollbackId} (drover deployment get ${d.rollbackId})` : undefined],
    ['Rolls back', d.rollsBack || undefined],
  ];
  return formatDetails(rows);
}

/** "fails and rolls back at <time> (in 9m) without progress (300s deadline)". */
function deadlineOf(d: Deployment, now: Date): string | undefined {
  if (d.lastProgressAt === undefined || d.progressDeadlineSeconds <= 0) return undefined;
  const at = new Date(d.lastProgressAt.getTime() + d.progressDeadlineSeconds * 1000);
  return `fails at ${formatMoment(at, now)} without progress (${d.progressDeadlineSeconds}s deadline)`;
}
