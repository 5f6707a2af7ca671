/**
 * The rules of finding the leader, one table row per case: what each
 * master answers (in the order the client reaches them), and what the call
 * ends with. Real servers are exercised in test-e2e (standby-masters.test.ts);
 * here the answers are the errors fromGrpcError gives for them.
 */
import { Code, DroverError, NotLeaderError, UnreachableError } from '@drover/common';
import { credentials } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { MasterPool } from './master-pool.js';

const refused = (a: string) => new UnreachableError(a, 'connect ECONNREFUSED', 'refused', { neverSent: true });
const dropped = (a: string) => new UnreachableError(a, 'Connection dropped', 'closed', { neverSent: false });
type Answer = 'ok' | Error;

describe('MasterPool.run', () => {
  it.each<{ name: string; masters: string; changesNothing: boolean; answers: Record<string, Answer>; calls: string[]; result: 'ok' | Code; after: string }>([
    { name: 'the first master leads', masters: 'a,b', changesNothing: false, answers: { 'a:5053': 'ok' }, calls: ['a:5053'], result: 'ok', after: 'a:5053' },
    {
      name: 'a standby names the leader: the change is repeated there',
      masters: 'a,b,c',
      changesNothing: false,
      answers: { 'a:5053': new NotLeaderError('c:5053'), 'c:5053': 'ok' },
      calls: ['a:5053', 'c:5053'],
      result: 'ok',
      after: 'c:5053',
    },
    {
      name: 'a leader nobody listed is followed',
      masters: 'a',
      changesNothing: true,
      answers: { 'a:5053': new NotLeaderError('z:7000'), 'z:7000': 'ok' },
      calls: ['a:5053', 'z:7000'],
      result: 'ok',
      after: 'z:7000',
    },
    {
      name: 'a dead master, then a standby, then the leader',
      masters: 'dead,b,c',
      changesNothing: false,
      answers: { 'dead:5053': refused('dead:5053'), 'b:5053': new NotLeaderError('c:5053'), 'c:5053': 'ok' },
      calls: ['dead:5053', 'b:5053', 'c:5053'],
      result: 'ok',
      after: 'c:5053',
    },
    {
      name: 'a standby that knows no leader: the next master',
      masters: 'a,b',
      changesNothing: false,
      answers: { 'a:5053': new NotLeaderError(''), 'b:5053': 'ok' },
      calls: ['a:5053', 'b:5053'],
      result: 'ok',
      after: 'b:5053',
    },
    {
      name: 'a read whose connection broke goes to the next master',
      masters: 'a,b',
      changesNothing: true,
      answers: { 'a:5053': dropped('a:5053'), 'b:5053': 'ok' },
      calls: ['a:5053', 'b:5053'],
      result: 'ok',
      after: 'b:5053',
    },
    {
      name: 'a change whose connection broke is never repeated',
      masters: 'a,b',
      changesNothing: false,
      answers: { 'a:5053': dropped('a:5053'), 'b:5053': 'ok' },
      calls: ['a:5053'],
      result: Code.Unavailable,
      after: 'a:5053',
    },
    {
      name: 'a master shutting down cancels a read: the next master',
      masters: 'a,b',
      changesNothing: true,
      answers: { 'a:5053': new DroverError('Call cancelled', Code.Canceled), 'b:5053': 'ok' },
      calls: ['a:5053', 'b:5053'],
      result: 'ok',
      after: 'b:5053',
    },
    {
      name: 'a master shutting down cancels a change: surfaced',
      masters: 'a,b',
      changesNothing: false,
      answers: { 'a:5053': new DroverError('Call cancelled', Code.Canceled), 'b:5053': 'ok' },
      calls: ['a:5053'],
      result: Code.Canceled,
      after: 'a:5053',
    },
    {
      name: "a leader's answer is final",
      masters: 'a,b',
      changesNothing: true,
      answers: { 'a:5053': new DroverError('app x not found', Code.NotFound), 'b:5053': 'ok' },
      calls: ['a:5053'],
      result: Code.NotFound,
      after: 'a:5053',
    },
    {
      name: 'every master down: the last error',
      masters: 'a,b',
      changesNothing: true,
      answers: { 'a:5053': refused('a:5053'), 'b:5053': refused('b:5053') },
      calls: ['a:5053', 'b:5053'],
      result: Code.Unavailable,
      after: 'b:5053',
    },
    {
      name: 'two standbys naming each other: bounded, then the refusal',
      masters: 'a,b',
      changesNothing: false,
      answers: { 'a:5053': new NotLeaderError('b:5053'), 'b:5053': new NotLeaderError('a:5053') },
      calls: ['a:5053', 'b:5053', 'a:5053', 'b:5053'],
      result: Code.Unavailable,
      after: 'b:5053',
    },
  ])('$name', async ({ masters, changesNothing, answers, calls, result, after }) => {
    const pool = new MasterPool(masters, () => ({ credentials: credentials.createInsecure(), channelOptions: {} }));
    const seen: string[] = [];
    const outcome = await pool
      .run(changesNothing, async (m) => {
        seen.push(m.address);
        const answer = answers[m.address];
        if (answer === undefined) throw new Error(`called ${m.address}, which the case does not expect`);
        if (answer !== 'ok') throw answer;
        return 'ok' as const;
      })
      .catch((e: DroverError) => e.code);
    pool.close();
    expect({ seen, outcome, after: pool.current }).toEqual({ seen: calls, outcome: result, after });
  });
});
