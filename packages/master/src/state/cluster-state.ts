/**
 * The master's working copy of its state, in memory, written through to the
 * Store.
 *
 * Every change is applied to memory at once (so the next line of code sees
 * it) and queued; all changes made in one turn of the event loop are then
 * committed to the store as one batch (group commit). `write` returns a
 * promise that resolves when the batch holding the change is durable:
 * callers that acknowledge anything to the outside world await it first.
 *
 * One batch is in flight at a time; what is written meanwhile waits and
 * forms the next batch, so batches grow with the store's latency instead
 * of queueing up. Every batch carries the master's fence (its leadership
 * term): a store refuses it once another master has taken over.
 *
 * If the store fails (or refuses a fenced batch), memory and disk have
 * diverged and the only safe move is to stop: onFatal is called and the
 * master shuts down (fail-stop); a restarted master reloads the last
 * durable state.
 */
import { isLive, type Logger, silentLogger } from '@drover/common';
import { type Mutation, recordKeyOf } from '../model/mutation.js';
import type { AgentRecord, AppRecord, DeploymentRecord, TaskRecord, VersionRecord } from '../model/records.js';
import type { Fence, Store } from '../store/store.js';
import { upgradeStoredState } from '../store/stored-state-upgrade.js';
import { AgentLedger } from './agent-ledger.js';

/** How ClusterState writes through. */
export interface ClusterStateOptions {
  /** Called when a batch fails: the master must stop. */
  readonly onFatal: (error: unknown) => void;
  /** Carried by every batch (see the Store port's "Fenced"); without it, writes are unfenced. */
  readonly fence?: Fence;
  readonly log?: Logger;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** In-memory state with write-behind group commit to a Store. */
export class ClusterState {
  private readonly apps = new Map<string, AppRecord>();
  private readonly tasks = new Map<string, TaskRecord>();
  // The indexes hold the records themselves, not ids: reconcile reads every
  // live task of a dirty app on every pass, and an id lookup per task was the
  // master's hottest function at 20,000 tasks.
  private readonly tasksByApp = new Map<string, Map<string, TaskRecord>>();
  private readonly tasksByAgent = new Map<string, Map<string, TaskRecord>>();
  private readonly agents = new Map<string, AgentRecord>();
  /** appId -> version -> record. */
  private readonly versions = new Map<string, Map<string, VersionRecord>>();
  private readonly deployments = new Map<string, DeploymentRecord>();
  /** Live (not ended) task ids per app, so reconciling skips the history. */
  private readonly liveByApp = new Map<string, Map<string, TaskRecord>>();
  /** One-off tasks not placed yet. */
  private readonly pending = new Map<string, TaskRecord>();
  private sortedAgents: AgentRecord[] | undefined;
  private queued: Mutation[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | undefined;
  private readonly listeners: Array<() => void> = [];
  private readonly taskListeners: Array<(before: TaskRecord | undefined, after: TaskRecord | undefined) => void> = [];
  private readonly agentListeners: Array<(before: AgentRecord | undefined, after: AgentRecord) => void> = [];
  /** Reservations per agent and live tasks per group, kept current on every task change. */
  readonly ledger = new AgentLedger();

  private readonly onFatal: (error: unknown) => void;
  /** The error of the first batch that failed; from then on every write is refused with it. */
  private failure: unknown;
  /** Waiters of the batch being committed. */
  private inflight: Waiter[] = [];
  private readonly fence: Fence | undefined;

  private constructor(
    private readonly store: Store,
    options: ClusterStateOptions,
  ) {
    this.onFatal = options.onFatal;
    this.fence = options.fence;
  }

  /**
   * A state holding nothing, for a standby master: it serves only to say
   * who leads, loads nothing (the leader may be changing it) and must not
   * write (its fence is not a leader's, so a store refuses it anyway).
   */
  static empty(store: Store, options: ClusterStateOptions): ClusterState {
    return new ClusterState(store, options);
  }

  /** Loads everything the store holds, upgraded to this master's format first (see store/stored-state-upgrade.ts). */
  static async load(store: Store, options: ClusterStateOptions): Promise<ClusterState> {
    const log = options.log ?? silentLogger();
    const state = new ClusterState(store, options);
    const loaded = await store.load();
    const { state: stored, rewrites } = upgradeStoredState(loaded, log);
    // A newer format (written by a newer master) is kept as it is.
    if (rewrites.length > 0 || loaded.format !== stored.format) await store.upgrade(rewrites, stored.format);
    for (const app of stored.apps) state.apps.set(app.spec.id, app);
    for (const task of stored.tasks) state.indexTask(task);
    for (const agent of stored.agents) state.agents.set(agent.id, agent);
    for (const version of stored.versions) state.applyMutation({ kind: 'putVersion', version });
    for (const deployment of stored.deployments) state.deployments.set(deployment.id, deployment);
    return state;
  }

  /** Calls `listener` after every write (the orchestrator's trigger). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Calls `listener` for every task record put or deleted, with the record
   * before and after, synchronously as the change is applied in memory.
   * Listeners must not write (they run in the middle of a write).
   */
  onTaskChange(listener: (before: TaskRecord | undefined, after: TaskRecord | undefined) => void): () => void {
    this.taskListeners.push(listener);
    return () => {
      const i = this.taskListeners.indexOf(listener);
      if (i >= 0) this.taskListeners.splice(i, 1);
    };
  }

  /**
   * Calls `listener` for every agent record put, with the record before,
   * synchronously as the change is applied in memory. Listeners must not write.
   */
  onAgentChange(listener: (before: AgentRecord | undefined, after: AgentRecord) => void): void {
    this.agentListeners.push(listener);
  }

  // ---- reads -------------------------------------------------------------

  /** One app. */
  app(id: string): AppRecord | undefined {
    return this.apps.get(id);
  }
  /** Every app, sorted by id. */
  allApps(): AppRecord[] {
    return [...this.apps.values()].sort((a, b) => a.spec.id.localeCompare(b.spec.id));
  }
  /** One task. */
  task(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }
  /** Every task, ended ones included. */
  allTasks(): TaskRecord[] {
    return [...this.tasks.values()];
  }
  /** Tasks of one app (ended included). */
  tasksOfApp(appId: string): TaskRecord[] {
    return this.lookup(this.tasksByApp.get(appId));
  }
  /** Live tasks of one app (no history). */
  liveTasksOfApp(appId: string): TaskRecord[] {
    return this.lookup(this.liveByApp.get(appId));
  }
  /** App ids that have live tasks (including apps that no longer exist). */
  appsWithLiveTasks(): IterableIterator<string> {
    return this.liveByApp.keys();
  }
  /** One-off tasks waiting to be placed. */
  pendingTasks(): TaskRecord[] {
    return this.lookup(this.pending);
  }
  /** Tasks placed on one agent (ended included). */
  tasksOnAgent(agentId: string): TaskRecord[] {
    return this.lookup(this.tasksByAgent.get(agentId));
  }
  /** Live tasks placed on one agent. */
  liveTasksOnAgent(agentId: string): TaskRecord[] {
    return this.tasksOnAgent(agentId).filter((t) => isLive(t.state));
  }
  /** One agent. */
  agent(id: string): AgentRecord | undefined {
    return this.agents.get(id);
  }
  /** Every agent, sorted by hostname then id (do not modify the array). */
  allAgents(): readonly AgentRecord[] {
    this.sortedAgents ??= [...this.agents.values()].sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
    return this.sortedAgents;
  }

  /** Versions of an app, newest first. */
  versionsOf(appId: string): VersionRecord[] {
    return [...(this.versions.get(appId)?.values() ?? [])].sort((a, b) => b.version.localeCompare(a.version));
  }
  /** One version of an app. */
  version(appId: string, version: string): VersionRecord | undefined {
    return this.versions.get(appId)?.get(version);
  }
  /** One deployment. */
  deployment(id: string): DeploymentRecord | undefined {
    return this.deployments.get(id);
  }
  /** Every deployment held (running and recently ended), newest first. */
  allDeployments(): DeploymentRecord[] {
    return [...this.deployments.values()].sort((a, b) => b.startedAt - a.startedAt || b.id.localeCompare(a.id));
  }
  /** The app's running deployment, if any (there is at most one). */
  runningDeployment(appId: string): DeploymentRecord | undefined {
    for (const d of this.deployments.values()) if (d.appId === appId && d.state === 'RUNNING') return d;
    return undefined;
  }

  // ---- writes ------------------------------------------------------------

  /**
   * Applies the mutations in memory now; resolves once they are durable.
   * Once a batch has failed, every later write is refused at once with that
   * failure (the master is stopping or stepping down): a client's change
   * gets the store's error (say, etcd without a quorum) instead of waiting
   * for a store that already failed.
   */
  write(mutations: readonly Mutation[]): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    for (const m of mutations) this.applyMutation(m);
    this.queued.push(...mutations);
    const durable = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) this.flushing = new Promise((r) => setImmediate(r)).then(() => this.flush());
    for (const listener of this.listeners) listener();
    return durable;
  }

  /** Puts an app. */
  putApp(app: AppRecord): Promise<void> {
    return this.write([{ kind: 'putApp', app }]);
  }
  /** Puts tasks. */
  putTasks(tasks: readonly TaskRecord[]): Promise<void> {
    return this.write(tasks.map((task) => ({ kind: 'putTask', task })));
  }
  /** Puts an agent. */
  putAgent(agent: AgentRecord): Promise<void> {
    return this.write([{ kind: 'putAgent', agent }]);
  }

  /** Resolves when everything written so far is durable. */
  async settle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /**
   * Gives up on every write not yet durable, rejecting it with `error`, and
   * refuses every later one: the master stops acting (an HA leader that
   * lost its lease steps down). A batch already sent to the store may still
   * land there; `error` should say so to the clients waiting on it.
   */
  abandon(error: unknown): void {
    this.failure ??= error;
    for (const w of this.inflight.splice(0)) w.reject(error);
    for (const w of this.waiters.splice(0)) w.reject(error);
    this.queued = [];
  }

  private async flush(): Promise<void> {
    const batch = lastPerKey(this.queued);
    const waiters = this.waiters;
    this.inflight = waiters;
    this.queued = [];
    this.waiters = [];
    try {
      await this.store.commit(batch, this.fence);
      for (const w of waiters) w.resolve();
    } catch (error) {
      this.failure ??= error;
      for (const w of waiters) w.reject(error);
      this.onFatal(error);
    } finally {
      if (this.failure !== undefined) {
        // Writes that arrived during the failed commit are refused with it.
        for (const w of this.waiters.splice(0)) w.reject(this.failure);
        this.queued = [];
      }
      // Writes that arrived during the commit form the next batch.
      this.flushing = this.queued.length > 0 ? this.flush() : undefined;
    }
  }

  private applyMutation(m: Mutation): void {
    switch (m.kind) {
      case 'putApp':
        this.apps.set(m.app.spec.id, m.app);
        break;
      case 'deleteApp':
        this.apps.delete(m.id);
        break;
      case 'putTask':
        this.indexTask(m.task);
        break;
      case 'deleteTask': {
        const task = this.tasks.get(m.id);
        if (task) {
          this.tasks.delete(m.id);
          this.tasksByApp.get(task.appId)?.delete(m.id);
          this.tasksByAgent.get(task.agentId)?.delete(m.id);
          this.indexLiveness(task, false);
          this.pending.delete(m.id);
          this.ledger.update(task, undefined);
          for (const l of this.taskListeners) l(task, undefined);
        }
        break;
      }
      case 'putAgent': {
        const before = this.agents.get(m.agent.id);
        this.agents.set(m.agent.id, m.agent);
        this.sortedAgents = undefined;
        for (const l of this.agentListeners) l(before, m.agent);
        break;
      }
      case 'putVersion': {
        let byVersion = this.versions.get(m.version.appId);
        if (!byVersion) this.versions.set(m.version.appId, (byVersion = new Map()));
        byVersion.set(m.version.version, m.version);
        break;
      }
      case 'deleteVersion':
        this.versions.get(m.appId)?.delete(m.version);
        break;
      case 'putDeployment':
        this.deployments.set(m.deployment.id, m.deployment);
        break;
      case 'deleteDeployment':
        this.deployments.delete(m.id);
        break;
    }
  }

  private indexTask(task: TaskRecord): void {
    const before = this.tasks.get(task.id);
    if (before && before.agentId !== task.agentId) this.tasksByAgent.get(before.agentId)?.delete(task.id);
    this.tasks.set(task.id, task);
    this.ledger.update(before, task);
    this.indexLiveness(task, isLive(task.state));
    if (task.state === 'PENDING') this.pending.set(task.id, task);
    else this.pending.delete(task.id);
    let byApp = this.tasksByApp.get(task.appId);
    if (!byApp) this.tasksByApp.set(task.appId, (byApp = new Map()));
    byApp.set(task.id, task);
    let byAgent = this.tasksByAgent.get(task.agentId);
    if (!byAgent) this.tasksByAgent.set(task.agentId, (byAgent = new Map()));
    byAgent.set(task.id, task);
    for (const l of this.taskListeners) l(before, task);
  }

  private indexLiveness(task: TaskRecord, live: boolean): void {
    let byId = this.liveByApp.get(task.appId);
    if (live) {
      if (!byId) this.liveByApp.set(task.appId, (byId = new Map()));
      byId.set(task.id, task);
    } else if (byId) {
      byId.delete(task.id);
      if (byId.size === 0) this.liveByApp.delete(task.appId);
    }
  }

  private lookup(records: Map<string, TaskRecord> | undefined): TaskRecord[] {
    return records === undefined ? [] : [...records.values()];
  }
}

/**
 * A batch with only the last mutation of each record: a task that went
 * STARTING then RUNNING within one turn is written once. Records are
 * independent rows, so order across different keys does not matter.
 */
function lastPerKey(batch: readonly Mutation[]): Mutation[] {
  const last = new Map<string, Mutation>();
  for (const m of batch) last.set(recordKeyOf(m), m);
  return [...last.values()];
}
