/**
 * Keeps every app at its desired number of tasks, and places one-off tasks:
 * the loop around the pure decisions. Each pass
 *
 *   observes  the apps to look at, their live tasks, draining agents,
 *             running deployments and launch backoffs (the state as it is),
 *   decides   per app with reconcileApp (reconcile-app.ts) and for what no
 *             app asks with reconcileLeftovers, then places what is to be
 *             launched with the pure scheduler,
 *   acts      writes the deployments' steps and announces them, kills, and
 *             hands the plan to the plan applier, which re-checks it against
 *             the live state before anything is launched.
 *
 * Reconciling is level-based, not edge-based: each pass compares what the
 * apps want with the live tasks and acts on the difference, so a missed
 * event, a duplicate status or a master restart cannot leave an app short or
 * over. A pass runs soon after any state change and on a timer (every
 * second, over every app), which is what eventually places instances that
 * were waiting for capacity or for a launch delay.
 *
 * To stay cheap under load (thousands of status updates a second), a pass
 * triggered by changes looks only at the apps marked dirty (their tasks
 * changed, or whoever changed the app said so: appChanged) plus the apps
 * already waiting, and passes are spaced (PASS_SPACING) so that reconciling
 * takes at most about a fifth of the event loop however fast updates
 * arrive. The one clock is the injected one: decisions and pacing read it.
 */
import { constraintsOf, type Logger, newId, scalars, timerDelay } from '@drover/common';
import { placementStrategyCodec } from '@drover/proto';
import { type AgentIdentity, type AgentSnapshot, type PlacementRequest, schedule } from '@drover/scheduler';
import type { DeploymentManager } from '../deployments/deployment-manager.js';
import { type DeploymentStep, mutationsOf } from '../deployments/deployment-steps.js';
import type { Clock } from '../model/clock.js';
import type { Mutation } from '../model/mutation.js';
import type { AppRecord, TaskRecord } from '../model/records.js';
import type { Waiting } from '../model/waiting.js';
import type { AgentSessions } from '../sessions/agent-sessions.js';
import type { ClusterState } from '../state/cluster-state.js';
import { freeOf } from '../state/reservations.js';
import type { LaunchBackoff } from '../tasks/launch-backoff.js';
import { DEFAULT_MIN_RUNNING_MS } from '../tasks/task-health.js';
import type { TaskKiller } from '../tasks/task-killer.js';
import { hostPortNeeds, requiredCapabilities } from './host-ports.js';
import type { PlacementSource, PlanApplier } from './plan-applier.js';
import { type Kill, killMessage, type ReconcilePolicy, reconcileApp } from './reconcile-app.js';
import { reconcileLeftovers } from './reconcile-leftovers.js';


/** The orchestrator's collaborators. */
export interface OrchestratorDeps {
  readonly state: ClusterState;
  /** Which agents are connected, and the ports in use on their machines. */
  readonly sessions: AgentSessions;
  readonly applier: PlanApplier;
  readonly killer: TaskKiller;
  readonly backoff: LaunchBackoff;
  /** Announces the deployments' steps once written. */
  readonly deployments: DeploymentManager;
  readonly clock: Clock;
  readonly log: Logger;
}

/** The orchestrator's knobs. */
export interface OrchestratorOptions {
  /** How often every app is looked at without a trigger; default 1000 ms. */
  readonly tickMs?: number;
  /** Fraction of an app's instances that may be replaced for failing health at once; default 0.25. */
  readonly healthKillFraction?: number;
  /** How long a task without health checks must have run to count as healthy (see task-health.ts). */
  readonly minRunningMs?: number;
}

/**
 * How much of the event loop reconciling may take under load: after a pass,
 * the next waits PASS_SPACING times the time the pass computed (its
 * synchronous work: visiting apps, scheduling), so reconciling takes at
 * most about a fifth of the event loop. Under a stream of status updates
 * passes would otherwise run back to back, each re-reading every live task
 * of every busy app, and starve the gRPC work that turns placements into
 * RUNNING tasks (the cluster benchmark went from 1,100-1,400 to about 2,300
 * tasks/s with 5). Waiting on the store is not counted (it runs on its own
 * thread and takes nothing from the event loop), so an idle cluster's passes
 * follow each other at once and a single launch waits for nothing.
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
  /** When apps asked to be looked at again (a deployment's deadline, a task about to count), ms since the epoch. */
  private readonly due = new Map<string, number>();
  private everything = true;
  private lastPassEnd = 0;
  private passWaiters: Array<() => void> = [];
  /** The synchronous (computing) part of the last pass, ms. */
  private lastPassCpuMs = 0;
  /** Accumulates the computing time of the pass in flight. */
  private passCpuMs = 0;
  private readonly state: ClusterState;
  private readonly clock: Clock;
  private readonly tickMs: number;
  private readonly policy: ReconcilePolicy;

  constructor(
    private readonly deps: OrchestratorDeps,
    options: OrchestratorOptions = {},
  ) {
    this.state = deps.state;
    this.clock = deps.clock;
    this.tickMs = options.tickMs ?? 1000;
    this.policy = { healthKillFraction: options.healthKillFraction ?? 0.25, minRunningMs: options.minRunningMs ?? DEFAULT_MIN_RUNNING_MS };
  }

  /** Reconciles on every state change and on a timer. */
  start(): void {
    // A task changing is what the apps are reconciled against; an agent
    // changing (capacity, drains, connectivity) may move every app. Apps
    // themselves are handed over explicitly: appChanged.
    this.state.onTaskChange((before, after) => {
      const task = after ?? before;
      if (task) this.dirty.add(task.appId);
    });
    this.state.onAgentChange(() => {
      this.everything = true;
    });
    this.state.onChange(() => this.trigger());
    this.timer = setInterval(() => {
      this.everything = true;
      this.trigger();
    }, this.tickMs);
    this.trigger();
  }

  /**
   * Hands over an app whose spec or deployment changed (created, updated,
   * scaled, rolled back, deleted, a deployment canceled): it is looked at in
   * the next pass, which starts soon.
   */
  appChanged(appId: string): void {
    this.dirty.add(appId);
    this.trigger();
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

  /** Asks for a pass soon (coalesced, and spaced by a multiple of the previous pass's computing time). */
  trigger(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const gap = Math.min(PASS_SPACING * this.lastPassCpuMs, MAX_PASS_GAP_MS);
    const wait = this.lastPassEnd + gap - this.clock.now();
    const run = () => {
      this.scheduled = false;
      if (this.timer === undefined) return;
      if (this.running) {
        this.again = true;
        return;
      }
      const waiters = this.passWaiters;
      this.passWaiters = [];
      this.running = this.reconcile()
        .catch((error) => this.deps.log.error({ err: error }, 'reconcile pass failed'))
        .finally(() => {
          this.running = undefined;
          this.lastPassEnd = this.clock.now();
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

  /** One pass: observe, decide, act (exposed for tests). */
  async reconcile(): Promise<void> {
    const computing = this.clock.now();
    const now = computing;
    const { state, backoff } = this.deps;
    const draining = new Set(state.allAgents().filter((a) => a.drainDeadline !== undefined).map((a) => a.id));
    const kills: Kill[] = [];
    const steps: DeploymentStep[] = [];
    const requests: PlacementRequest[] = [];
    const sources = new Map<string, PlacementSource>();
    const waiting = new Map<string, Waiting>();
    let nextWakeUp = Infinity;

    for (const app of this.appsToVisit()) {
      const id = app.spec.id;
      const tasks = state.liveTasksOfApp(id);
      // The backoff is kept in memory; a task that survived long enough clears it before the decision.
      backoff.resetIfRecovered(app, tasks, now);
      const deployment = state.runningDeployment(id);
      const result = reconcileApp(
        {
          app,
          tasks,
          draining,
          deployment,
          deploymentFrom: deployment ? state.version(id, deployment.fromVersion) : undefined,
          backoff: { leftMs: backoff.delayLeft(app, now), delayMs: backoff.view(app, now).delayMs },
          now,
          newId,
        },
        this.policy,
      );
      kills.push(...result.kill);
      if (result.deployment.kind !== 'unchanged') steps.push(result.deployment);
      if (result.wakeInMs !== undefined) this.due.set(id, now + result.wakeInMs);
      else this.due.delete(id);
      if (result.wait) waiting.set(id, result.wait);
      if (result.launch > 0) {
        requests.push(appRequest(app, result.launch));
        sources.set(id, { kind: 'app', app });
      }
    }
    for (const task of state.pendingTasks()) {
      if (task.killRequested) continue;
      requests.push(oneOffRequest(task));
      sources.set(task.id, { kind: 'one-off', task });
    }
    const ofDeletedApps = new Map<string, TaskRecord[]>();
    for (const appId of state.appsWithLiveTasks()) {
      if (appId !== '' && !state.app(appId)) ofDeletedApps.set(appId, state.liveTasksOfApp(appId));
    }
    const leftovers = reconcileLeftovers({
      ofDeletedApps,
      draining: state
        .allAgents()
        .filter((a) => a.drainDeadline !== undefined)
        .map((agent) => ({ agent, tasks: agent.drainDeadline !== undefined && agent.drainDeadline <= now ? state.liveTasksOnAgent(agent.id) : [] })),
      now,
    });
    if (leftovers.wakeInMs !== undefined) nextWakeUp = Math.min(nextWakeUp, leftovers.wakeInMs);

    // Launch delays, deployment deadlines, tasks about to count as healthy
    // and drain deadlines come between ticks: wake up right then, for the
    // apps that asked. They come from users (backoffSeconds, a drain
    // timeout): clamped, or a delay past 24.8 days would fire after 1 ms,
    // every pass.
    for (const at of this.due.values()) nextWakeUp = Math.min(nextWakeUp, at - now);
    clearTimeout(this.wakeUp);
    if (nextWakeUp < Infinity && this.timer !== undefined) this.wakeUp = setTimeout(() => this.wakeUpNow(), timerDelay(Math.max(0, nextWakeUp)));
    this.passCpuMs = this.clock.now() - computing;

    await this.act(steps, kills, leftovers.kill);
    if (requests.length > 0) {
      const agents = this.snapshotAgents(draining);
      const scheduling = this.clock.now();
      const plan = schedule({ agents, placed: state.ledger.placed(), elsewhere: this.elsewhere(agents) }, requests, { seed: this.seed++ });
      this.passCpuMs += this.clock.now() - scheduling;
      for (const u of plan.unplaced) waiting.set(u.key, { instances: u.count, explanation: u.explanation });
      if (plan.unplaced.length > 0) {
        this.deps.log.debug({ unplaced: plan.unplaced.length, why: plan.unplaced[0]?.explanation.summary }, 'instances waiting');
      }
      this.waiting = waiting;
      await this.deps.applier.apply(plan.placements, sources);
    } else {
      this.waiting = waiting;
    }
  }

  /** Writes and announces the deployments' steps, then kills: the apps' decisions first, those for health one by one, then the leftovers. */
  private async act(steps: readonly DeploymentStep[], kills: readonly Kill[], leftovers: ReadonlyArray<{ task: TaskRecord; why: string }>): Promise<void> {
    const writes: Mutation[] = steps.flatMap(mutationsOf);
    if (writes.length > 0) {
      await this.state.write(writes);
      for (const step of steps) {
        this.deps.deployments.announce(step);
        // A rollback changed the app: look at it again with its restored spec.
        if (step.kind === 'rolledBack') this.dirty.add(step.app.spec.id);
      }
    }
    const byWhy = new Map<string, TaskRecord[]>();
    const group = (task: TaskRecord, why: string): void => {
      const same = byWhy.get(why);
      if (same) same.push(task);
      else byWhy.set(why, [task]);
    };
    for (const kill of kills) if (kill.reason.kind !== 'unhealthy') group(kill.task, killMessage(kill));
    for (const kill of leftovers) group(kill.task, kill.why);
    for (const [why, tasks] of byWhy) await this.deps.killer.kill(tasks, why);
    for (const kill of kills) {
      if (kill.reason.kind === 'unhealthy') await this.deps.killer.kill([kill.task], killMessage(kill), { healthKill: true });
    }
  }

  /** Marks the apps whose time has come (the leftovers are looked at on every pass). */
  private wakeUpNow(): void {
    const now = this.clock.now();
    for (const [id, at] of this.due) {
      if (at > now) continue;
      this.dirty.add(id);
      this.due.delete(id);
    }
    this.trigger();
  }

  /** Every app on a full pass; otherwise the dirty ones and those already waiting. */
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
    const { sessions } = this.deps;
    return this.state
      .allAgents()
      .filter((a) => a.state === 'ACTIVE' && sessions.connected(a.id))
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((agent) => {
        const { free, freePorts } = freeOf(agent, this.state.ledger.reservation(agent.id), sessions.portsInUse(agent.id));
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
