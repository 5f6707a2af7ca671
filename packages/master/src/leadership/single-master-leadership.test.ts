/**
 * The single master's Leadership: always the leader, its epoch the store
 * generation it started (and raised) to, its term fencing its writes; and
 * what the REST API says about leadership, read from the port.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { serverRoutes } from '../api/http/marathon/server-routes.js';
import { marathonErrorReply } from '../api/http/marathon/marathon-errors.js';
import { MemoryStore, MemoryStoreData } from '../testing/memory-store.js';
import type { Leadership, LeadershipState } from './leadership.js';
import { MasterEpoch } from './master-epoch.js';
import { SingleMasterLeadership } from './single-master-leadership.js';

async function started(data = new MemoryStoreData()) {
  return new SingleMasterLeadership(await MasterEpoch.start(new MemoryStore(data)));
}

describe('SingleMasterLeadership', () => {
  it('leads from the start, with the generation it started as epoch and term', async () => {
    const data = new MemoryStoreData();
    data.generation = 41;
    const leadership = await started(data);
    expect({ isLeader: leadership.isLeader, epoch: leadership.epoch, term: leadership.term, fence: leadership.fence }).toEqual({ isLeader: true, epoch: 42, term: 42, fence: { term: 42 } });
  });

  it('raises the epoch within its term, telling listeners once per change', async () => {
    const leadership = await started();
    const changes: LeadershipState[] = [];
    const stop = leadership.onChange((s) => changes.push(s));
    expect(await Promise.all([leadership.raiseEpochAbove(7), leadership.raiseEpochAbove(5)])).toEqual([8, 8]);
    expect(await leadership.raiseEpochAbove(3)).toBe(8);
    expect(leadership.term).toBe(1);
    leadership.advertise({ grpc: 'm1:5053', http: 'm1:5050' });
    stop();
    leadership.advertise({ grpc: 'm2:5053', http: 'm2:5050' });
    expect(changes).toEqual([
      { isLeader: true, epoch: 8, leaderAddress: '', leaderHttpAddress: '' },
      { isLeader: true, epoch: 8, leaderAddress: 'm1:5053', leaderHttpAddress: 'm1:5050' },
    ]);
    expect(leadership.leaderAddress).toBe('m2:5053');
    expect(await leadership.masters()).toEqual([{ grpc: 'm2:5053', http: 'm2:5050', isLeader: true, epoch: 8 }]);
  });

  it('is deposed in the store when another master starts on it: its raises are refused', async () => {
    const data = new MemoryStoreData();
    const first = await started(data);
    const second = await started(data);
    expect(second.term).toBeGreaterThan(first.term);
    await expect(first.raiseEpochAbove(100)).rejects.toThrow(/another master began term/);
  });
});

describe('/v2/leader and /v2/info read the Leadership', () => {
  const facts = (leadership: Pick<Leadership, 'isLeader' | 'epoch' | 'leaderAddress' | 'leaderHttpAddress'>) => ({
    grpcAddress: 'me:5053',
    leadership: { ...leadership, masters: async () => [] },
    ha: true,
    startedAt: 0,
    storeKind: 'memory',
    httpAddress: () => 'me:5050',
    https: false,
  });

  it.each([
    { name: 'the leader names itself', leadership: { isLeader: true, epoch: 3, leaderAddress: 'me:5053', leaderHttpAddress: '' }, leader: { status: 200, body: { leader: 'me:5050' } }, info: { elected: true, leader: 'me:5050' } },
    {
      name: 'a standby names the leader, as Marathon does',
      leadership: { isLeader: false, epoch: 0, leaderAddress: 'other:5053', leaderHttpAddress: 'other:5050' },
      leader: { status: 200, body: { leader: 'other:5050' } },
      info: { elected: false, leader: 'other:5050', marathon_config: { ha: true } },
    },
    {
      name: 'a standby that knows no leader answers 404, as Marathon does',
      leadership: { isLeader: false, epoch: 0, leaderAddress: '', leaderHttpAddress: '' },
      leader: { status: 404, body: { message: 'There is no leader' } },
      info: { elected: false, leader: null },
    },
  ])('$name', async ({ leadership, leader, info }) => {
    const app = Fastify();
    app.setErrorHandler((e, _req, reply) => {
      const { status, body } = marathonErrorReply(e);
      return reply.status(status).send(body);
    });
    await app.register(async (v2) => serverRoutes(v2, facts(leadership)), { prefix: '/v2' });
    const l = await app.inject({ method: 'GET', url: '/v2/leader' });
    expect({ status: l.statusCode, body: l.json() }).toMatchObject(leader);
    const i = await app.inject({ method: 'GET', url: '/v2/info' });
    expect(i.json()).toMatchObject({ ...info, drover: { epoch: leadership.epoch } });
    await app.close();
  });
});
