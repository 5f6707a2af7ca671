/**
 * What a master does to the records it loads before using them, so that a
 * store written by an older master behaves like one written by this one.
 *
 * 1. Health check delays (once, for stores older than format 1). Older
 *    masters filled in delaySeconds 15 for every check that did not give
 *    one; Marathon, and Drover now, wait only for COMMAND (and MESOS_*)
 *    checks and probe HTTP, HTTPS and TCP at once. A stored spec cannot tell
 *    a 15 the user wrote from the 15 that was filled in (both are a plain
 *    15, and MESOS_HTTP was already stored as HTTP), so 15 on an HTTP, HTTPS
 *    or TCP check is taken as the old default and becomes 0, in every app
 *    and every stored version (rollbacks deploy versions). The cost of being
 *    wrong is small: such a check starts probing at once, and its grace
 *    period still keeps early failures from counting. Specs written from
 *    now on carry the resolved delay, so after this one upgrade (recorded
 *    as the store's format) a 15 is always the user's and is kept.
 *
 * 2. Out-of-range numbers (at every load): see stored-record-bounds.ts.
 *    Apps, versions, one-off tasks' specs and agents are clamped, each
 *    change logged at error level.
 *
 * Whatever changed is returned as mutations, for the caller to write back
 * with the new format in one transaction; a crash before that only means
 * the same upgrade runs again at the next start.
 */
import type { Logger } from '@drover/common';
import { type AppSpec, HealthCheckProtocol } from '@drover/proto';
import type { Mutation, StoredState } from './store.js';
import { type ClampedField, clampAgentResources, clampAppSpec } from './stored-record-bounds.js';

/**
 * The shape of what this master writes. 0: before formats were recorded
 * (health check delays defaulted to 15 for every protocol). 1: delays
 * resolved by protocol when a spec is accepted.
 */
export const STORE_FORMAT = 1;

/** The delay older masters filled in for every health check. */
const LEGACY_DEFAULT_DELAY_SECONDS = 15;

const PROBED_AT_ONCE = new Set([
  HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_UNSPECIFIED,
  HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP,
  HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTPS,
  HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_TCP,
]);

/** The loaded state, upgraded, and the writes that make the store match it. */
export interface UpgradedState {
  readonly state: StoredState;
  readonly rewrites: readonly Mutation[];
}

/** Upgrades `stored` (in stored.format) to STORE_FORMAT; see the file comment. */
export function upgradeStoredState(stored: StoredState, log: Logger): UpgradedState {
  const rewrites: Mutation[] = [];
  const legacyDelays = stored.format < 1;
  const upgradeSpec = (spec: AppSpec, what: Record<string, string>): AppSpec => {
    let out = spec;
    if (legacyDelays) {
      const delays = withoutLegacyDelays(out);
      if (delays !== out) log.info({ ...what, checks: delays.healthChecks.length }, 'health checks: the old default delay of 15 s on HTTP/HTTPS/TCP checks is now 0');
      out = delays;
    }
    const clamped = clampAppSpec(out);
    if (clamped.changed.length > 0) logClamped(log, what, clamped.changed);
    return clamped.spec;
  };

  const apps = stored.apps.map((app) => {
    const spec = upgradeSpec(app.spec, { appId: app.spec.id, version: app.version });
    if (spec === app.spec) return app;
    const upgraded = { ...app, spec };
    rewrites.push({ kind: 'putApp', app: upgraded });
    return upgraded;
  });
  const versions = stored.versions.map((v) => {
    const spec = upgradeSpec(v.spec, { appId: v.appId, version: v.version, record: 'version' });
    if (spec === v.spec) return v;
    const upgraded = { ...v, spec };
    rewrites.push({ kind: 'putVersion', version: upgraded });
    return upgraded;
  });
  const tasks = stored.tasks.map((task) => {
    if (task.runSpec === undefined) return task;
    const clamped = clampAppSpec(task.runSpec);
    if (clamped.changed.length === 0) return task;
    logClamped(log, { taskId: task.id }, clamped.changed);
    const upgraded = { ...task, runSpec: clamped.spec };
    rewrites.push({ kind: 'putTask', task: upgraded });
    return upgraded;
  });
  const agents = stored.agents.map((agent) => {
    const clamped = clampAgentResources(agent.total, agent.ports);
    if (clamped.changed.length === 0) return agent;
    logClamped(log, { agentId: agent.id, hostname: agent.hostname.slice(0, 253) }, clamped.changed);
    const upgraded = { ...agent, total: clamped.total, ports: clamped.ports };
    rewrites.push({ kind: 'putAgent', agent: upgraded });
    return upgraded;
  });
  return { state: { ...stored, format: Math.max(stored.format, STORE_FORMAT), apps, versions, tasks, agents }, rewrites };
}

/** The spec with 15 s delays on HTTP, HTTPS and TCP checks set to 0 (the same object when there are none). */
function withoutLegacyDelays(spec: AppSpec): AppSpec {
  const legacy = (h: AppSpec['healthChecks'][number]) => PROBED_AT_ONCE.has(h.protocol) && h.delaySeconds === LEGACY_DEFAULT_DELAY_SECONDS;
  if (!spec.healthChecks.some(legacy)) return spec;
  return { ...spec, healthChecks: spec.healthChecks.map((h) => (legacy(h) ? { ...h, delaySeconds: 0 } : h)) };
}

function logClamped(log: Logger, what: Record<string, string>, changed: readonly ClampedField[]): void {
  // Loud on purpose: the record held values no current master accepts, and
  // the clamped ones are now in force. The operator should look at it.
  log.error({ ...what, changed }, 'stored record had values out of range; clamped to the nearest accepted value');
}
