/**
 * The shape the workspace keeps (docs/ARCHITECTURE.md explains it):
 *
 * - Packages import only the packages below them (PACKAGE_DEPENDENCIES).
 * - Inside every package, no import cycle between files, and none between
 *   the top-level units of src/ (a folder, or a file at the top of src/):
 *   then the units can be ordered so that every import points down.
 * - Inside the master, that order is written down (MASTER_LAYERS) and every
 *   import must point down it or stay within its layer: a lower layer never
 *   imports a higher one.
 */

/** Which workspace packages each package may import. */
export const PACKAGE_DEPENDENCIES: Readonly<Record<string, readonly string[]>> = {
  proto: [],
  common: ['proto'],
  scheduler: ['common', 'proto'],
  client: ['common', 'proto'],
  master: ['common', 'proto', 'scheduler'],
  agent: ['common', 'proto'],
  cli: ['client', 'common', 'proto', 'master', 'agent', 'scheduler'],
};

/**
 * The master's layers, bottom first; each names the units of src/ in it.
 * `testing` (test support) sits on top of everything.
 */
export const MASTER_LAYERS: readonly (readonly string[])[] = [
  // Records, mutations, the clock, Waiting: plain shapes every layer shares.
  ['model'],
  // Who is calling (certificate roles), used by the API and by agent identity.
  ['auth'],
  // The Store port, its SQLite and etcd implementations and the stored format.
  ['store'],
  // The Leadership port: epoch, term, fence; single master and etcd election.
  ['leadership'],
  // ClusterState: the in-memory working copy, written through to the store.
  ['state'],
  // Open agent streams: sending commands, last seen, ports in use.
  ['sessions'],
  // Task records' lifecycle: status updates, kills, launches, health, backoff.
  ['tasks'],
  // Records -> proto messages for clients and events.
  ['convert'],
  // The event feed.
  ['events'],
  // Task logs and sandbox files, relayed from agents.
  ['files'],
  // Deployments: pure steps, and the manager that announces them.
  ['deployments'],
  // The reconcile loop around reconcileApp, and the plan applier.
  ['orchestrator'],
  // Agent registration, identity, liveness.
  ['agents'],
  // What every API surface shares: apps, tasks, agents, deployments.
  ['services'],
  // gRPC and HTTP.
  ['api'],
  // Composition: wiring (master-core.ts), one term of serving (master-serving.ts), start-up
  // (master.ts; ha-master.ts for masters on etcd), options, the package's exports.
  ['master-core.ts', 'master-serving.ts', 'master.ts', 'ha-master.ts', 'master-options.ts', 'index.ts'],
  ['testing'],
];
