/**
 * Gate for tests that need root: real cgroups, chown, running as another
 * user. They run as root and always in CI (where not being root is a setup
 * error that should fail loudly); elsewhere they are skipped, saying why.
 * Not exported from the package index.
 */
import { describe } from 'vitest';

/** True when root-only tests run here. */
export const ROOT_TESTS = process.getuid?.() === 0 || process.env.CI !== undefined;

/** describe() for tests that need root; skipped with a printed reason when not root and not in CI. */
export function describeAsRoot(name: string, body: () => void): void {
  if (ROOT_TESTS) {
    describe(name, body);
    return;
  }
  console.log(`skipping "${name}": it needs root (real cgroups, chown, other users); run as root or set CI`);
  describe.skip(name, body);
}
