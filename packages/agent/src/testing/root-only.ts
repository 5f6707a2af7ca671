/**
 * Gates for tests that depend on the machine, each stating what it needs:
 *
 * - describeAsRoot: root (chown, running as another user).
 * - describeWithCgroups: root and cgroups the agent can use: v1 with the
 *   memory, cpu and pids hierarchies, or v2 whose tree offers those
 *   controllers and lets the agent enable them for its own subtree (not the
 *   case, for example, inside a cgroup namespace whose root holds processes).
 *   Where the shell itself sits (a nested memory cgroup on v1, a slice on v2)
 *   does not matter: the agent's cgroups hang off each hierarchy's root.
 *
 * Off CI a test whose needs are not met is skipped, printing why. Under
 * CI=true it always runs, and fails at once with the reason, so a CI machine
 * that lost what the test needs cannot pass by skipping. Not exported from
 * the package index.
 */
import { IS_ROOT, describeGated } from '@drover/common/testing';
import { detectIsolation } from '../isolation/cgroup-detect.js';
import { captureLogger } from './capture-logger.js';

/** Why this machine cannot run cgroup tests, or undefined when it can. */
async function cgroupsUnavailableReason(): Promise<string | undefined> {
  if (!IS_ROOT) return 'it needs root to create cgroups';
  const { logger, entries } = captureLogger();
  const isolator = await detectIsolation({ parent: `drover/test-probe-${process.pid}`, logger });
  await isolator.close();
  if (isolator.kind !== 'none') return undefined;
  const reasons = entries.find((e) => e.level === 'warn')?.fields.reasons;
  return `no usable cgroups on this machine (${Array.isArray(reasons) ? reasons.join('; ') : 'unknown reason'})`;
}

const cgroupsUnavailable = await cgroupsUnavailableReason();

/** describe() for tests that need root; skipped with a printed reason when not root, outside CI. */
export function describeAsRoot(name: string, body: () => void): void {
  describeGated(name, IS_ROOT ? undefined : 'it needs root (chown, other users); run as root or set CI=true', body);
}

/** describe() for tests that need real cgroups (see the top of this file). */
export function describeWithCgroups(name: string, body: () => void): void {
  describeGated(name, cgroupsUnavailable, body);
}
