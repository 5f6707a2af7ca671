/**
 * startMaster: the master's composition root. Without etcd, the single
 * master: opens its SQLite store, takes leadership (a new term in the store,
 * whose generation is the epoch stamped on every agent command) and serves
 * as leader until stopped. With etcd, an HA master (ha-master.ts): a standby
 * until elected, then the leader until it stops or loses the lease.
 */
import { createLogger } from '@drover/common';
import { MasterEpoch } from './leadership/master-epoch.js';
import type { Leadership } from './leadership/leadership.js';
import { SingleMasterLeadership } from './leadership/single-master-leadership.js';
import { DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, type Serving, serve } from './master-serving.js';
import type { MasterOptions, RunningMaster } from './master-options.js';
import { systemClock } from './model/clock.js';
import { openStore } from './store/open-store.js';

export { DEFAULT_AGENT_LOST_TIMEOUT_MS, DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT } from './master-serving.js';

/** Starts a master and resolves once it serves. */
export async function startMaster(options: MasterOptions): Promise<RunningMaster> {
  const log = (options.logger ?? createLogger()).child({ component: 'master' });
  if (options.etcd !== undefined) {
    // Loaded only for HA masters: the single master never loads etcd's client.
    const { startHaMaster } = await import('./ha-master.js');
    return startHaMaster(options, options.etcd, log);
  }

  const clock = systemClock;
  const store = await openStore({ kind: 'sqlite', dataDir: options.dataDir, forceNewCluster: options.forceNewCluster });
  let serving: Serving | undefined;
  let leadership: Leadership;
  let stopping: Promise<void> | undefined;
  let stoppedWhy = 'stopped';
  let settleStopped: (why: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (settleStopped = resolve));
  const stopOnOwn = (why: string) => {
    stoppedWhy = why;
    void stop();
  };
  try {
    const epoch = await MasterEpoch.start(store);
    leadership = options.leadership ? options.leadership(epoch) : new SingleMasterLeadership(epoch);
    serving = await serve({
      options,
      store,
      leadership,
      role: 'leader',
      ha: options.leadership !== undefined,
      grpcPort: options.grpcPort ?? DEFAULT_GRPC_PORT,
      httpPort: options.httpPort ?? DEFAULT_HTTP_PORT,
      startedAt: clock.now(),
      clock,
      log,
      onFatal: (error) => {
        // Memory and disk disagree now (or another master took over): stop
        // serving rather than act on state that may not survive (fail-stop).
        // A restart reloads the durable state.
        log.fatal({ err: error }, 'state store failed; stopping the master');
        stopOnOwn(`the state store failed: ${(error as Error).message}`);
      },
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const up = serving;
  leadership.advertise(up.addresses);
  // Only a leader that stops leading stops: a standby (tests give one, see
  // options.leadership) hears of leaders coming and going.
  let leading = leadership.isLeader;
  leadership.onChange((change) => {
    const lost = leading && !change.isLeader;
    leading = change.isLeader;
    if (!lost) return;
    log.fatal({ leader: change.leaderAddress }, 'lost leadership; stopping the master');
    stopOnOwn('lost the leadership');
  });
  log.info({ grpc: up.addresses.grpc, http: up.httpPort, epoch: leadership.epoch, term: leadership.term, dataDir: options.dataDir }, 'master started');

  function stop(): Promise<void> {
    stopping ??= (async () => {
      await serving?.close();
      await store.close();
      log.info('master stopped');
      settleStopped(stoppedWhy);
    })();
    return stopping;
  }

  return {
    grpcPort: up.grpcPort,
    httpPort: up.httpPort,
    grpcAddress: up.addresses.grpc,
    get epoch() {
      return leadership.epoch;
    },
    stop,
    stopped,
  };
}
