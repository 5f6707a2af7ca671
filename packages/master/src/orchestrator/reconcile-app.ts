/**
 * What one app needs next, decided from its facts alone (Nomad's
 * reconciler): no state reads, no clock, no I/O. The orchestrator gathers
 * the facts, calls this for every app it looks at, and carries out the
 * result (orchestrator.ts). Tests give it facts and assert the exact result
 * (reconcile-app.test.ts).
 *
 * An UNREACHABLE task (its agent went silent) counts like any other until
 * its app's unreachableStrategy.inactiveAfterSeconds have passed; then it
 * is left out of every count below (it is inactive), so it is replaced,
 * and the app is looked at again when the next one turns inactive
 * (tasks/unreachable-tasks.ts). If its agent comes back, the task counts
 * again, and the app may then have a copy too many: it goes as any surplus.
 *
 * Live tasks that count (no kill requested yet) are split in two:
 *   keepers  = current version, on an agent that is not draining;
 *   retirees = an older version, or on a draining agent.
 * Then, within the upgrade strategy (the running deployment's limits, else
 * the spec's: minHealthy = ceil(N x minimumHealthCapacity) healthy at all
 * times, maxLive = N + floor(N x maximumOverCapacity) live at most, counting
 * tasks still shutting down):
 *   - keepers beyond `instances` are killed in the app's killSelection
 *     order (youngest first unless OLDEST_FIRST): a scale-down, or copies
 *     too many after a healed partition;
 *   - tasks whose health checks failed are killed, a bounded number at a
 *     time (healthKillFraction of the instances in flight, at least one), so
 *     a broken dependency that fails every check cannot take the whole app;
 *   - retirees that are not healthy are killed; healthy ones (and ones
 *     without checks that run but not long enough to count yet, which may
 *     well be serving) only while more than minHealthy are healthy;
 *   - missing keepers are started while there is room under maxLive, unless
 *     the app's launch backoff still runs: then they wait, and say why.
 * The running deployment's next step (deployment-steps.ts) is decided on
 * the same facts.
 */
import { type KillSelection, killSelectionCodec } from '@drover/proto';
import type { Explanation } from '@drover/scheduler';
import type { AppRecord, DeploymentRecord, TaskRecord, VersionRecord } from '../model/records.js';
import type { Waiting } from '../model/waiting.js';
import { type DeploymentStep, evaluateDeployment } from '../deployments/deployment-steps.js';
import { strategyLimits } from '../deployments/strategy.js';
import { healthyInMs, isHealthy } from '../tasks/task-health.js';
import { inactiveInMs, unreachablePolicy } from '../tasks/unreachable-tasks.js';

/** The launch backoff of the app as it stands (see tasks/launch-backoff.ts). */
export interface BackoffFacts {
  /** Milliseconds until the app may launch again; 0: now. */
  readonly leftMs: number;
  /** The delay the last failure set, ms. */
  readonly delayMs: number;
}

/** Rules that hold for every app. */
export interface ReconcilePolicy {
  /** How long a task without health checks must have run to count as healthy (tasks/task-health.ts). */
  readonly minRunningMs: number;
  /** Fraction of an app's instances that may be replaced for failing health at once. */
  readonly healthKillFraction: number;
}

/** Everything reconcileApp looks at. */
export interface AppFacts {
  readonly app: AppRecord;
  /** The app's live tasks (ended ones are history), UNREACHABLE ones included. */
  readonly tasks: readonly TaskRecord[];
  /** Ids of the agents being drained. */
  readonly draining: ReadonlySet<string>;
  /** The app's running deployment, if any. */
  readonly deployment: DeploymentRecord | undefined;
  /** The stored version the running deployment came from, for its rollback. */
  readonly deploymentFrom: VersionRecord | undefined;
  readonly backoff: BackoffFacts;
  /** The time to decide at, ms since the epoch. */
  readonly now: number;
  /** Makes ids (of a rollback deployment). */
  readonly newId: () => string;
}

/** Why a task is to be killed. */
export type KillReason =
  | { readonly kind: 'scaled-down'; readonly instances: number }
  | { readonly kind: 'unhealthy' }
  | { readonly kind: 'replaced'; readonly version: string }
  | { readonly kind: 'drained' };

/** One kill decided. */
export interface Kill {
  readonly task: TaskRecord;
  readonly reason: KillReason;
}

/** What to do for one app. */
export interface AppReconcileResult {
  /** New instances to place now. */
  readonly launch: number;
  /** Tasks to kill, in the order decided. */
  readonly kill: readonly Kill[];
  /** Instances that wait for the launch backoff, and why; absent when none do. */
  readonly wait?: Waiting;
  /** Look at the app again in this many ms (backoff ends, deployment deadline or a task settling). */
  readonly wakeInMs?: number;
  /** The running deployment's next step. */
  readonly deployment: DeploymentStep;
}

/** Decides one app's launches, kills and waits. */
export function reconcileApp(f: AppFacts, policy: ReconcilePolicy): AppReconcileResult {
  const { app, draining, now } = f;
  const wanted = app.spec.instances ?? 0;
  const { tasks, nextInactiveInMs } = countedTasks(app, f.tasks, now);
  const deployment: DeploymentStep = f.deployment
    ? evaluateDeployment({ deployment: f.deployment, app, tasks, fromVersion: f.deploymentFrom, now, minRunningMs: policy.minRunningMs, newId: f.newId })
    : { kind: 'unchanged' };
  let wakeInMs = deployment.kind === 'unchanged' || deployment.kind === 'progressed' ? deployment.wakeInMs : undefined;
  if (nextInactiveInMs !== undefined) wakeInMs = Math.min(wakeInMs ?? Infinity, nextInactiveInMs);
  const limits = f.deployment ?? strategyLimits(app.spec);
  const live = tasks.filter((t) => !t.killRequested);
  const onDrainingAgent = (t: TaskRecord): boolean => draining.has(t.agentId);
  const keepers = live.filter((t) => t.appVersion === app.version && !onDrainingAgent(t));
  const retirees = live.filter((t) => t.appVersion !== app.version || onDrainingAgent(t));
  const kill: Kill[] = [];
  const killing = new Set<string>();
  const add = (task: TaskRecord, reason: KillReason): void => {
    kill.push({ task, reason });
    killing.add(task.id);
  };

  if (keepers.length > wanted) {
    for (const task of killOrder(keepers, app.spec.killSelection).slice(0, keepers.length - wanted)) add(task, { kind: 'scaled-down', instances: wanted });
  }
  for (const task of healthKillsAllowed(live, tasks, wanted, policy.healthKillFraction)) {
    if (!killing.has(task.id)) add(task, { kind: 'unhealthy' });
  }
  // Old versions and tasks on draining agents go as new ones get healthy:
  // never fewer than minHealthy healthy instances. A retiree without checks
  // that has not run for the min running time yet may well be serving: it
  // is spared like a healthy one, though it does not count as healthy
  // capacity (only proven replacements do).
  let canKill = tasks.filter((t) => isHealthy(t, now, policy.minRunningMs) && !killing.has(t.id)).length - limits.minHealthy;
  for (const task of retirementOrder(retirees)) {
    if (killing.has(task.id)) continue;
    const spared = healthyInMs(task, now, policy.minRunningMs) !== undefined;
    if (spared && canKill <= 0) continue;
    if (spared) canKill--;
    add(task, onDrainingAgent(task) ? { kind: 'drained' } : { kind: 'replaced', version: app.version });
  }
  // New ones start within maxLive, counting tasks still shutting down.
  const missing = Math.max(0, wanted - keepers.filter((t) => !killing.has(t.id)).length);
  const room = Math.max(0, limits.maxLive - tasks.length);
  const toStart = Math.min(missing, room);
  if (toStart > 0 && f.backoff.leftMs > 0) {
    wakeInMs = Math.min(wakeInMs ?? Infinity, f.backoff.leftMs);
    return { launch: 0, kill, wait: { instances: missing, explanation: delayed(app, f.backoff) }, wakeInMs, deployment };
  }
  return { launch: toStart, kill, ...(wakeInMs !== undefined ? { wakeInMs } : {}), deployment };
}

/** The message a kill is recorded with (and the agent is told). */
export function killMessage(kill: Kill): string {
  const r = kill.reason;
  switch (r.kind) {
    case 'scaled-down':
      return `scaled down to ${r.instances} ${r.instances === 1 ? 'instance' : 'instances'}`;
    case 'unhealthy':
      return `health checks failed ${kill.task.healthFailures ?? 0} times in a row: ${kill.task.healthMessage ?? 'no output'}`;
    case 'replaced':
      return `replaced by version ${r.version}`;
    case 'drained':
      return 'moved off a draining agent';
  }
}

/**
 * Tasks whose health checks failed that may be killed now. At most
 * ceil(fraction x instances) replacements are in flight per app. A
 * replacement in flight shows as a task being killed for health, or as a
 * new task with checks that has not been healthy yet, or both at once (the
 * kill is still going on while the new task starts): so the larger of the
 * two counts, not their sum, which would count such a replacement twice.
 */
function healthKillsAllowed(live: readonly TaskRecord[], all: readonly TaskRecord[], wanted: number, fraction: number): TaskRecord[] {
  const failed = live.filter((t) => t.healthFailed);
  if (failed.length === 0) return [];
  const budget = Math.max(1, Math.ceil(wanted * fraction));
  const killing = all.filter((t) => t.killRequested && t.healthKill).length;
  const starting = all.filter((t) => !t.killRequested && t.health !== undefined && !t.everHealthy && !t.healthFailed).length;
  const inFlight = Math.max(killing, starting);
  return [...failed].sort((a, b) => a.updatedAt - b.updatedAt).slice(0, Math.max(0, budget - inFlight));
}

function delayed(app: AppRecord, backoff: BackoffFacts): Explanation {
  const failure = app.lastTaskFailure;
  const cause = failure ? `: last task ${failure.state.toLowerCase()} (${failure.message || 'no message'})` : '';
  return {
    agentsConsidered: 0,
    rejections: [],
    summary: `launch delayed ${(backoff.leftMs / 1000).toFixed(1)} s of ${(backoff.delayMs / 1000).toFixed(2)} s after repeated failures${cause}`,
  };
}

/** The tasks that count (inactive UNREACHABLE ones left out), and when the next UNREACHABLE one turns inactive. */
function countedTasks(app: AppRecord, all: readonly TaskRecord[], now: number): { tasks: readonly TaskRecord[]; nextInactiveInMs?: number } {
  if (!all.some((t) => t.state === 'UNREACHABLE')) return { tasks: all };
  const policy = unreachablePolicy(app.spec);
  let next: number | undefined;
  const tasks = all.filter((t) => {
    const ms = inactiveInMs(t, policy, now);
    if (ms === undefined) return true;
    if (ms > 0) next = Math.min(next ?? Infinity, ms);
    return ms > 0;
  });
  return next === undefined ? { tasks } : { tasks, nextInactiveInMs: next };
}

/** Which surplus tasks go first: the youngest (Marathon's default) or, with OLDEST_FIRST, the oldest. */
function killOrder(tasks: readonly TaskRecord[], selection: KillSelection | undefined): TaskRecord[] {
  const youngestFirst = [...tasks].sort((a, b) => b.stagedAt - a.stagedAt || b.id.localeCompare(a.id));
  return selection !== undefined && killSelectionCodec.name(selection) === 'OLDEST_FIRST' ? youngestFirst.reverse() : youngestFirst;
}

/** Retire what is not serving first (not RUNNING), then the youngest. */
function retirementOrder(tasks: readonly TaskRecord[]): TaskRecord[] {
  return [...tasks].sort((a, b) => Number(a.state === 'RUNNING') - Number(b.state === 'RUNNING') || b.stagedAt - a.stagedAt);
}
