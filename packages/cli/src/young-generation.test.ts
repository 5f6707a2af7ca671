/**
 * holdYoungGeneration in a process of its own (V8 flags are per process):
 * while held, allocating garbage that survives a while does not grow the
 * semi-spaces; once released, the same allocation does. The second half is
 * what tells a Node upgrade that stopped reading the flag at run time.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Runs in the child: new space size (MiB) before the hold, after churn while held, and after churn once released. */
const CHILD = `
  const { default: v8 } = await import('node:v8');
  const { holdYoungGeneration } = await import(${JSON.stringify(`${here}young-generation.ts`)});
  const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
  const churn = () => { let keep = []; for (let i = 0; i < 1_000_000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 50_000) keep = []; } };
  const before = newSpace();
  const release = holdYoungGeneration();
  churn();
  const held = newSpace();
  release();
  churn();
  console.log(JSON.stringify({ before, held, released: newSpace() }));
`;

describe('holdYoungGeneration', () => {
  it('keeps the semi-spaces at their start size while held, and lets them grow once released', () => {
    const tsx = fileURLToPath(import.meta.resolve('tsx'));
    const child = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', CHILD], { encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    const { before, held, released } = JSON.parse(child.stdout) as { before: number; held: number; released: number };
    expect(held).toBeLessThanOrEqual(before);
    expect(released).toBeGreaterThan(held);
  });
});
