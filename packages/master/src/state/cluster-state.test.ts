/**
 * ClusterState on its own: the indexes the orchestrator reads, group
 * commit (one batch per turn, the last mutation of each record, the next
 * batch gathered while one is in flight), durability before a write
 * resolves, the fence on every batch, fail-stop when the store fails, the
 * change listeners, and loading.
 */
import { describe, expect, it } from 'vitest';
import type { Mutation } from '../model/mutation.js';
import type { AgentRecord, TaskRecord } from '../model/records.js';
import { agentRecord, appRecord, deploymentRecord, taskRecord, versionRecord } from '../store/conformance/store-conformance.js';
import type { Fence } from '../store/store.js';
import { STORE_FORMAT } from '../store/stored-state-upgrade.js';
import { MemoryStore, MemoryStoreData } from '../testing/memory-store.js';
import { ClusterState } from './cluster-state.js';

/** A memory store that records its commits and holds each until released. */
class GatedStore extends MemoryStore {
  readonly commits: Array<{ mutations: readonly Mutation[]; fence: Fence | undefined }> = [];
  private releases: Array<() => void> = [];
  failNext: Error | undefined;
  gated = true;

  override async commit(mutations: readonly Mutation[], fence?: Fence): Promise<void> {
    this.commits.push({ mutations, fence });
    if (this.gated) await new Promise<void>((r) => this.releases.push(r));
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    await super.commit(mutations, fence);
  }

  /** Lets the commits waiting so far complete. */
  release(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

const turn = () => new Promise((r) => setImmediate(r));

async function loaded(store = new GatedStore(), fence?: Fence) {
  const fatal: unknown[] = [];
  const state = await ClusterState.load(store, { onFatal: (e) => fatal.push(e), ...(fence ? { fence } : {}) });
  return { state, store, fatal };
}

describe('ClusterState indexes', () => {
  const t = (id: string, extra: Partial<TaskRecord>) => taskRecord(id, extra);

  it.each<{ name: string; writes: TaskRecord[][]; expected: Record<string, string[]> }>([
    {
      name: 'live and ended tasks by app and agent',
      writes: [[t('a1', { appId: '/a', agentId: 'x' }), t('a2', { appId: '/a', agentId: 'y', state: 'FINISHED' }), t('b1', { appId: '/b', agentId: 'x' })]],
      expected: { 'tasksOfApp /a': ['a1', 'a2'], 'liveTasksOfApp /a': ['a1'], 'tasksOnAgent x': ['a1', 'b1'], 'liveTasksOnAgent y': [], appsWithLiveTasks: ['/a', '/b'], pending: [] },
    },
    {
      name: 'a task that ends leaves the live indexes, and its app goes when it had no other',
      writes: [[t('a1', { appId: '/a' })], [t('a1', { appId: '/a', state: 'KILLED' })]],
      expected: { 'tasksOfApp /a': ['a1'], 'liveTasksOfApp /a': [], 'tasksOnAgent agent-1': ['a1'], 'liveTasksOnAgent agent-1': [], appsWithLiveTasks: [], pending: [] },
    },
    {
      name: 'a one-off task waits PENDING on no agent, then moves to the agent it is placed on',
      writes: [[t('job', { appId: '', agentId: '', state: 'PENDING' })], [t('job', { appId: '', agentId: 'x', state: 'STAGING' })]],
      expected: { 'tasksOnAgent x': ['job'], 'tasksOnAgent ': [], 'liveTasksOnAgent x': ['job'], appsWithLiveTasks: [''], pending: [] },
    },
    {
      name: 'PENDING tasks are listed as pending',
      writes: [[t('job', { appId: '', agentId: '', state: 'PENDING' })]],
      expected: { pending: ['job'], 'tasksOnAgent ': ['job'] },
    },
  ])('$name', async ({ writes, expected }) => {
    const { state, store } = await loaded();
    store.gated = false;
    for (const w of writes) await state.putTasks(w);
    const ids = (ts: readonly TaskRecord[]) => ts.map((x) => x.id).sort();
    const views: Record<string, () => string[]> = {
      'tasksOfApp /a': () => ids(state.tasksOfApp('/a')),
      'liveTasksOfApp /a': () => ids(state.liveTasksOfApp('/a')),
      'tasksOnAgent x': () => ids(state.tasksOnAgent('x')),
      'tasksOnAgent ': () => ids(state.tasksOnAgent('')),
      'tasksOnAgent agent-1': () => ids(state.tasksOnAgent('agent-1')),
      'liveTasksOnAgent x': () => ids(state.liveTasksOnAgent('x')),
      'liveTasksOnAgent y': () => ids(state.liveTasksOnAgent('y')),
      'liveTasksOnAgent agent-1': () => ids(state.liveTasksOnAgent('agent-1')),
      appsWithLiveTasks: () => [...state.appsWithLiveTasks()].sort(),
      pending: () => ids(state.pendingTasks()),
    };
    expect(Object.fromEntries(Object.keys(expected).map((k) => [k, views[k]?.()]))).toEqual(expected);
  });

  it('keeps reservations in the ledger as tasks come, move and go', async () => {
    const { state, store } = await loaded();
    store.gated = false;
    await state.putTasks([t('a1', { agentId: 'x', resources: { cpus: 1, mem: 10, disk: 0, gpus: 0 }, ports: [{ number: 31000, name: '', protocol: 'tcp' }] })]);
    expect(state.ledger.reservation('x')).toMatchObject({ used: { cpus: 1, mem: 10 }, liveTasks: 1, ports: new Map([[31000, 1]]) });
    await state.write([{ kind: 'deleteTask', id: 'a1' }]);
    expect(state.ledger.reservation('x')).toMatchObject({ used: { cpus: 0, mem: 0 }, liveTasks: 0 });
    expect(state.task('a1')).toBeUndefined();
    expect(state.tasksOfApp('/web')).toEqual([]);
  });

  it('sorts agents by hostname then id, and sees a changed agent at once', async () => {
    const { state, store } = await loaded();
    store.gated = false;
    await state.write([agentRecord('b', { hostname: 'h2' }), agentRecord('c', { hostname: 'h1' }), agentRecord('a', { hostname: 'h2' })].map((agent) => ({ kind: 'putAgent', agent })));
    expect(state.allAgents().map((a) => a.id)).toEqual(['c', 'a', 'b']);
    await state.putAgent(agentRecord('c', { hostname: 'h3' }));
    expect(state.allAgents().map((a) => a.id)).toEqual(['a', 'b', 'c']);
  });

  it('lists versions newest first, deployments newest first, and finds the running one', async () => {
    const { state, store } = await loaded();
    store.gated = false;
    await state.write([
      { kind: 'putVersion', version: versionRecord('/web', '2026-01-01T00:00:00.000Z') },
      { kind: 'putVersion', version: versionRecord('/web', '2026-01-03T00:00:00.000Z') },
      { kind: 'putVersion', version: versionRecord('/web', '2026-01-02T00:00:00.000Z') },
      { kind: 'putDeployment', deployment: deploymentRecord('old', { state: 'SUCCEEDED', startedAt: 1 }) },
      { kind: 'putDeployment', deployment: deploymentRecord('new', { startedAt: 2 }) },
    ]);
    expect(state.versionsOf('/web').map((v) => v.version)).toEqual(['2026-01-03T00:00:00.000Z', '2026-01-02T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
    expect(state.allDeployments().map((d) => d.id)).toEqual(['new', 'old']);
    expect(state.runningDeployment('/web')?.id).toBe('new');
    await state.write([{ kind: 'deleteVersion', appId: '/web', version: '2026-01-03T00:00:00.000Z' }, { kind: 'deleteDeployment', id: 'new' }]);
    expect(state.versionsOf('/web')).toHaveLength(2);
    expect(state.runningDeployment('/web')).toBeUndefined();
  });
});

describe('ClusterState writes', () => {
  it('applies a write in memory at once and resolves it only once the store has it', async () => {
    const { state, store } = await loaded();
    let durable = false;
    const write = state.putApp(appRecord('/a')).then(() => (durable = true));
    expect(state.app('/a')).toEqual(appRecord('/a'));
    await turn();
    await turn();
    expect(durable).toBe(false);
    store.release();
    await write;
    expect((await store.load()).apps).toEqual([appRecord('/a')]);
  });

  it('commits what one turn wrote as one batch holding the last mutation of each record', async () => {
    const { state, store } = await loaded();
    void state.putTasks([taskRecord('t', { state: 'STARTING' })]);
    void state.putTasks([taskRecord('t', { state: 'RUNNING' })]);
    void state.putApp(appRecord('/a'));
    await turn();
    expect(store.commits).toHaveLength(1);
    expect(store.commits[0]?.mutations).toEqual([
      { kind: 'putTask', task: taskRecord('t', { state: 'RUNNING' }) },
      { kind: 'putApp', app: appRecord('/a') },
    ]);
  });

  it('gathers what is written during a commit into the next batch, one batch in flight at a time', async () => {
    const { state, store } = await loaded();
    const first = state.putApp(appRecord('/a'));
    await turn();
    const second = state.putApp(appRecord('/b'));
    const third = state.putApp(appRecord('/c'));
    await turn();
    expect(store.commits).toHaveLength(1);
    store.release();
    await first;
    await turn();
    expect(store.commits.map((c) => c.mutations.length)).toEqual([1, 2]);
    store.release();
    await Promise.all([second, third]);
    await state.settle();
  });

  it('carries the fence on every batch', async () => {
    const gated = new GatedStore();
    const term = await gated.nextGeneration();
    const { state, store } = await loaded(gated, { term });
    store.gated = false;
    await state.putApp(appRecord('/a'));
    await state.putAgent(agentRecord('x'));
    expect(store.commits.map((c) => c.fence)).toEqual([{ term }, { term }]);
  });

  it('stops the master when a batch fails: every write of the batch rejects and onFatal hears the error', async () => {
    const { state, store, fatal } = await loaded();
    const broken = new Error('disk gone');
    store.failNext = broken;
    const writes = [state.putApp(appRecord('/a')), state.putApp(appRecord('/b'))];
    await turn();
    store.release();
    await expect(writes[0]).rejects.toBe(broken);
    await expect(writes[1]).rejects.toBe(broken);
    expect(fatal).toEqual([broken]);
    // Later writes are refused at once with the same error, and change nothing in memory.
    await expect(state.putApp(appRecord('/c'))).rejects.toBe(broken);
    expect(state.app('/c')).toBeUndefined();
    expect(fatal).toEqual([broken]);
  });

  it('abandons every write not yet durable with the reason given, and refuses later ones (a leader stepping down)', async () => {
    const { state, store, fatal } = await loaded();
    const inFlight = state.putApp(appRecord('/a'));
    await turn(); // /a is being committed
    const queued = state.putApp(appRecord('/b'));
    const why = new Error('stepped down');
    state.abandon(why);
    await expect(inFlight).rejects.toBe(why);
    await expect(queued).rejects.toBe(why);
    await expect(state.putApp(appRecord('/c'))).rejects.toBe(why);
    store.release();
    await state.settle();
    expect(fatal).toEqual([]);
  });

  it('resolves settle() only when everything written so far is durable', async () => {
    const { state, store } = await loaded();
    void state.putApp(appRecord('/a'));
    let settled = false;
    const settling = state.settle().then(() => (settled = true));
    await turn();
    expect(settled).toBe(false);
    store.release();
    await settling;
    expect(settled).toBe(true);
  });
});

describe('ClusterState listeners', () => {
  it('hears task changes with the record before and after, agent changes, and every write', async () => {
    const { state, store } = await loaded();
    store.gated = false;
    const tasks: Array<[string | undefined, string | undefined]> = [];
    const agents: Array<[AgentRecord['state'] | undefined, AgentRecord['state']]> = [];
    let writes = 0;
    const stop = state.onTaskChange((before, after) => tasks.push([before?.state, after?.state]));
    state.onAgentChange((before, after) => agents.push([before?.state, after.state]));
    state.onChange(() => writes++);
    await state.putTasks([taskRecord('t', { state: 'STAGING' })]);
    await state.putTasks([taskRecord('t', { state: 'RUNNING' })]);
    await state.write([{ kind: 'deleteTask', id: 't' }]);
    await state.putAgent(agentRecord('x'));
    await state.putAgent(agentRecord('x', { state: 'LOST' }));
    stop();
    await state.putTasks([taskRecord('u')]);
    expect(tasks).toEqual([
      [undefined, 'STAGING'],
      ['STAGING', 'RUNNING'],
      ['RUNNING', undefined],
    ]);
    expect(agents).toEqual([
      [undefined, 'ACTIVE'],
      ['ACTIVE', 'LOST'],
    ]);
    expect(writes).toBe(6);
  });
});

describe('ClusterState.load', () => {
  it('indexes what the store holds and brings an old store to the current format', async () => {
    const data = new MemoryStoreData();
    const old = new MemoryStore(data);
    await old.commit([
      { kind: 'putApp', app: appRecord('/web') },
      { kind: 'putTask', task: taskRecord('t1') },
      { kind: 'putTask', task: taskRecord('t2', { state: 'FAILED' }) },
      { kind: 'putAgent', agent: agentRecord('agent-1') },
      { kind: 'putVersion', version: versionRecord('/web', 'v1') },
      { kind: 'putDeployment', deployment: deploymentRecord('d1') },
    ]);
    expect(data.format).toBe(0);
    const state = await ClusterState.load(new MemoryStore(data), { onFatal: () => undefined });
    expect(data.format).toBe(STORE_FORMAT);
    expect(state.liveTasksOfApp('/web').map((t) => t.id)).toEqual(['t1']);
    expect(state.ledger.reservation('agent-1').liveTasks).toBe(1);
    expect(state.app('/web')).toBeDefined();
    expect(state.agent('agent-1')).toBeDefined();
    expect(state.version('/web', 'v1')).toBeDefined();
    expect(state.runningDeployment('/web')?.id).toBe('d1');
  });
});
