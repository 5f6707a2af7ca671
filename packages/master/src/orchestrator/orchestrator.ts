/**
 * Keeps every app at its desired number of tasks.
 *
 * Reconciling is level-based, not edge-based: each pass compares what the
 * apps want with the live tasks and acts on the difference, so a missed
 * event, a duplicate status or a master restart cannot leave an app short or
 * over. A pass runs soon after any state change (coalesced to one per turn
 * of the event loop) and on a timer, which is what eventually places
 * instances that were waiting for capacity or for a restart delay.
 *
 * Per app and pass:
 *   - current-version tasks beyond `instances` are killed, youngest first;
 *   - missing current-version tasks are requested from the scheduler, unless
 *     the app's restart delay after a failure has not passed yet;
 *   - old-version tasks (after a spec change) are killed as current-version
 *     tasks reach RUNNING, so the app never drops below `instances` running
 *     (Marathon's default upgrade: minimumHealthCapacity 1, overCapacity 1);
 *   - live tasks of deleted apps are killed.
 */
import { isLive, type Logger, newTaskId, scalars } from '@drover/common';
import { type Explanation, type PlacementRequest, schedule } from '@drover/scheduler';
import type { AgentSessions } from '../agents/agent-sessions.js';
import type { Clock } from '../clock.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AppRecord, TaskRecord } from '../state/records.js';
import type { TaskKiller } from '../tasks/task-killer.js';
import { reservationOf } from './agent-usage.js';
import type { PendingInstance, PlanApplier } from './plan-applier.js';

/** How long an app waits before relaunching after a task ended on its own. */
export const RESTART_DELAY_MS = 1000;

/** What an app is waiting for, shown to operators. */
export interface AppWaiting {
  /** Instances not placed. */
  readonly instances: number;
  /** Why. */
  readonly explanation: Explanation;
}

/** Drives actual state toward desired state. */
export class Orchestrator {
  private scheduled = false;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private seed = 1;
  private readonly waiting = new Map<string, AppWaiting>();

  constructor(
    private readonly state: ClusterState,
    private readonly sessions: AgentSessions,
    private readonly applier: PlanApplier,
    private readonly killer: TaskKiller,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly tickMs = 1000,
  ) {}

  /** Reconciles on every state change and on a timer. */
  start(): void {
    this.state.onChange(() => this.trigger());
    this.timer = setInterval(() => this.trigger(), this.tickMs);
    this.trigger();
  }

  /** Stops the timer; a pass in flight completes. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Why an app has unplaced instances, if it has. */
  waitingOf(appId: string): AppWaiting | undefined {
    return this.waiting.get(appId);
  }

  /** Asks for a pass soon (coalesced). */
  trigger(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.timer === undefined) return;
      if (this.running) {
        this.again = true;
        return;
      }
      this.running = this.reconcile()
        .catch((error) => this.log.error({ err: error }, 'reconcile pass failed'))
        .finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.trigger();
          }
        });
    });
  }

  /** One pass over every app (exposed for tests). */
  async reconcile(): Promise<void> {
    const now = this.clock.now();
    const kills: Array<{ task: TaskRecord; why: string }> = [];
    const requests: PlacementRequest[] = [];
    const pending = new Map<string, PendingInstance>();
    const delayed = new Map<string, AppWaiting>();

    for (const app of this.state.allApps()) {
      const wanted = app.spec.instances ?? 0;
      const live = this.state.tasksOfApp(app.spec.id).filter((t) => isLive(t.state) && !t.killRequested);
      const current = live.filter((t) => t.appVersion === app.version);
      const old = live.filter((t) => t.appVersion !== app.version);

      if (current.length > wanted) {
        for (const task of youngestFirst(current).slice(0, current.length - wanted)) {
          kills.push({ task, why: `scaled down to ${wanted} ${wanted === 1 ? 'instance' : 'instances'}` });
        }
      }
      const missing = Math.max(0, wanted - current.length);
      if (missing > 0) {
        const delay = restartDelayLeft(this.state.tasksOfApp(app.spec.id), now);
        if (delay > 0) {
          delayed.set(app.spec.id, {
            instances: missing,
            explanation: {
              agentsConsidered: 0,
              rejections: [],
              summary: `restart delay: a task ended ${((RESTART_DELAY_MS - delay) / 1000).toFixed(1)} s ago; relaunching in ${(delay / 1000).toFixed(1)} s`,
            },
          });
        } else {
          for (let i = 0; i < missing; i++) {
            const taskId = newTaskId(app.spec.id);
            requests.push(requestFor(app, taskId));
            pending.set(taskId, { app, taskId });
          }
        }
      }
      const running = current.filter((t) => t.state === 'RUNNING').length;
      const keepOld = Math.max(0, wanted - running);
      if (old.length > keepOld) {
        for (const task of notRunningFirst(old).slice(0, old.length - keepOld)) {
          kills.push({ task, why: `replaced by version ${app.version}` });
        }
      }
    }
    for (const task of this.state.allTasks()) {
      if (isLive(task.state) && !task.killRequested && !this.state.app(task.appId)) {
        kills.push({ task, why: `app ${task.appId} was deleted` });
      }
    }

    for (const { task, why } of kills) await this.killer.kill([task], why);
    this.waiting.clear();
    for (const [appId, w] of delayed) this.waiting.set(appId, w);
    if (requests.length === 0) return;

    const plan = schedule({ agents: this.snapshotAgents() }, requests, { seed: this.seed++ });
    for (const u of plan.unplaced) {
      const prev = this.waiting.get(u.appId);
      this.waiting.set(u.appId, { instances: (prev?.instances ?? 0) + 1, explanation: u.explanation });
    }
    if (plan.unplaced.length > 0) {
      this.log.debug({ unplaced: plan.unplaced.length, why: plan.unplaced[0]?.explanation.summary }, 'instances waiting');
    }
    await this.applier.apply(plan.placements, pending);
  }

  private snapshotAgents() {
    return this.state
      .allAgents()
      .filter((a) => a.state === 'ACTIVE' && this.sessions.connected(a.id))
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((agent) => {
        const r = reservationOf(this.state, agent);
        return {
          id: agent.id,
          hostname: agent.hostname,
          attributes: agent.attributes,
          total: agent.total,
          free: r.free,
          freePorts: r.freePorts,
        };
      });
  }
}

function requestFor(app: AppRecord, taskId: string): PlacementRequest {
  const spec = app.spec;
  return {
    key: taskId,
    appId: spec.id,
    resources: scalars({ cpus: spec.cpus, mem: spec.mem, disk: spec.disk, gpus: spec.gpus }),
    ports: spec.portDefinitions.map((p) => ({ port: p.port })),
  };
}

/** Milliseconds until the app may launch again after its last unrequested task end. */
function restartDelayLeft(tasks: readonly TaskRecord[], now: number): number {
  let lastEnd = -Infinity;
  for (const t of tasks) {
    if ((t.state === 'FAILED' || t.state === 'FINISHED') && !t.killRequested && t.endedAt !== undefined) {
      lastEnd = Math.max(lastEnd, t.endedAt);
    }
  }
  return Math.max(0, lastEnd + RESTART_DELAY_MS - now);
}

function youngestFirst(tasks: readonly TaskRecord[]): TaskRecord[] {
  return [...tasks].sort((a, b) => b.stagedAt - a.stagedAt || b.id.localeCompare(a.id));
}

function notRunningFirst(tasks: readonly TaskRecord[]): TaskRecord[] {
  return [...tasks].sort((a, b) => Number(a.state === 'RUNNING') - Number(b.state === 'RUNNING') || b.stagedAt - a.stagedAt);
}
