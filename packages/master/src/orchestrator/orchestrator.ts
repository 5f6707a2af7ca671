/**
 * Keeps every app at its desired number of tasks, and places one-off tasks.
 *
 * Reconciling is level-based, not edge-based: each pass compares what the
 * apps want with the live tasks and acts on the difference, so a missed
 * event, a duplicate status or a master restart cannot leave an app short or
 * over. A pass runs soon after any state change and on a timer (every
 * second, over every app), which is what eventually places instances that
 * were waiting for capacity or for a launch delay.
 *
 * To stay cheap under load (thousands of status updates a second), a pass
 * triggered by changes looks only at the apps whose tasks or spec changed
 * plus the apps already waiting, and passes are spaced (PASS_SPACING) so
 * that reconciling takes at most about a fifth of the event loop however
 * fast updates arrive.
 *
 * Per app and pass, live tasks that count are split in two:
 *   keepers  = current version, on an agent that is not draining;
 *   retirees = an older version, or on a draining agent.
 * Then, within the app's upgrade strategy (minHealthy = ceil(N x
 * minimumHealthCapacity) healthy at all times, maxLive = N + floor(N x
 * maximumOverCapacity) live at most, counting tasks still shutting down):
 *   - keepers beyond `instances` are killed, youngest first;
 *   - tasks whose health checks failed are killed, a bounded number at a
 *     time (see healthKillsAllowed);
 *   - retirees that are not healthy are killed; healthy ones (and ones
 *     without checks that run but not long enough to count yet) only while
 *     more than minHealthy instances are healthy;
 *   - missing keepers are started while there is room under maxLive,
 *     unless the app's launch backoff (see launch-backoff.ts) still runs.
 * Deployments (see deployment-manager.ts) watch the outcome: success,
 * progress, and the deadline that rolls a stuck change back.
 * Also: PENDING one-off tasks are placed; live tasks of deleted apps (not
 * adopted ones, see tasks/adopted-task.ts) and everything still on an agent
 * past its drain deadline are killed.
 */
import { constraintsOf, type Logger, scalars, timerDelay } from '@drover/common';
import { placementStrategyCodec } from '@drover/proto';
import { type AgentIdentity, type AgentSnapshot, type Explanation, type PlacementRequest, schedule } from '@drover/scheduler';
import type { AgentSessions } from '../agents/agent-sessions.js';
import type { Clock } from '../clock.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AppRecord, TaskRecord } from '../state/records.js';
import { taskToProto } from '../convert/to-proto.js';
import type { DeploymentManager } from '../deployments/deployment-manager.js';
import { strategyLimits } from '../deployments/strategy.js';
import type { EventBus } from '../events/event-bus.js';
import type { Mutation } from '../store/store.js';
import { DEFAULT_MIN_RUNNING_MS, healthyInMs, isHealthy } from '../tasks/task-health.js';
import type { TaskKiller } from '../tasks/task-killer.js';
import type { LaunchBackoff } from './launch-backoff.js';
import type { PlacementSource, PlanApplier } from './plan-applier.js';
import { hostPortNeeds, requiredCapabilities } from './host-ports.js';
import { freeOf } from './reservations.js';

/** Instances (or a one-off task) waiting, and why; shown to operators. */
export interface Waiting {
  /** How many instances wait. */
  readonly instances: number;
  /** Why. */
  readonly explanation: Explanation;
}

/**
 * How much of the event loop reconciling may take under load: after a pass,
 * the next waits as long as the pass took, plus (PASS_SPACING - 1) times the
 * time the pass computed (its synchronous work: visiting apps, scheduling).
 * Under a stream of status updates passes would otherwise run back to back,
 * each re-reading every live task of every busy app, and starve the gRPC and
 * store work that turns placements into RUNNING tasks (the cluster benchmark
 * went from 1,100-1,400 to about 2,300 tasks/s with 5). Waiting on the store
 * is not counted, so an idle cluster's passes follow each other at once and
 * a single launch waits for nothing.
 */
const PASS_SPACING = 5;

/** The longest gap after a pass, however long it took: changes wait at most this long. */
const MAX_PASS_GAP_MS = 1000;

/** Drives actual state toward desired state. */
export class Orchestrator {
  private scheduled = false;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private wakeUp: NodeJS.Timeout | undefined;
  private seed = 1;
  /** App id or one-off task id -> why it waits. */
  private waiting = new Map<string, Waiting>();
  /** Apps to look at in the next pass; `everything` means all of them. */
  private dirty = new Set<string>();
  private everything = true;
  private lastPassEnd = 0;
  private passWaiters: Array<() => void> = [];
  private lastPassMs = 0;
  /** The synchronous (computing) part of the last pass, ms. */
  private lastPassCpuMs = 0;
  /** Accumulates the computing time of the pass in flight. */
  private passCpuMs = 0;

  constructor(
    private readonly state: ClusterState,
    private readonly sessions: AgentSessions,
    private readonly applier: PlanApplier,
    private readonly killer: TaskKiller,
    private readonly backoff: LaunchBackoff,
    private readonly deployments: DeploymentManager,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly tickMs = 1000,
    /** Fraction of an app's instances that may be replaced for failing health at once. */
    private readonly healthKillFraction = 0.25,
    /** How long a task without health checks must have run to count as healthy (see task-health.ts). */
    private readonly minRunningMs = DEFAULT_MIN_RUNNING_MS,
  ) {}

  /** Reconciles on every state change and on a timer. */
  start(): void {
    this.state.onMutation((m) => this.noteChange(m));
    this.state.onChange(() => this.trigger());
    this.timer = setInterval(() => {
      this.everything = true;
      this.trigger();
    }, this.tickMs);
    this.trigger();
  }

  /** Marks what a mutation may have changed for the next pass. */
  private noteChange(m: Mutation): void {
    switch (m.kind) {
      case 'putApp':
        this.dirty.add(m.app.spec.id);
        return;
      case 'deleteApp':
        this.dirty.add(m.id);
        return;
      case 'putTask':
        this.dirty.add(m.task.appId);
        return;
      case 'deleteTask':
        return;
      case 'putAgent':
        // Capacity, drains and connectivity changed: everyone may move.
        this.everything = true;
        return;
    }
  }

  /** Stops the timer; a pass in flight completes. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.wakeUp);
    this.timer = undefined;
    await this.running;
  }

  /**
   * Resolves after a pass that starts from now has finished (at most
   * `timeoutMs` later), so an API can answer with where a new task went or
   * why it waits.
   */
  nextPass(timeoutMs = 2000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      this.passWaiters.push(done);
      this.trigger();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** Why an app's instances (or a PENDING one-off task, by task id) wait, if they do. */
  waitingOf(id: string): Waiting | undefined {
    return this.waiting.get(id);
  }

  /** Every app with waiting instances. */
  allWaiting(): ReadonlyMap<string, Waiting> {
    return this.waiting;
  }

  /** Asks for a pass soon (coalesced, and spaced by a multiple of the previous pass's duration). */
  trigger(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const gap = Math.min(this.lastPassMs + (PASS_SPACING - 1) * this.lastPassCpuMs, MAX_PASS_GAP_MS);
    const wait = this.lastPassEnd + gap - Date.now();
    const run = () => {
      this.scheduled = false;
      if (this.timer === undefined) return;
      if (this.running) {
        this.again = true;
        return;
      }
      const started = Date.now();
      const waiters = this.passWaiters;
      this.passWaiters = [];
      this.running = this.reconcile()
        .catch((error) => this.log.error({ err: error }, 'reconcile pass failed'))
        .finally(() => {
          this.running = undefined;
          this.lastPassEnd = Date.now();
          this.lastPassMs = Math.min(this.lastPassEnd - started, 1000);
          this.lastPassCpuMs = Math.min(this.passCpuMs, 1000);
          for (const w of waiters) w();
          if (this.again) {
            this.again = false;
            this.trigger();
          }
        });
    };
    if (wait > 0) setTimeout(run, wait);
    else setImmediate(run);
  }

  /** One pass (exposed for tests). */
  async reconcile(): Promise<void> {
    // Date.now, as the pass timing in trigger(): tests fake it.
    const computing = Date.now();
    const now = this.clock.now();
    const kills: Array<{ task: TaskRecord; why: string }> = [];
    const requests: PlacementRequest[] = [];
    const sources = new Map<string, PlacementSource>();
    const waiting = new Map<string, Waiting>();
    const draining = new Set(this.state.allAgents().filter((a) => a.drainDeadline !== undefined).map((a) => a.id));
    let nextWakeUp = Infinity;

    const deploymentWrites: Mutation[] = [];
    const healthKills: TaskRecord[] = [];
    for (const app of this.appsToVisit()) {
      const id = app.spec.id;
      const wanted = app.spec.instances ?? 0;
      const tasks = this.state.liveTasksOfApp(id);
      const evaluated = this.deployments.evaluate(app, tasks, now);
      deploymentWrites.push(...evaluated.mutations);
      if (evaluated.wakeInMs !== undefined) nextWakeUp = Math.min(nextWakeUp, evaluated.wakeInMs);
      const limits = this.state.runningDeployment(id) ?? strategyLimits(app.spec);
      const live = tasks.filter((t) => !t.killRequested);
      const keepers = live.filter((t) => t.appVersion === app.version && !draining.has(t.agentId));
      const retirees = live.filter((t) => t.appVersion !== app.version || draining.has(t.agentId));
      this.backoff.resetIfRecovered(app, tasks, now);
      const killing = new Set<string>();

      if (keepers.length > wanted) {
        for (const task of youngestFirst(keepers).slice(0, keepers.length - wanted)) {
          kills.push({ task, why: `scaled down to ${wanted} ${wanted === 1 ? 'instance' : 'instances'}` });
          killing.add(task.id);
        }
      }
      for (const task of this.healthKillsAllowed(live, tasks, wanted)) {
        if (killing.has(task.id)) continue;
        healthKills.push(task);
        killing.add(task.id);
      }
      // Old versions and tasks on draining agents go as new ones get healthy:
      // never fewer than minHealthy healthy instances. A retiree without
      // checks that has not run for the min running time yet may well be
      // serving: it is spared like a healthy one, though it does not count
      // as healthy capacity (only proven replacements do).
      let canKill = tasks.filter((t) => isHealthy(t, now, this.minRunningMs) && !killing.has(t.id)).length - limits.minHealthy;
      for (const task of retirementOrder(retirees)) {
        if (killing.has(task.id)) continue;
        const spared = healthyInMs(task, now, this.minRunningMs) !== undefined;
        if (spared && canKill <= 0) continue;
        if (spared) canKill--;
        kills.push({ task, why: draining.has(task.agentId) ? 'moved off a draining agent' : `replaced by version ${app.version}` });
        killing.add(task.id);
      }
      // New ones start within maxLive, counting tasks still shutting down.
      const missing = Math.max(0, wanted - keepers.filter((t) => !killing.has(t.id)).length);
      const room = Math.max(0, limits.maxLive - tasks.length);
      const toStart = Math.min(missing, room);
      if (toStart > 0) {
        const delay = this.backoff.delayLeft(app, now);
        if (delay > 0) {
          waiting.set(id, { instances: missing, explanation: delayed(app, this.backoff.view(app, now).delayMs, delay) });
          nextWakeUp = Math.min(nextWakeUp, delay);
        } else {
          requests.push(appRequest(app, toStart));
          sources.set(id, { kind: 'app', app });
        }
      }
    }

    for (const task of this.state.pendingTasks()) {
      if (task.killRequested) continue;
      requests.push(oneOffRequest(task));
      sources.set(task.id, { kind: 'one-off', task });
    }
    for (const appId of [...this.state.appsWithLiveTasks()]) {
      if (appId === '' || this.state.app(appId)) continue;
      for (const task of this.state.liveTasksOfApp(appId)) {
        // An adopted task's app is unknown because the master's state was
        // lost, not because someone deleted it: an operator decides.
        if (!task.killRequested && !task.adopted) kills.push({ task, why: `app ${appId} was deleted` });
      }
    }
    for (const agent of this.state.allAgents()) {
      if (agent.drainDeadline === undefined) continue;
      if (agent.drainDeadline > now) {
        nextWakeUp = Math.min(nextWakeUp, agent.drainDeadline - now);
        continue;
      }
      for (const task of this.state.liveTasksOnAgent(agent.id)) {
        if (!task.killRequested) kills.push({ task, why: `agent ${agent.hostname} drained (deadline passed)` });
      }
    }

    // Launch delays and drain deadlines end between ticks: wake up right then.
    // They come from users (backoffSeconds, a drain timeout): clamped, or a
    // delay past 24.8 days would fire after 1 ms, every pass.
    clearTimeout(this.wakeUp);
    if (nextWakeUp < Infinity && this.timer !== undefined) this.wakeUp = setTimeout(() => this.trigger(), timerDelay(nextWakeUp));
    this.passCpuMs = Date.now() - computing;
    if (deploymentWrites.length > 0) await this.state.write(deploymentWrites);
    await this.killAll(kills);
    await this.killUnhealthy(healthKills);
    if (requests.length > 0) {
      const agents = this.snapshotAgents(draining);
      const scheduling = Date.now();
      const plan = schedule({ agents, placed: this.state.ledger.placed(), elsewhere: this.elsewhere(agents) }, requests, { seed: this.seed++ });
      this.passCpuMs += Date.now() - scheduling;
      for (const u of plan.unplaced) waiting.set(u.key, { instances: u.count, explanation: u.explanation });
      if (plan.unplaced.length > 0) {
        this.log.debug({ unplaced: plan.unplaced.length, why: plan.unplaced[0]?.explanation.summary }, 'instances waiting');
      }
      this.waiting = waiting;
      await this.applier.apply(plan.placements, sources);
    } else {
      this.waiting = waiting;
    }
  }

  /**
   * Tasks whose health checks failed that may be killed now. At most
   * ceil(healthKillFraction x instances) replacements are in flight per app
   * (tasks being killed for health, and new tasks not healthy yet), so a
   * broken dependency that fails every check cannot make Drover kill the
   * whole app at once.
   */
  private healthKillsAllowed(live: readonly TaskRecord[], all: readonly TaskRecord[], wanted: number): TaskRecord[] {
    const failed = live.filter((t) => t.healthFailed);
    if (failed.length === 0) return [];
    const budget = Math.max(1, Math.ceil(wanted * this.healthKillFraction));
    const inFlight = all.filter((t) => (t.killRequested && t.healthKill) || (!t.killRequested && t.health !== undefined && !t.everHealthy && !t.healthFailed)).length;
    return [...failed].sort((a, b) => a.updatedAt - b.updatedAt).slice(0, Math.max(0, budget - inFlight));
  }

  private async killUnhealthy(tasks: readonly TaskRecord[]): Promise<void> {
    for (const task of tasks) {
      const why = `health checks failed ${task.healthFailures ?? 0} times in a row: ${task.healthMessage ?? 'no output'}`;
      const [killed] = await this.killer.kill([task], why, { healthKill: true });
      if (killed) this.events.publish('unhealthy_task_kill_event', { $case: 'unhealthyTaskKill', value: { task: taskToProto(killed), reason: task.healthMessage ?? '' } });
    }
  }

  /** Every app on a full pass; otherwise the changed ones and those already waiting. */
  private appsToVisit(): AppRecord[] {
    if (this.everything) {
      this.everything = false;
      this.dirty.clear();
      return this.state.allApps();
    }
    const ids = new Set([...this.dirty, ...this.waiting.keys()]);
    this.dirty.clear();
    const apps: AppRecord[] = [];
    for (const id of ids) {
      const app = this.state.app(id);
      if (app) apps.push(app);
    }
    return apps;
  }

  private async killAll(kills: ReadonlyArray<{ task: TaskRecord; why: string }>): Promise<void> {
    const byWhy = new Map<string, TaskRecord[]>();
    for (const { task, why } of kills) byWhy.set(why, [...(byWhy.get(why) ?? []), task]);
    for (const [why, tasks] of byWhy) await this.killer.kill(tasks, why);
  }

  /** Identity of agents that are not schedulable but still hold live tasks (their tasks count for constraints). */
  private elsewhere(schedulable: readonly AgentSnapshot[]): Map<string, AgentIdentity> {
    const seen = new Set(schedulable.map((a) => a.id));
    const out = new Map<string, AgentIdentity>();
    for (const agent of this.state.allAgents()) {
      if (!seen.has(agent.id) && this.state.ledger.reservation(agent.id).liveTasks > 0) {
        out.set(agent.id, { hostname: agent.hostname, attributes: agent.attributes });
      }
    }
    return out;
  }

  private snapshotAgents(draining: ReadonlySet<string>): AgentSnapshot[] {
    return this.state
      .allAgents()
      .filter((a) => a.state === 'ACTIVE' && this.sessions.connected(a.id))
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((agent) => {
        const { free, freePorts } = freeOf(agent, this.state.ledger.reservation(agent.id), this.sessions.portsInUse(agent.id));
        return {
          id: agent.id,
          hostname: agent.hostname,
          attributes: agent.attributes,
          total: agent.total,
          free,
          freePorts,
          draining: draining.has(agent.id),
          capabilities: agent.capabilities ?? [],
        };
      });
  }
}

/** A request for `count` new instances of an app; keyed by app id. */
function appRequest(app: AppRecord, count: number): PlacementRequest {
  const spec = app.spec;
  return {
    key: spec.id,
    appId: spec.id,
    count,
    resources: scalars({ cpus: spec.cpus, mem: spec.mem, disk: spec.disk, gpus: spec.gpus }),
    ports: hostPortNeeds(spec).map((p) => ({ port: p.port })),
    constraints: constraintsOf(spec.constraints),
    strategy: placementStrategyCodec.name(spec.placementStrategy) === 'SPREAD' ? 'spread' : 'binpack',
    requiredCapabilities: requiredCapabilities(spec),
  };
}

/** A request for a PENDING one-off task; keyed (and grouped) by its own id. */
function oneOffRequest(task: TaskRecord): PlacementRequest {
  const spec = task.runSpec;
  return {
    key: task.id,
    appId: task.id,
    count: 1,
    resources: task.resources,
    ports: spec ? hostPortNeeds(spec).map((p) => ({ port: p.port })) : [],
    constraints: constraintsOf(spec?.constraints ?? []),
    strategy: 'binpack',
    requiredCapabilities: spec ? requiredCapabilities(spec) : [],
  };
}

function delayed(app: AppRecord, delayMs: number, leftMs: number): Explanation {
  const failure = app.lastTaskFailure;
  const cause = failure ? `: last task ${failure.state.toLowerCase()} (${failure.message || 'no message'})` : '';
  return {
    agentsConsidered: 0,
    rejections: [],
    summary: `launch delayed ${(leftMs / 1000).toFixed(1)} s of ${(delayMs / 1000).toFixed(2)} s after repeated failures${cause}`,
  };
}

function youngestFirst(tasks: readonly TaskRecord[]): TaskRecord[] {
  return [...tasks].sort((a, b) => b.stagedAt - a.stagedAt || b.id.localeCompare(a.id));
}

/** Retire what is not serving first (not RUNNING), then the youngest. */
function retirementOrder(tasks: readonly TaskRecord[]): TaskRecord[] {
  return [...tasks].sort((a, b) => Number(a.state === 'RUNNING') - Number(b.state === 'RUNNING') || b.stagedAt - a.stagedAt);
}
