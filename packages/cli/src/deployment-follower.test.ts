import { DroverClient } from '@drover/client';
import { Code, DroverError, NotFoundError } from '@drover/common';
import { type Deployment, DeploymentState, type Event } from '@drover/proto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { followDeployment } from './deployment-follower.js';
import { type FakeHandlers, type FakeMaster, startFakeMaster } from './testing/fake-master.js';
import { deploymentEvent, healthyTask, NOW, shopUpdateAt, taskEvent, webScale } from './testing/fixtures.js';

const POLL_MS = 20;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const done = (newHealthy: number): Deployment => shopUpdateAt(newHealthy, 0, { state: DeploymentState.DEPLOYMENT_STATE_SUCCEEDED, endedAt: NOW });
/** "4/2" for 4 new healthy, 2 old: what a test compares. */
const numbers = (d: Deployment): string => `${d.progress?.newHealthy}/${d.progress?.oldRemaining}${d.state === DeploymentState.DEPLOYMENT_STATE_RUNNING ? '' : ' ended'}`;

describe('followDeployment', () => {
  let master: FakeMaster | undefined;
  let client: DroverClient | undefined;

  const start = async (handlers: FakeHandlers): Promise<DroverClient> => {
    master = await startFakeMaster(handlers);
    client = new DroverClient(master.address);
    return client;
  };

  afterEach(() => {
    client?.close();
    master?.stop();
  });

  it('polls when the master has no event feed, until the deployment ended', async () => {
    const answers = [shopUpdateAt(3, 3), shopUpdateAt(4, 2), shopUpdateAt(4, 2), done(6)];
    const c = await start({
      'events.watch': () => {
        throw new DroverError('unknown service drover.v1.Events', Code.Unimplemented);
      },
      'deployments.get': () => ({ deployment: answers.shift() ?? done(6) }),
    });
    const seen: string[] = [];
    const ended = await followDeployment(c, shopUpdateAt(3, 3), { onUpdate: (d) => seen.push(numbers(d)), pollMs: POLL_MS });
    expect(ended && numbers(ended)).toBe('6/0 ended');
    expect(seen).toEqual(['3/3', '4/2', '4/2', '6/0 ended']);
  });

  it('drops a poll answered after a deployment event, as older news', async () => {
    let first = true;
    const c = await start({
      // The first answer is slow and stale; later ones are what the feed said.
      'deployments.get': async () => {
        if (!first) return { deployment: shopUpdateAt(4, 2) };
        first = false;
        await sleep(150);
        return { deployment: shopUpdateAt(3, 3) };
      },
      'events.watch': async function* () {
        await sleep(30);
        yield deploymentEvent('deployment_info', shopUpdateAt(4, 2));
        await sleep(250);
        yield deploymentEvent('deployment_success', done(6));
      },
    });
    const seen: string[] = [];
    await followDeployment(c, shopUpdateAt(3, 3), { onUpdate: (d) => seen.push(numbers(d)), pollMs: 60_000 });
    expect(seen).toEqual(['4/2', '6/0 ended']);
  });

  it("asks for the deployment on a task event of its app, not of another app's", async () => {
    const c = await start({
      'deployments.get': () => ({ deployment: shopUpdateAt(5, 1) }),
      'events.watch': async function* (): AsyncGenerator<Event> {
        await sleep(30);
        yield taskEvent({ ...healthyTask, appId: '/other' });
        await sleep(30);
        yield taskEvent(healthyTask);
        await sleep(30);
        yield deploymentEvent('deployment_success', done(6));
      },
    });
    const seen: string[] = [];
    await followDeployment(c, shopUpdateAt(3, 3), { onUpdate: (d) => seen.push(numbers(d)), pollMs: 60_000 });
    // One poll right away, one for /shop's task event.
    expect(master?.calls.filter(([m]) => m === 'deployments.get')).toHaveLength(2);
    expect(seen).toEqual(['5/1', '5/1', '6/0 ended']);
  });

  it('resolves with undefined when aborted, and stops watching and polling', async () => {
    const c = await start({
      'deployments.get': () => ({ deployment: shopUpdateAt(3, 3) }),
      'events.watch': async function* () {
        await new Promise(() => undefined);
      },
    });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    expect(await followDeployment(c, shopUpdateAt(3, 3), { onUpdate: () => undefined, signal: stop.signal, pollMs: POLL_MS })).toBeUndefined();
    await vi.waitFor(() => expect(master?.canceled).toContain('events.watch'));
    const polls = master?.calls.length;
    await sleep(POLL_MS * 4);
    expect(master?.calls.length).toBe(polls);
  });

  it.each([
    {
      name: 'the deployment cannot be read',
      handlers: { 'deployments.get': (req: { id: string }) => Promise.reject(new NotFoundError('deployment', req.id)) },
      onUpdate: (): void => undefined,
      want: { code: Code.NotFound, rawMessage: `deployment ${shopUpdateAt(0, 0).id} not found` },
    },
    {
      name: 'onUpdate throws',
      handlers: { 'deployments.get': () => ({ deployment: shopUpdateAt(4, 2) }) },
      onUpdate: (): void => {
        throw new DroverError('cannot draw', Code.Internal);
      },
      want: { code: Code.Internal, rawMessage: 'cannot draw' },
    },
  ])('rejects when $name', async ({ handlers, onUpdate, want }) => {
    const c = await start(handlers);
    const err = await followDeployment(c, shopUpdateAt(3, 3), { onUpdate, pollMs: POLL_MS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverError);
    expect(err).toMatchObject(want);
  });

  it('resolves at once, asking nothing, for a deployment that already ended', async () => {
    const c = await start({});
    expect(await followDeployment(c, webScale, { onUpdate: () => undefined })).toBe(webScale);
    expect(master?.calls).toEqual([]);
  });
});
