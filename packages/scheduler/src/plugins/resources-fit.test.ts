import type { ScalarResources } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { agent, request, snapshot } from '../testing/builders.js';
import { preparedFilter } from '../testing/filter-harness.js';

describe('resources-fit', () => {
  it.each<{ name: string; need: Partial<ScalarResources>; total?: Partial<ScalarResources>; used?: Partial<ScalarResources>; code: string; reason?: string; measure?: object }>([
    { name: 'fits', need: { cpus: 1, mem: 512 }, code: 'schedulable' },
    { name: 'fits exactly', need: { cpus: 8, mem: 8192 }, code: 'schedulable' },
    { name: 'exact despite float error', need: { cpus: 0.3 }, total: { cpus: 0.3 }, code: 'schedulable' },
    { name: 'short of cpus now', need: { cpus: 2 }, used: { cpus: 7 }, code: 'unschedulable', reason: 'insufficient cpus', measure: { need: 2, have: 1, unit: 'cpus' } },
    { name: 'larger than the agent', need: { mem: 10_000 }, code: 'unresolvable', reason: 'insufficient mem', measure: { need: 10_000, have: 8192, unit: 'MiB' } },
    { name: 'cpus reported before mem', need: { cpus: 9, mem: 9000 }, code: 'unresolvable', reason: 'insufficient cpus' },
    { name: 'disk', need: { disk: 1 }, code: 'unresolvable', reason: 'insufficient disk', measure: { need: 1, have: 0, unit: 'MiB' } },
    { name: 'gpus', need: { gpus: 1 }, total: { gpus: 2 }, used: { gpus: 2 }, code: 'unschedulable', reason: 'insufficient gpus' },
  ])('$name', ({ need, total, used, code, reason, measure }) => {
    const snap = snapshot([agent('a', { total: { cpus: 8, mem: 8192, ...total }, used })]);
    const status = preparedFilter('resources-fit', snap, request('/web', 1, { resources: { cpus: 0, mem: 0, ...need } })).check('a');
    expect(status.code).toBe(code);
    if (reason) expect(status).toMatchObject({ reason });
    if (measure) expect(status).toMatchObject({ measure });
  });
});
