import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@drover/common';
import { afterEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_FILE } from './sandbox.js';
import { SandboxCollector } from './sandbox-collector.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const DAY = 24 * 3600 * 1000;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

interface Planned {
  /** Bytes of its stdout. */
  bytes: number;
  /** Days since anything in it changed. */
  ageDays: number;
  /** Tracked by the task manager. */
  tracked?: boolean;
  /** Holds a checkpoint (not yet forgotten). */
  checkpoint?: boolean;
}

/** A tasks dir with the planned sandboxes, every file dated `ageDays` back. */
function tasksDirWith(plan: Record<string, Planned>): string {
  const tasksDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-gc-'));
  dirs.push(tasksDir);
  for (const [id, p] of Object.entries(plan)) {
    const dir = path.join(tasksDir, id);
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'stdout'), Buffer.alloc(p.bytes, 'x'));
    if (p.checkpoint) fs.writeFileSync(path.join(dir, CHECKPOINT_FILE), '{}');
    const at = new Date(NOW - p.ageDays * DAY);
    for (const f of [path.join(dir, 'stdout'), path.join(dir, 'data'), dir, ...(p.checkpoint ? [path.join(dir, CHECKPOINT_FILE)] : [])]) {
      fs.utimesSync(f, at, at);
    }
  }
  return tasksDir;
}

function collector(tasksDir: string, plan: Record<string, Planned>, maxTotalBytes = 1_000_000): SandboxCollector {
  return new SandboxCollector({
    tasksDir,
    isTracked: (id) => plan[id]?.tracked === true,
    maxAgeMs: 7 * DAY,
    maxTotalBytes,
    now: () => NOW,
    logger: silentLogger(),
  });
}

describe('SandboxCollector', () => {
  it.each<{ name: string; plan: Record<string, Planned>; maxTotalBytes: number; removed: string[] }>([
    {
      name: 'removes finished sandboxes older than the age limit, keeps younger ones',
      plan: { 'old.1': { bytes: 10, ageDays: 8 }, 'young.2': { bytes: 10, ageDays: 6 } },
      maxTotalBytes: 1_000_000,
      removed: ['old.1'],
    },
    {
      name: 'never removes a tracked (live) task, however old',
      plan: { 'live.1': { bytes: 10, ageDays: 30, tracked: true } },
      maxTotalBytes: 1_000_000,
      removed: [],
    },
    {
      name: 'never removes a sandbox that still holds a checkpoint',
      plan: { 'unacked.1': { bytes: 10, ageDays: 30, checkpoint: true } },
      maxTotalBytes: 1_000_000,
      removed: [],
    },
    {
      name: 'over the total, removes the oldest finished first until it fits',
      plan: {
        'a.1': { bytes: 400, ageDays: 3 },
        'b.2': { bytes: 400, ageDays: 2 },
        'c.3': { bytes: 400, ageDays: 1 },
        'live.4': { bytes: 400, ageDays: 5, tracked: true },
      },
      maxTotalBytes: 1000,
      removed: ['a.1', 'b.2'],
    },
    {
      name: 'live sandboxes count towards the total but stay, even when they alone exceed it',
      plan: { 'live.1': { bytes: 5000, ageDays: 1, tracked: true }, 'done.2': { bytes: 10, ageDays: 1 } },
      maxTotalBytes: 1000,
      removed: ['done.2'],
    },
  ])('$name', async ({ plan, maxTotalBytes, removed }) => {
    const tasksDir = tasksDirWith(plan);
    const result = await collector(tasksDir, plan, maxTotalBytes).collect();
    expect(result.removed).toEqual(removed);
    expect(fs.readdirSync(tasksDir).sort()).toEqual(Object.keys(plan).filter((id) => !removed.includes(id)).sort());
  });

  it('leaves symlinks in the tasks dir and what they point to alone', async () => {
    const tasksDir = tasksDirWith({ 'old.1': { bytes: 10, ageDays: 30 } });
    const precious = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-precious-'));
    dirs.push(precious);
    fs.writeFileSync(path.join(precious, 'keep'), 'keep');
    fs.symlinkSync(precious, path.join(tasksDir, 'link.2'));
    // A finished sandbox with a symlink out: removing it removes the link only.
    fs.symlinkSync(precious, path.join(tasksDir, 'old.1', 'out'));
    const then = new Date(NOW - 30 * DAY);
    fs.lutimesSync(path.join(tasksDir, 'old.1', 'out'), then, then);
    fs.utimesSync(path.join(tasksDir, 'old.1'), then, then);
    const result = await collector(tasksDir, {}).collect();
    expect(result.removed).toEqual(['old.1']);
    expect(fs.readFileSync(path.join(precious, 'keep'), 'utf8')).toBe('keep');
    expect(fs.readdirSync(tasksDir)).toEqual(['link.2']);
  });

  it('asks whether a task is tracked again right before removing it', async () => {
    const plan: Record<string, Planned> = { 'old.1': { bytes: 10, ageDays: 30 } };
    const tasksDir = tasksDirWith(plan);
    let asked = 0;
    const gc = new SandboxCollector({
      tasksDir,
      // Finished while measuring, relaunched (tracked) by the time of removal.
      isTracked: () => ++asked > 1,
      maxAgeMs: 7 * DAY,
      now: () => NOW,
      logger: silentLogger(),
    });
    expect((await gc.collect()).removed).toEqual([]);
    expect(fs.existsSync(path.join(tasksDir, 'old.1'))).toBe(true);
  });
});
