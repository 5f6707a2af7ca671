/**
 * Following one deployment until it ends, as promptly as the master allows
 * and without trusting any single source.
 *
 * - The event feed is the fast path: deployment events carry the whole
 *   deployment (started, failed, succeeded); task and health events of the
 *   app carry no deployment, but are when its progress moves, so each one
 *   triggers a getDeployment.
 * - Polling is the safety net. The watch starts after the change was made,
 *   so what happened in between is only seen by asking; a master without
 *   the Events service, or a feed that breaks, leaves only polling; and a
 *   getDeployment right away shows where it stands now.
 *
 * Answers can cross: a poll sent before a deployment event may be answered
 * after it, with older numbers. A poll's answer is therefore dropped when a
 * deployment event arrived while it was in flight (unless it says the
 * deployment ended, which is final either way). Polls never overlap; one
 * asked for meanwhile runs right after.
 */
import type { DroverClient } from '@drover/client';
import type { Deployment, Event } from '@drover/proto';
import { hasEnded } from './output/deployments.js';

/** How often the deployment is asked for when no event says it moved. */
export const POLL_INTERVAL_MS = 2_000;

/** Event types that can move a deployment along. */
export const DEPLOYMENT_EVENT_TYPES: readonly string[] = [
  'deployment_info',
  'deployment_step_success',
  'deployment_success',
  'deployment_failed',
  'deployment_rollback',
  'status_update_event',
  'health_status_changed_event',
  'unhealthy_task_kill_event',
];

/** How to follow. */
export interface FollowOptions {
  /** Called with every new view of the deployment, the last one being its end. */
  onUpdate(deployment: Deployment): void;
  /** Stops following (the deployment goes on). */
  signal?: AbortSignal;
  /** Milliseconds between polls; default POLL_INTERVAL_MS. */
  pollMs?: number;
}

/**
 * Follows `first` until it has ended and resolves with its final view;
 * resolves with undefined when `signal` aborts first. Rejects when the
 * master cannot say where it is (getDeployment fails) or onUpdate throws.
 */
export function followDeployment(client: DroverClient, first: Deployment, options: FollowOptions): Promise<Deployment | undefined> {
  if (hasEnded(first)) return Promise.resolve(first);
  const { signal } = options;
  if (signal?.aborted) return Promise.resolve(undefined);
  return new Promise<Deployment | undefined>((resolve, reject) => {
    const watch = new AbortController();
    let done = false;
    /** Counts deployment events, so a poll can tell that one arrived while it was in flight. */
    let eventsTaken = 0;
    let polling = false;
    let pollAgain = false;

    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
      watch.abort();
      settle();
    };
    const onAbort = (): void => finish(() => resolve(undefined));
    const take = (d: Deployment): void => {
      if (done) return;
      try {
        options.onUpdate(d);
      } catch (error) {
        finish(() => reject(error));
        return;
      }
      if (hasEnded(d)) finish(() => resolve(d));
    };
    const poll = (): void => {
      if (done) return;
      if (polling) {
        pollAgain = true;
        return;
      }
      polling = true;
      const asked = eventsTaken;
      client.getDeployment(first.id).then(
        (d) => {
          polling = false;
          if (asked === eventsTaken || hasEnded(d)) take(d);
          if (pollAgain) {
            pollAgain = false;
            poll();
          }
        },
        (error: unknown) => {
          polling = false;
          finish(() => reject(error));
        },
      );
    };
    const onEvent = (e: Event): void => {
      const p = e.payload;
      if (p?.$case === 'deployment') {
        if (p.value.deployment?.id !== first.id) return;
        eventsTaken++;
        take(p.value.deployment);
        return;
      }
      const task = p?.$case === 'taskStatus' || p?.$case === 'healthChanged' || p?.$case === 'unhealthyTaskKill' ? p.value.task : undefined;
      if (task?.appId === first.appId) poll();
    };

    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setInterval(poll, options.pollMs ?? POLL_INTERVAL_MS);
    // The feed only speeds things up: when it fails or ends, polling carries on.
    client.watchEvents({ types: DEPLOYMENT_EVENT_TYPES }, onEvent, watch.signal).catch(() => undefined);
    poll();
  });
}
