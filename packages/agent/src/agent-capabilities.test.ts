import { silentLogger } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { collectCapabilities } from './agent-capabilities.js';

describe('collectCapabilities', () => {
  it.each([
    { name: 'nothing from no sources', sources: [], want: [] },
    {
      name: 'every source, merged, without repeats, sorted',
      sources: [() => ['isolation:cgroups-v1'], async () => ['docker', 'isolation:cgroups-v1']],
      want: ['docker', 'isolation:cgroups-v1'],
    },
    {
      name: 'nothing from a failing source, the rest still',
      sources: [
        () => {
          throw new Error('boom');
        },
        async () => Promise.reject(new Error('no')),
        () => ['isolation:none'],
      ],
      want: ['isolation:none'],
    },
  ])('collects $name', async ({ sources, want }) => {
    expect(await collectCapabilities(sources, silentLogger())).toEqual(want);
  });
});
