/**
 * A gate for tests that depend on the machine (root, cgroups, Docker, etcd,
 * network namespaces): each states what it needs, and
 *
 * - off CI, a test whose needs are not met is skipped, printing why;
 * - under CI=true it always runs and fails at once with the reason, so a CI
 *   machine that lost what the test needs cannot pass by skipping.
 *
 * Test-only: the testing folder is left out of the package build.
 */
import { beforeAll, describe } from 'vitest';
import { etcdUnavailableReason } from './etcd-cluster.js';

/** True under CI=true, where machine-dependent tests must run. */
export const IN_CI = process.env.CI === 'true';
/** True when running as root. */
export const IS_ROOT = process.getuid?.() === 0;

/**
 * describe() that runs `body` when `unavailable` is undefined; otherwise
 * skips it with the printed reason, or, under CI=true, fails it with that
 * reason.
 */
export function describeGated(name: string, unavailable: string | undefined, body: () => void): void {
  if (unavailable === undefined) {
    describe(name, body);
    return;
  }
  if (!IN_CI) {
    console.log(`skipping "${name}": ${unavailable}`);
    describe.skip(name, body);
    return;
  }
  describe(name, () => {
    beforeAll(() => {
      throw new Error(`"${name}" must run under CI=true but cannot: ${unavailable}`);
    });
    body();
  });
}

/** describe() for tests that need real etcd members (Debian's etcd-server). */
export function describeWithEtcd(name: string, body: () => void): void {
  describeGated(name, etcdUnavailableReason(), body);
}
