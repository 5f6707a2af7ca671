/**
 * The one test suite every Store passes: the rules written on the Store
 * port (store.ts), checked the same way for SQLite today and etcd next. A
 * store brings a subject that makes empty places to keep state and opens
 * stores on them; adding a store adds a subject and changes nothing here
 * (Kubernetes' storage tests, which etcd3 and kine both run, work the same
 * way). A second store is done when it passes this suite.
 */
import { AppSpec } from '@drover/proto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Mutation } from '../../model/mutation.js';
import type { AgentRecord, AppRecord, DeploymentRecord, TaskRecord, VersionRecord } from '../../model/records.js';
import { type Store, StoreFencedError, type StoredState } from '../store.js';

/** One empty place to keep state (a data dir, an etcd key prefix). */
export interface StoreLocation {
  /** Opens a store on this place; called again, it opens another handle on the same state (a restart, or a second master). */
  open(): Promise<Store>;
  /** Removes the place (after every store on it was closed). */
  dispose(): Promise<void>;
}

/** A store implementation under test, as the suite sees it. */
export interface StoreSubject {
  /** A new, empty place. */
  location(): Promise<StoreLocation>;
}

/** An app record. */
export function appRecord(id: string, extra: Partial<AppRecord> = {}): AppRecord {
  return { spec: AppSpec.fromPartial({ id, cmd: 'serve', cpus: 0.1, mem: 16, instances: 2 }), version: '2026-01-01T00:00:00.000Z', createdAt: 1, ...extra };
}

/** A task record. */
export function taskRecord(id: string, extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id,
    appId: '/web',
    appVersion: '2026-01-01T00:00:00.000Z',
    agentId: 'agent-1',
    host: 'host-1',
    state: 'RUNNING',
    resources: { cpus: 0.1, mem: 16, disk: 0, gpus: 0 },
    ports: [{ number: 31000, name: 'http', protocol: 'tcp' }],
    stagedAt: 10,
    startedAt: 11,
    updatedAt: 12,
    killRequested: false,
    killGracePeriodSeconds: 3,
    ...extra,
  };
}

/** An agent record. */
export function agentRecord(id: string, extra: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id,
    hostname: `${id}.example`,
    address: `${id}.example`,
    total: { cpus: 4, mem: 4096, disk: 1000, gpus: 0 },
    ports: [{ begin: 31000, end: 32000 }],
    attributes: { rack: 'r1' },
    state: 'ACTIVE',
    version: '0.1.0',
    capabilities: [],
    registeredAt: 1,
    lastSeenAt: 2,
    ...extra,
  };
}

/** A version record. */
export function versionRecord(appId: string, version: string, extra: Partial<VersionRecord> = {}): VersionRecord {
  return { appId, version, spec: AppSpec.fromPartial({ id: appId, cmd: 'serve', instances: 1 }), ...extra };
}

/** A deployment record. */
export function deploymentRecord(id: string, extra: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id,
    appId: '/web',
    kind: 'UPDATE',
    state: 'RUNNING',
    version: '2026-01-02T00:00:00.000Z',
    fromVersion: '2026-01-01T00:00:00.000Z',
    targetInstances: 2,
    minHealthy: 2,
    maxLive: 4,
    progressDeadlineMs: 600_000,
    startedAt: 5,
    lastProgressAt: 5,
    progressMark: '0/2',
    ...extra,
  };
}

/** Registers the suite for one store implementation. */
export function storeConformance(name: string, subject: StoreSubject): void {
  describe(`${name} store conformance`, () => {
    const opened: Store[] = [];
    const locations: StoreLocation[] = [];

    async function place(): Promise<StoreLocation> {
      const location = await subject.location();
      locations.push(location);
      return location;
    }
    async function open(location: StoreLocation): Promise<Store> {
      const store = await location.open();
      opened.push(store);
      return store;
    }
    /** A fresh store, its term begun as a starting master begins it. */
    async function fresh(): Promise<{ store: Store; term: number; location: StoreLocation }> {
      const location = await place();
      const store = await open(location);
      return { store, term: await store.nextGeneration(), location };
    }
    async function reopened(location: StoreLocation, before: Store): Promise<Store> {
      await before.close();
      return open(location);
    }

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
      for (const location of locations.splice(0)) await location.dispose();
    });

    describe('loading', () => {
      it('an empty store loads empty, at format 0', async () => {
        const { store } = await fresh();
        expect(await store.load()).toEqual({ format: 0, apps: [], tasks: [], agents: [], versions: [], deployments: [] } satisfies StoredState);
      });

      it('loads what was committed, each record as it was put', async () => {
        const { store } = await fresh();
        const app = appRecord('/web', { scaledAt: '2026-01-03T00:00:00.000Z', lastTaskFailure: { taskId: 't0', agentId: 'a', host: 'h', timestamp: 3, state: 'FAILED', exitCode: 1, message: 'boom', stderrTail: 'line\n', appVersion: 'v' } });
        const task = taskRecord('t1', { health: 'HEALTHY', healthFailures: 0, adopted: true, message: 'ünïcødé ✓' });
        const agent = agentRecord('a1', { drainDeadline: 99, secretHash: 'abc' });
        const version = versionRecord('/web', 'v1', { configVersion: 'v0' });
        const deployment = deploymentRecord('d1', { finalProgress: { newLive: 1, newHealthy: 1, oldRemaining: 0, surplusRemaining: 0, healthyTotal: 1 } });
        await store.commit([
          { kind: 'putApp', app },
          { kind: 'putTask', task },
          { kind: 'putAgent', agent },
          { kind: 'putVersion', version },
          { kind: 'putDeployment', deployment },
        ]);
        expect(await store.load()).toEqual({ format: 0, apps: [app], tasks: [task], agents: [agent], versions: [version], deployments: [deployment] });
      });
    });

    describe('mutations', () => {
      it.each<{ name: string; before: Mutation[]; batch: Mutation[]; expected: Partial<StoredState> }>([
        { name: 'a put replaces the app with the same id', before: [{ kind: 'putApp', app: appRecord('/a') }], batch: [{ kind: 'putApp', app: appRecord('/a', { createdAt: 7 }) }], expected: { apps: [appRecord('/a', { createdAt: 7 })] } },
        { name: 'a put replaces the task with the same id', before: [{ kind: 'putTask', task: taskRecord('t') }], batch: [{ kind: 'putTask', task: taskRecord('t', { state: 'KILLED' }) }], expected: { tasks: [taskRecord('t', { state: 'KILLED' })] } },
        { name: 'a task may move to another app and agent', before: [{ kind: 'putTask', task: taskRecord('t') }], batch: [{ kind: 'putTask', task: taskRecord('t', { appId: '/other', agentId: 'a9' }) }], expected: { tasks: [taskRecord('t', { appId: '/other', agentId: 'a9' })] } },
        { name: 'a put replaces the agent with the same id', before: [{ kind: 'putAgent', agent: agentRecord('a') }], batch: [{ kind: 'putAgent', agent: agentRecord('a', { state: 'LOST' }) }], expected: { agents: [agentRecord('a', { state: 'LOST' })] } },
        { name: 'a put replaces the deployment with the same id', before: [{ kind: 'putDeployment', deployment: deploymentRecord('d') }], batch: [{ kind: 'putDeployment', deployment: deploymentRecord('d', { state: 'SUCCEEDED' }) }], expected: { deployments: [deploymentRecord('d', { state: 'SUCCEEDED' })] } },
        { name: 'a version is keyed by app and version', before: [{ kind: 'putVersion', version: versionRecord('/a', 'v1') }], batch: [{ kind: 'putVersion', version: versionRecord('/b', 'v1') }, { kind: 'putVersion', version: versionRecord('/a', 'v1', { configVersion: 'v0' }) }], expected: { versions: [versionRecord('/a', 'v1', { configVersion: 'v0' }), versionRecord('/b', 'v1')] } },
        { name: 'deleting an app', before: [{ kind: 'putApp', app: appRecord('/a') }, { kind: 'putApp', app: appRecord('/b') }], batch: [{ kind: 'deleteApp', id: '/a' }], expected: { apps: [appRecord('/b')] } },
        { name: 'deleting a task', before: [{ kind: 'putTask', task: taskRecord('t1') }, { kind: 'putTask', task: taskRecord('t2') }], batch: [{ kind: 'deleteTask', id: 't1' }], expected: { tasks: [taskRecord('t2')] } },
        { name: 'deleting one version of one app', before: [{ kind: 'putVersion', version: versionRecord('/a', 'v1') }, { kind: 'putVersion', version: versionRecord('/a', 'v2') }, { kind: 'putVersion', version: versionRecord('/b', 'v1') }], batch: [{ kind: 'deleteVersion', appId: '/a', version: 'v1' }], expected: { versions: [versionRecord('/a', 'v2'), versionRecord('/b', 'v1')] } },
        { name: 'deleting a deployment', before: [{ kind: 'putDeployment', deployment: deploymentRecord('d1') }, { kind: 'putDeployment', deployment: deploymentRecord('d2') }], batch: [{ kind: 'deleteDeployment', id: 'd1' }], expected: { deployments: [deploymentRecord('d2')] } },
        { name: 'deleting what is not there changes nothing', before: [{ kind: 'putApp', app: appRecord('/a') }], batch: [{ kind: 'deleteApp', id: '/nope' }, { kind: 'deleteTask', id: 'nope' }, { kind: 'deleteVersion', appId: '/a', version: 'nope' }, { kind: 'deleteDeployment', id: 'nope' }], expected: { apps: [appRecord('/a')] } },
        { name: 'within a batch, the later mutation of a record wins', before: [], batch: [{ kind: 'putApp', app: appRecord('/a') }, { kind: 'deleteApp', id: '/a' }, { kind: 'putTask', task: taskRecord('t') }, { kind: 'putTask', task: taskRecord('t', { state: 'FINISHED' }) }], expected: { tasks: [taskRecord('t', { state: 'FINISHED' })] } },
        { name: 'an empty batch', before: [{ kind: 'putApp', app: appRecord('/a') }], batch: [], expected: { apps: [appRecord('/a')] } },
      ])('$name', async ({ before, batch, expected }) => {
        const { store } = await fresh();
        await store.commit(before);
        await store.commit(batch);
        expect(sorted(await store.load())).toEqual(sorted({ format: 0, apps: [], tasks: [], agents: [], versions: [], deployments: [], ...expected }));
      });

      it('takes calls in the order they were made, without waiting for each', async () => {
        const { store } = await fresh();
        const writes = Array.from({ length: 50 }, (_, i) => store.commit([{ kind: 'putTask', task: taskRecord('t', { updatedAt: i }) }]));
        await Promise.all(writes);
        expect((await store.load()).tasks).toEqual([taskRecord('t', { updatedAt: 49 })]);
      });

      it('commits a batch of 20,000 tasks whole', async () => {
        const { store } = await fresh();
        const tasks = Array.from({ length: 20_000 }, (_, i) => taskRecord(`t${i}`, { agentId: `a${i % 100}` }));
        await store.commit(tasks.map((task) => ({ kind: 'putTask', task })));
        const loaded = await store.load();
        expect(loaded.tasks).toHaveLength(20_000);
        expect(new Set(loaded.tasks.map((t) => t.id)).size).toBe(20_000);
        expect(loaded.tasks.find((t) => t.id === 't12345')).toEqual(tasks[12_345]);
      });

      it('a batch that fails writes nothing of itself, and the store goes on', async () => {
        const { store } = await fresh();
        await store.commit([{ kind: 'putApp', app: appRecord('/kept') }]);
        // A record no store can encode (a bigint), between good ones.
        const unencodable = taskRecord('bad', { exitCode: 1n as unknown as number });
        await expect(
          store.commit([{ kind: 'putApp', app: appRecord('/new') }, { kind: 'deleteApp', id: '/kept' }, { kind: 'putTask', task: unencodable }, { kind: 'putTask', task: taskRecord('after') }]),
        ).rejects.toThrow();
        const after = await store.load();
        expect(after.apps).toEqual([appRecord('/kept')]);
        expect(after.tasks).toEqual([]);
        await store.commit([{ kind: 'putTask', task: taskRecord('later') }]);
        expect((await store.load()).tasks).toEqual([taskRecord('later')]);
      });
    });

    describe('durability', () => {
      it('a reopened store holds what was committed before it closed, even without waiting for the commit', async () => {
        const { store, location } = await fresh();
        await store.commit([{ kind: 'putApp', app: appRecord('/a') }, { kind: 'putAgent', agent: agentRecord('a1') }]);
        const last = store.commit([{ kind: 'putTask', task: taskRecord('t1') }]);
        const again = await reopened(location, store);
        await last;
        expect(await again.load()).toEqual({ format: 0, apps: [appRecord('/a')], tasks: [taskRecord('t1')], agents: [agentRecord('a1')], versions: [], deployments: [] });
      });
    });

    describe('generations', () => {
      it('only grow, across reopening, and honour atLeast', async () => {
        const { store, location, term } = await fresh();
        expect(term).toBeGreaterThan(0);
        const second = await store.nextGeneration(undefined, term);
        expect(second).toBeGreaterThan(term);
        expect(await store.nextGeneration(second + 100, term)).toBe(second + 100);
        expect(await store.nextGeneration(5, term)).toBe(second + 101);
        const again = await reopened(location, store);
        expect(await again.nextGeneration()).toBeGreaterThan(second + 101);
      });

      it('concurrent calls each get a different generation', async () => {
        const { store, term } = await fresh();
        const all = await Promise.all(Array.from({ length: 20 }, () => store.nextGeneration(0, term)));
        expect(new Set(all).size).toBe(20);
        expect(Math.min(...all)).toBeGreaterThan(term);
      });
    });

    describe('fencing', () => {
      it('refuses writes of a term another master has ended, writing nothing', async () => {
        const { store: deposed, term: oldTerm, location } = await fresh();
        await deposed.commit([{ kind: 'putApp', app: appRecord('/a') }], { term: oldTerm });
        const successor = await open(location);
        const newTerm = await successor.nextGeneration();
        expect(newTerm).toBeGreaterThan(oldTerm);
        await expect(deposed.commit([{ kind: 'deleteApp', id: '/a' }, { kind: 'putApp', app: appRecord('/b') }], { term: oldTerm })).rejects.toBeInstanceOf(StoreFencedError);
        await expect(deposed.nextGeneration(1000, oldTerm)).rejects.toBeInstanceOf(StoreFencedError);
        await successor.commit([{ kind: 'putTask', task: taskRecord('t') }], { term: newTerm });
        const loaded = await successor.load();
        expect(loaded.apps).toEqual([appRecord('/a')]);
        expect(loaded.tasks).toEqual([taskRecord('t')]);
      });

      it('a term lasts while its master raises the epoch within it', async () => {
        const { store, term } = await fresh();
        const raised = await store.nextGeneration(term + 50, term);
        expect(raised).toBe(term + 50);
        await store.commit([{ kind: 'putApp', app: appRecord('/a') }], { term });
        expect((await store.load()).apps).toEqual([appRecord('/a')]);
      });

      it('the refusal says which terms', async () => {
        const { store: deposed, term, location } = await fresh();
        const newTerm = await (await open(location)).nextGeneration();
        const refused = await deposed.commit([], { term }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(refused).toBeInstanceOf(StoreFencedError);
        expect(refused).toMatchObject({ term, currentTerm: newTerm });
      });
    });

    describe('upgrades', () => {
      it('records the format with the upgrade’s mutations, and keeps it across reopening', async () => {
        const { store, location } = await fresh();
        await store.commit([{ kind: 'putApp', app: appRecord('/a') }]);
        await store.upgrade([{ kind: 'putApp', app: appRecord('/a', { createdAt: 2 }) }, { kind: 'putVersion', version: versionRecord('/a', 'v1') }], 3);
        const again = await reopened(location, store);
        const loaded = await again.load();
        expect(loaded.format).toBe(3);
        expect(loaded.apps).toEqual([appRecord('/a', { createdAt: 2 })]);
        expect(loaded.versions).toEqual([versionRecord('/a', 'v1')]);
      });

      it('an upgrade that fails records neither its mutations nor the format', async () => {
        const { store } = await fresh();
        await expect(store.upgrade([{ kind: 'putApp', app: appRecord('/a') }, { kind: 'putTask', task: taskRecord('bad', { exitCode: 1n as unknown as number }) }], 4)).rejects.toThrow();
        const loaded = await store.load();
        expect(loaded.format).toBe(0);
        expect(loaded.apps).toEqual([]);
      });
    });
  });
}

/** The state with every list in a fixed order, for comparing. */
function sorted(s: StoredState): StoredState {
  const by = <T>(key: (t: T) => string) => (a: T, b: T) => key(a).localeCompare(key(b));
  return {
    format: s.format,
    apps: [...s.apps].sort(by((a) => a.spec.id)),
    tasks: [...s.tasks].sort(by((t) => t.id)),
    agents: [...s.agents].sort(by((a) => a.id)),
    versions: [...s.versions].sort(by((v) => `${v.appId}\u0000${v.version}`)),
    deployments: [...s.deployments].sort(by((d) => d.id)),
  };
}
