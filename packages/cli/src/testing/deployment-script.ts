/**
 * The deployment side of a fake master, for tests of commands that follow
 * a deployment: Deployments.Get answers with the latest state of each
 * deployment, and each Events.Watch call plays the next script of a
 * scenario (the first watch the first script, the second the second: a
 * command follows a deployment, then its rollback, each with its own
 * watch). A step may change a deployment's state without an event (as the
 * real master's progress moves with task events only) and wait for the
 * command to ask for it, so the output does not depend on timing.
 */
import { NotFoundError } from '@drover/common';
import type { Deployment, Event } from '@drover/proto';
import type { FakeHandlers } from './fake-master.js';

/** One step of a watch's script. */
export interface ScriptStep {
  /** The deployment's new state, as Deployments.Get answers from now on. */
  state?: Deployment;
  /** The event to stream (a deployment event also sets its deployment's state). */
  event?: Event;
  /** After streaming, wait until the command asked for a deployment (what a task event makes it do). */
  awaitPoll?: boolean;
}

/** Pause before each step, so the command has handled the previous one. */
const STEP_MS = 15;
/** Longest wait for a poll a step asked for; the test then fails on its output. */
const POLL_WAIT_MS = 2_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A scenario of deployments and events, replaced with play() before each test. */
export class DeploymentScript {
  private readonly latest = new Map<string, Deployment>();
  private scripts: ScriptStep[][] = [];
  private watches = 0;
  private polled: Array<() => void> = [];

  /** Starts a scenario: the deployments as they are now, then one script per Events.Watch call, in call order. */
  play(initial: readonly Deployment[], ...scripts: ScriptStep[][]): void {
    this.latest.clear();
    for (const d of initial) this.latest.set(d.id, d);
    this.scripts = scripts;
    this.watches = 0;
  }

  /** Handlers for Deployments.Get and Events.Watch, to merge into the fake master's. */
  handlers(): FakeHandlers {
    return {
      'deployments.get': (req: { id: string }) => {
        const deployment = this.latest.get(req.id);
        if (deployment === undefined) throw new NotFoundError('deployment', req.id);
        const waiting = this.polled;
        this.polled = [];
        // After answering: the step that waited goes on once the answer is on its way.
        setImmediate(() => waiting.forEach((resolve) => resolve()));
        return { deployment };
      },
      'events.watch': () => this.stream(this.scripts[this.watches++] ?? []),
    };
  }

  private async *stream(steps: readonly ScriptStep[]): AsyncGenerator<Event> {
    for (const step of steps) {
      await sleep(STEP_MS);
      if (step.state) this.latest.set(step.state.id, step.state);
      const sent = step.event?.payload?.$case === 'deployment' ? step.event.payload.value.deployment : undefined;
      if (sent) this.latest.set(sent.id, sent);
      const poll = step.awaitPoll ? new Promise<void>((resolve) => this.polled.push(resolve)) : undefined;
      if (step.event) yield step.event;
      if (poll) await Promise.race([poll, sleep(POLL_WAIT_MS)]);
    }
    // A real feed stays open: the command ends it.
    await new Promise(() => undefined);
  }
}
