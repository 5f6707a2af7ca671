import { Code, DroverError } from '@drover/common';
import type { Event, WatchEventsRequest } from '@drover/proto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENT_TYPES } from '../options/event-types.js';
import { type FakeMaster, startFakeMaster } from '../testing/fake-master.js';
import { agentLostEvent, events } from '../testing/fixtures.js';
import { run } from '../testing/run-cli.js';

const all: Event[] = [...Object.values(events), agentLostEvent];
const lines = [
  '2025-06-01T11:59:30.000Z status_update_event web.11111111-1111-1111-1111-111111111111 RUNNING on node1',
  '2025-06-01T11:59:40.000Z health_status_changed_event shop.55555555-5555-5555-5555-555555555555 unhealthy: HTTP 503 from /health',
  '2025-06-01T11:59:45.000Z unhealthy_task_kill_event shop.55555555-5555-5555-5555-555555555555 killed after failing health checks: HTTP 503 from /health',
  '2025-06-01T11:59:50.000Z deployment_info 11111111-dddd-dddd-dddd-dddddddddddd UPDATE /shop RUNNING 4/6 healthy, 2 old',
  '2025-06-01T11:59:55.000Z api_post_event /shop version 2025-06-01T11:58:00.000Z',
  '2025-06-01T11:59:56.000Z app_terminated_event /old deleted',
  '2025-06-01T11:59:57.000Z agent_lost_event agent-2 node2 LOST',
];

/** How the fake feed behaves, chosen by the request's afterId (the tests' only lever on a Watch call)... */
const FEED = { follow: 0, ends: 900, failsLater: 902 } as const;
/** ...or, to fail before any event without an afterId, by asking for this type. */
const FAILS_AT_ONCE = 'agent_drain_event';

describe('drover events', () => {
  let master: FakeMaster;
  /** Resolves once the fake master has sent every event of a feed that stays open. */
  let sentAll: Promise<void>;
  let markSent: () => void = () => undefined;
  const cli = (...argv: string[]) => run(['--master', master.address, ...argv]);
  /** Ctrl-C once the feed was sent (and had time to print). */
  const ctrlC = { waitForStop: () => sentAll.then(() => new Promise<string>((resolve) => setTimeout(() => resolve('SIGINT'), 100))) };

  beforeAll(async () => {
    master = await startFakeMaster({
      'events.watch': (req: WatchEventsRequest) => {
        if (req.types.includes(FAILS_AT_ONCE)) throw new DroverError('not the leader', Code.FailedPrecondition);
        switch (req.afterId) {
          case FEED.ends:
            return all;
          case FEED.failsLater:
            return (async function* () {
              yield all[0];
              throw new DroverError('the master is shutting down', Code.Internal);
            })();
          default:
            return (async function* () {
              yield* all;
              markSent();
              await new Promise(() => undefined);
            })();
        }
      },
    });
  });

  afterAll(() => master.stop());

  const follow = (): void => {
    sentAll = new Promise<void>((resolve) => (markSent = resolve));
  };

  it('prints one line per event until Ctrl-C, then exits 0 and ends the stream', async () => {
    follow();
    expect(await run(['--master', master.address, 'events'], { runtime: ctrlC })).toEqual({ code: 0, stdout: `${lines.join('\n')}\n`, stderr: '' });
    await vi.waitFor(() => expect(master.canceled).toContain('events.watch'));
  });

  it('--json prints one JSON object per line', async () => {
    follow();
    const result = await run(['--master', master.address, 'events', '--json'], { runtime: ctrlC });
    expect(result.code).toBe(0);
    const printed = result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(printed).toHaveLength(all.length);
    expect(printed[0]).toEqual({
      id: 41,
      timestamp: '2025-06-01T11:59:30.000Z',
      type: 'status_update_event',
      taskStatus: { task: expect.objectContaining({ id: events.taskStatus.payload?.$case === 'taskStatus' ? events.taskStatus.payload.value.task?.id : '', state: 'TASK_STATE_RUNNING' }) },
    });
    expect(printed[3]).toMatchObject({ type: 'deployment_info', deployment: { deployment: { kind: 'DEPLOYMENT_KIND_UPDATE' } } });
  });

  it('sends --type (repeatable, comma-separated) and --after', async () => {
    follow();
    await run(['--master', master.address, 'events', '--type', 'deployment_info,deployment_success', '--type', 'status_update_event', '--after', '7'], { runtime: ctrlC });
    expect(master.calls.at(-1)).toEqual(['events.watch', { types: ['deployment_info', 'deployment_success', 'status_update_event'], afterId: 7 }]);
  });

  it.each([
    {
      name: 'the master ends the feed: exit 1 with how to resume',
      argv: ['events', '--after', String(FEED.ends)],
      code: 1,
      stdout: `${lines.join('\n')}\n`,
      stderr: 'error: the master ended the event feed\nhint: resume with drover events --after 47\n',
    },
    {
      name: 'the feed fails after some events: exit 1 with how to resume, keeping --type',
      argv: ['events', '--after', String(FEED.failsLater), '--type', 'status_update_event'],
      code: 1,
      stdout: `${lines[0]}\n`,
      stderr: 'error: the master is shutting down\nhint: resume with drover events --after 41 --type status_update_event\n',
    },
    {
      name: 'the feed fails before any event: the error alone',
      argv: ['events', '--type', FAILS_AT_ONCE],
      code: 1,
      stdout: '',
      stderr: 'error: not the leader\n',
    },
    {
      name: 'an unknown --type is refused',
      argv: ['events', '--type', 'status_update'],
      code: 2,
      stdout: '',
      stderr: `error: option '--type <type>' argument 'status_update' is invalid. unknown event type "status_update": expected one of ${EVENT_TYPES.join(', ')}\n`,
    },
    {
      name: 'a bad --after is refused',
      argv: ['events', '--after', 'last'],
      code: 2,
      stdout: '',
      stderr: "error: option '--after <id>' argument 'last' is invalid. bad count \"last\": expected a whole number, 0 or more\n",
    },
  ])('$name', async ({ argv, code, stdout, stderr }) => {
    expect(await cli(...argv)).toEqual({ code, stdout, stderr });
  });
});
