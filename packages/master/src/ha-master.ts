/**
 * An HA master: one of several on the same etcd and key prefix, all
 * serving, one leading.
 *
 *   1. Opens the etcd store and joins the election (EtcdLeadership).
 *   2. Serves as a standby on its ports: it holds no state, redirects gRPC
 *      clients and agents to the leader, and proxies REST and SSE there.
 *   3. Once elected (its epoch is taken in the store, fenced by its leader
 *      key), it closes the standby servers and serves again as leader on
 *      the same ports: loads the state, then acts on it. Agents reconnect
 *      and report their tasks; nothing is killed or replaced because of
 *      the change itself (see agents/registration.ts).
 *   4. When it loses the lease it stops acting at once and stops (fail-
 *      stop, as Marathon does): `stopped` settles with the reason and the
 *      process exits non-zero, and its supervisor starts it again as a
 *      standby. Staying up as a deposed leader would only risk acting on
 *      state that is no longer its own; every write it still attempts is
 *      refused by etcd (the store's fence), not by luck.
 */
import type { Logger } from '@drover/common';
import { EtcdLeadership } from './leadership/etcd-leadership.js';
import { StandbyView } from './leadership/standby-view.js';
import { DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, loadLeaderState, type Serving, serve } from './master-serving.js';
import type { ClusterState } from './state/cluster-state.js';
import type { EtcdOptions, MasterOptions, RunningMaster } from './master-options.js';
import { systemClock } from './model/clock.js';
import { EtcdStore } from './store/etcd-store.js';

/** Default lease TTL of an HA master's leadership. */
export const DEFAULT_LEASE_TTL_MS = 2000;

/** Starts an HA master; resolves once it serves (as a standby, or already as leader). */
export async function startHaMaster(options: MasterOptions, etcd: EtcdOptions, log: Logger): Promise<RunningMaster> {
  const clock = systemClock;
  const startedAt = clock.now();
  const prefix = etcd.prefix ?? '/drover';
  const store = await EtcdStore.open({ endpoints: etcd.endpoints, prefix });
  const leadership = EtcdLeadership.create({ store, ttlSeconds: Math.max(1, Math.round((etcd.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS) / 1000)), log });

  const standbyView = new StandbyView(leadership);
  let stopping: Promise<void> | undefined;
  let stoppedWhy = 'stopped';
  let settleStopped: (why: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (settleStopped = resolve));
  const stopOnOwn = (why: string) => {
    stoppedWhy = why;
    void stop();
  };

  const onFatal = (error: unknown) => {
    log.fatal({ err: error }, 'state store failed; stopping the master');
    stopOnOwn(`the state store failed: ${(error as Error).message}`);
  };
  const serveAs = (role: 'leader' | 'standby', ports: { grpcPort: number; httpPort: number }, state?: ClusterState) =>
    serve({
      options,
      store,
      // The standby servers never act as leader, even in the moment between
      // this master's election and their replacement.
      leadership: role === 'leader' ? leadership : standbyView,
      role,
      ha: true,
      ...ports,
      startedAt,
      clock,
      log,
      onFatal,
      ...(state !== undefined ? { state } : {}),
    });

  let serving: Serving;
  try {
    serving = await serveAs('standby', { grpcPort: options.grpcPort ?? DEFAULT_GRPC_PORT, httpPort: options.httpPort ?? DEFAULT_HTTP_PORT });
  } catch (error) {
    await leadership.stop();
    await store.close();
    throw error;
  }
  const ports = { grpcPort: serving.grpcPort, httpPort: serving.httpPort };
  let role: 'leader' | 'standby' = 'standby';
  // Role changes run one at a time, in the order leadership reported them.
  let changing: Promise<void> = Promise.resolve();
  leadership.onChange((change) => {
    changing = changing.then(async () => {
      if (stopping !== undefined) return;
      if (change.isLeader && role === 'standby') {
        log.info({ epoch: change.epoch }, 'elected leader: loading the state');
        try {
          // Loaded while the standby servers still answer (they say no
          // leader is known yet), so clients meet closed ports only for as
          // long as it takes to bind them again.
          const state = await loadLeaderState({ store, leadership, onFatal, log });
          await serving.close();
          serving = await serveAs('leader', ports, state);
        } catch (error) {
          log.fatal({ err: error }, 'could not take over as leader; stopping the master');
          stopOnOwn(`could not take over as leader: ${(error as Error).message}`);
          return;
        }
        role = 'leader';
        if (stopping !== undefined) await serving.close(); // stopped while taking over
        log.info({ grpc: serving.addresses.grpc, epoch: leadership.epoch, term: leadership.term }, 'leading');
      } else if (!change.isLeader && role === 'leader') {
        log.fatal({ leader: change.leaderAddress }, 'lost the leadership; stopping the master');
        stopOnOwn('lost the leadership');
      }
    });
  });
  leadership.advertise(serving.addresses);
  // Resolves once elected (the change above swaps the servers); rejects when
  // the master stops first or cannot reach etcd to campaign.
  leadership.campaign().catch((error: unknown) => {
    if (stopping !== undefined) return;
    log.fatal({ err: error }, 'could not take part in the election; stopping the master');
    stopOnOwn(`could not take part in the election: ${(error as Error).message}`);
  });
  log.info({ grpc: serving.addresses.grpc, http: serving.httpPort, etcd: etcd.endpoints, prefix }, 'master started as a standby; campaigning');

  function stop(): Promise<void> {
    stopping ??= (async () => {
      // Stop acting first: a deposed leader's writes are refused anyway, but
      // it should not even try.
      await serving.close().catch((error: unknown) => log.warn({ err: error }, 'closing the servers failed'));
      await leadership.stop().catch((error: unknown) => log.warn({ err: error }, 'leaving the election failed'));
      await store.close().catch((error: unknown) => log.warn({ err: error }, 'closing the store failed'));
      log.info('master stopped');
      settleStopped(stoppedWhy);
    })();
    return stopping;
  }

  return {
    grpcPort: ports.grpcPort,
    httpPort: ports.httpPort,
    grpcAddress: serving.addresses.grpc,
    get epoch() {
      return leadership.epoch;
    },
    stop,
    stopped,
  };
}
