/**
 * An HA master: one of several on the same etcd and key prefix, all
 * serving, one leading.
 *
 *   1. Opens the etcd store and serves as a standby on its ports: it holds
 *      no state, redirects gRPC clients and agents to the leader, and
 *      proxies REST and SSE there.
 *   2. Campaigns (EtcdLeadership). Elected (its epoch taken in the store,
 *      every write fenced by its leader key), it loads the state while the
 *      standby servers still answer, then serves as leader on the same
 *      ports. Agents reconnect and report their tasks; nothing is killed or
 *      replaced because of the change itself (agents/registration.ts).
 *   3. When it loses the lease, or its store fails (etcd lost its quorum,
 *      a write timed out), it stops acting at once: the leader servers and
 *      everything they run close, its in-memory state is dropped, and it
 *      serves as a standby again and campaigns anew, retrying while etcd
 *      cannot be reached. A write it still attempted as a deposed leader is
 *      refused by etcd (the store's fence), not by luck. Each campaign has
 *      an EtcdLeadership of its own: a deposed one never leads again.
 */
import { Code, DroverError, type Logger } from '@drover/common';
import { DEFAULT_LEADER_TTL_SECONDS, EtcdLeadership } from './leadership/etcd-leadership.js';
import type { Leadership } from './leadership/leadership.js';
import { StandbyView } from './leadership/standby-view.js';
import { DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, loadLeaderState, type Serving, serve } from './master-serving.js';
import type { EtcdOptions, MasterOptions, RunningMaster } from './master-options.js';
import { systemClock } from './model/clock.js';
import type { ClusterState } from './state/cluster-state.js';
import { EtcdStore } from './store/etcd-store.js';

/** Pause before campaigning again after a campaign could not start (etcd unreachable). */
const CAMPAIGN_RETRY_MS = 1000;

/** Starts an HA master; resolves once it serves as a standby (it campaigns from then on). */
export async function startHaMaster(options: MasterOptions, etcd: EtcdOptions, log: Logger): Promise<RunningMaster> {
  const clock = systemClock;
  const startedAt = clock.now();
  const prefix = etcd.prefix ?? '/drover';
  const ttlSeconds = Math.max(1, Math.round((etcd.leaseTtlMs ?? DEFAULT_LEADER_TTL_SECONDS * 1000) / 1000));
  // Each campaign has a store and a leadership of its own: a store that saw
  // a write of unknown outcome takes no more writes, and a deposed
  // leadership never leads again; the next campaign opens both afresh.
  const openStore = () => EtcdStore.open({ endpoints: etcd.endpoints, prefix });
  let store = await openStore();
  let leadership: EtcdLeadership = EtcdLeadership.create({ store, ttlSeconds, log });
  const standbyView = new StandbyView(() => leadership);
  let role: 'leader' | 'standby' = 'standby';
  let stopping: Promise<void> | undefined;
  let stoppedWhy = 'stopped';
  let settleStopped: (why: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (settleStopped = resolve));
  // Role changes run one at a time, in the order they were asked for.
  let changing: Promise<void> = Promise.resolve();
  const change = (step: () => Promise<void>): void => {
    changing = changing.then(() => (stopping === undefined ? step() : undefined)).catch((error: unknown) => {
      log.fatal({ err: error }, 'could not change role; stopping the master');
      stoppedWhy = `could not change role: ${(error as Error).message}`;
      void stop();
    });
  };

  const serveAs = (as: 'leader' | 'standby', ports: { grpcPort: number; httpPort: number }, state?: ClusterState) =>
    serve({
      options,
      store,
      // The standby servers never act as leader, even in the moment between
      // this master's election and their replacement.
      leadership: (as === 'leader' ? leadership : standbyView) as Leadership,
      role: as,
      ha: true,
      ...ports,
      startedAt,
      clock,
      log,
      onFatal: storeFailed,
      ...(state !== undefined ? { state } : {}),
    });

  /** The leader's store failed (etcd lost its quorum, a write timed out): memory and etcd may disagree now. */
  function storeFailed(error: unknown): void {
    const current = leadership;
    change(() => stepDown(current, `its state store failed: ${(error as Error).message}`));
  }

  let serving: Serving;
  try {
    serving = await serveAs('standby', { grpcPort: options.grpcPort ?? DEFAULT_GRPC_PORT, httpPort: options.httpPort ?? DEFAULT_HTTP_PORT });
  } catch (error) {
    await store.close();
    throw error;
  }
  const ports = { grpcPort: serving.grpcPort, httpPort: serving.httpPort };

  /** Joins the election with `l` (the current leadership) and follows what it says. */
  function campaign(l: EtcdLeadership): void {
    l.onChange((state) => {
      standbyView.changed();
      if (l !== leadership) return;
      if (state.isLeader && role === 'standby') change(() => takeOver(l));
      else if (!state.isLeader && role === 'leader') change(() => stepDown(l, 'it lost the leadership'));
    });
    l.advertise(serving.addresses);
    // Resolves once elected (onChange above does the rest); rejects when
    // the campaign could not start (etcd unreachable) or the master stops.
    l.campaign().catch((error: unknown) => {
      if (stopping !== undefined || l !== leadership) return;
      log.warn({ err: error, retryInMs: CAMPAIGN_RETRY_MS }, 'could not campaign (is a majority of etcd members up?); trying again');
      change(async () => {
        await new Promise((r) => setTimeout(r, CAMPAIGN_RETRY_MS));
        if (l === leadership && stopping === undefined) await newCampaign();
      });
    });
  }

  /** Leaves `leadership` (and its store) behind and campaigns with new ones; retries while etcd cannot be reached. */
  async function newCampaign(): Promise<void> {
    const old = { leadership, store };
    await old.leadership.stop().catch((error: unknown) => log.warn({ err: error }, 'leaving the previous election failed'));
    await old.store.close().catch((error: unknown) => log.warn({ err: error }, 'closing the previous store failed'));
    for (;;) {
      if (stopping !== undefined) return;
      try {
        store = await openStore();
        break;
      } catch (error) {
        log.warn({ err: error, retryInMs: CAMPAIGN_RETRY_MS }, 'could not open the etcd store (is a majority of etcd members up?); trying again');
        await new Promise((r) => setTimeout(r, CAMPAIGN_RETRY_MS));
      }
    }
    leadership = EtcdLeadership.create({ store, ttlSeconds, log });
    standbyView.changed();
    campaign(leadership);
  }

  async function takeOver(l: EtcdLeadership): Promise<void> {
    if (l !== leadership || !l.isLeader) return;
    log.info({ epoch: l.epoch }, 'elected leader: loading the state');
    // Loaded while the standby servers still answer (they say no leader is
    // known yet), so clients meet closed ports only while they are bound again.
    const state = await loadLeaderState({ store, leadership: l, onFatal: storeFailed, log });
    if (!l.isLeader) return; // lost it while loading: stay a standby
    await serving.close();
    serving = await serveAs('leader', ports, state);
    role = 'leader';
    log.info({ grpc: serving.addresses.grpc, epoch: l.epoch, term: l.term }, 'leading');
  }

  async function stepDown(l: EtcdLeadership, why: string): Promise<void> {
    if (l !== leadership || role !== 'leader') return;
    log.error({ why }, 'stepping down: stopping every action and serving as a standby again');
    // Clients waiting on a change get why, not a cancelled call; what was
    // already sent to etcd may still land there, so they are told so.
    serving.abandon(
      new DroverError(
        `the master at ${serving.addresses.grpc} stepped down (${why}) while this change was being written to etcd (${etcd.endpoints.join(',')}); ` +
          'it may or may not have been applied: check, then retry (is a majority of etcd members up?)',
        Code.Unavailable,
      ),
    );
    // Stop acting first: the deposed leader's writes are refused anyway, but
    // it should not even try.
    await serving.close();
    role = 'standby';
    serving = await serveAs('standby', ports);
    await newCampaign();
  }

  campaign(leadership);
  log.info({ grpc: serving.addresses.grpc, http: serving.httpPort, etcd: etcd.endpoints, prefix }, 'master started as a standby; campaigning');

  function stop(): Promise<void> {
    stopping ??= (async () => {
      await serving.close().catch((error: unknown) => log.warn({ err: error }, 'closing the servers failed'));
      await leadership.stop().catch((error: unknown) => log.warn({ err: error }, 'leaving the election failed'));
      await changing;
      // A role change that was under way may have opened servers meanwhile.
      await serving.close().catch((error: unknown) => log.warn({ err: error }, 'closing the servers failed'));
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
