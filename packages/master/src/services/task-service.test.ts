/** Listing tasks by app: an app filter that names nothing is an error, not an empty list. */
import { Code, DroverError } from '@drover/common';
import { AppSpec, RunTaskRequest, taskStateCodec } from '@drover/proto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CoreHarness, startCore } from '../testing/core-harness.js';

let h: CoreHarness;

afterEach(async () => {
  await h?.close();
});

/** Lets the store's writes and the orchestrator's passes (on setImmediate) finish. */
async function tick(): Promise<void> {
  await h.tick();
}

const spec = (id: string) => AppSpec.fromPartial({ id, cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 1 });

describe('TaskService.list with an app filter', () => {
  it.each(['nosuch', '/nosuch'])('is NotFound "no app /nosuch" for %s when neither the app nor any task of it exists', async (appId) => {
    h = await startCore();
    const err = (() => {
      try {
        h.core.tasks.list({ appId, includeEnded: true });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DroverError);
    expect(err).toMatchObject({ code: Code.NotFound, rawMessage: 'no app /nosuch' });
  });

  it('answers an empty list for an app that exists but has no task yet', async () => {
    h = await startCore();
    await h.core.apps.deploy(spec('/web'));
    expect(h.core.tasks.list({ appId: 'web' }).tasks).toEqual([]);
  });

  it("lists a deleted app's remembered ended tasks instead of failing", async () => {
    h = await startCore();
    const agent = await h.agent('a1');
    await h.core.apps.deploy(spec('/gone'));
    // The orchestrator spaces its passes by their cost, so a loaded machine
    // needs more than a few turns: wait for what the test needs, each time.
    const launched: string[] = [];
    await vi.waitFor(() => expect(launched.push(...agent.launched()) && launched).toHaveLength(1), { timeout: 10_000, interval: 10 });
    const [taskId] = launched;
    await agent.report(taskId as string, 'RUNNING');
    await h.core.apps.delete('/gone', true);
    // Kills are at least once: the same task may be told twice.
    const killed = new Set<string>();
    await vi.waitFor(
      async () => {
        for (const id of await agent.finishKills()) killed.add(id);
        expect([...killed]).toEqual([taskId]);
      },
      { timeout: 10_000, interval: 10 },
    );
    await tick();
    await vi.waitFor(() => expect(h.core.tasks.list({ appId: '/gone' }).tasks).toEqual([]), { timeout: 10_000, interval: 10 });
    expect(h.core.tasks.list({ appId: '/gone', includeEnded: true }).tasks.map((t) => t.id)).toEqual([taskId]);
  });

  it('lists every task without a filter, even with no app at all', async () => {
    h = await startCore();
    expect(h.core.tasks.list()).toEqual({ tasks: [], waiting: [] });
  });
});

describe('TaskService views', () => {
  it('answers every list and get with the current record: each change shows, a PENDING task says why it waits', async () => {
    h = await startCore();
    const agent = await h.agent('a1');
    await h.core.apps.deploy(spec('/web'));
    const launched: string[] = [];
    await vi.waitFor(() => expect(launched.push(...agent.launched()) && launched).toHaveLength(1), { timeout: 10_000, interval: 10 });
    const id = launched[0] as string;
    const stateOf = () => h.core.tasks.list({ appId: '/web', includeEnded: true }).tasks.map((t) => taskStateCodec.name(t.state));
    expect(stateOf()).toEqual(['STAGING']);
    await agent.report(id, 'RUNNING');
    expect(stateOf()).toEqual(['RUNNING']);
    expect(taskStateCodec.name(h.core.tasks.get(id).state)).toBe('RUNNING');
    // Asked twice without a change, the answer is the same.
    expect(h.core.tasks.get(id)).toEqual(h.core.tasks.get(id));
    await agent.report(id, 'FAILED');
    expect(stateOf()).toEqual(['FAILED']);
    expect(h.core.tasks.get(id)).toMatchObject({ endedAt: expect.any(Date) });
    // Too big for the agent: PENDING, and says why.
    const big = await h.core.tasks.run(RunTaskRequest.fromPartial({ args: ['true'], cpus: 64, mem: 1, name: 'big' }));
    expect(taskStateCodec.name(h.core.tasks.get(big.id).state)).toBe('PENDING');
    expect(h.core.tasks.get(big.id).waiting?.summary).toMatch(/cpus/);
  });
});
