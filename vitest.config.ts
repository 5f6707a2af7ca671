import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages from source, so `vitest` needs no build;
// only the multi-process e2e scenarios run the built `drover` binary.
const packages = ['proto', 'common', 'scheduler', 'master', 'agent', 'client', 'cli'];
// Subpath exports first: an alias also matches as a path prefix.
const subpaths = {
  '@drover/common/version': 'packages/common/src/version.ts',
  // The shared test kit (etcd members, machine gates); tests only.
  '@drover/common/testing': 'packages/common/src/testing/index.ts',
};
const alias = [
  ...Object.entries(subpaths).map(([find, file]) => ({ find, replacement: path.resolve(import.meta.dirname, file) })),
  ...packages.map((p) => ({ find: `@drover/${p}`, replacement: path.resolve(import.meta.dirname, `packages/${p}/src/index.ts`) })),
];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'scripts/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'e2e',
          include: ['test-e2e/src/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Scenarios start real servers and processes: one file at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
