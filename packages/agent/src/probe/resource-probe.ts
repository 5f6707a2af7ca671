/**
 * What the machine offers, probed once when the agent starts. Totals do not
 * change while the agent runs (operators restart it after resizing a
 * machine), so nothing here runs on a timer. CPU count and memory come from
 * machine-stats.ts; disk is the size of the filesystem holding the work dir,
 * from one statfs call (cheaper than running df and parsing every mount).
 * Operators override any total with ResourceOverrides.
 */
import { promises as fs } from 'node:fs';
import { fixed, normalizeRanges, type PortRange, RESOURCE_LIMITS } from '@drover/common';
import type { Resources } from '@drover/proto';
import type { ResourceOverrides } from '../agent-options.js';
import { cpuCores, memoryStats } from './machine-stats.js';

/** Host ports offered when the operator does not say: 31000-32000, as Mesos and Marathon. */
export const DEFAULT_PORT_RANGES: readonly PortRange[] = [{ begin: 31000, end: 32000 }];

const MiB = 1024 * 1024;

/** What the probe found on the machine, before overrides. */
export interface ProbedTotals {
  /** Logical CPU cores. */
  readonly cpus: number;
  /** Physical memory, MiB. */
  readonly mem: number;
  /** Size of the work dir's filesystem, MiB. */
  readonly disk: number;
}

/** Measures the machine once: cores, memory, and the work dir's filesystem. */
export async function probeMachine(workDir: string): Promise<ProbedTotals> {
  const [mem, fsStats] = await Promise.all([memoryStats(), fs.statfs(workDir)]);
  return {
    cpus: cpuCores(),
    mem: Math.floor(mem.total / MiB),
    disk: Math.floor((fsStats.blocks * fsStats.bsize) / MiB),
  };
}

/**
 * The totals to offer: probed values, each replaced by its override when
 * given. Probed values are capped at what a master accepts
 * (RESOURCE_LIMITS): a filesystem reporting exabytes (some network and
 * FUSE ones do) must not keep the agent from registering. An override past
 * a cap is the operator's and is sent as is, for the master to refuse
 * with the reason.
 */
export function offeredResources(probed: ProbedTotals, overrides: ResourceOverrides = {}): Resources {
  return {
    cpus: fixed(overrides.cpus ?? Math.min(probed.cpus, RESOURCE_LIMITS.cpus)),
    mem: fixed(overrides.mem ?? Math.min(probed.mem, RESOURCE_LIMITS.mem)),
    disk: fixed(overrides.disk ?? Math.min(probed.disk, RESOURCE_LIMITS.disk)),
    gpus: overrides.gpus ?? 0,
    ports: normalizeRanges(overrides.ports ?? DEFAULT_PORT_RANGES),
  };
}

/** Probes the machine (skipping what every override already covers) and applies the overrides. */
export async function probeResources(workDir: string, overrides: ResourceOverrides = {}): Promise<Resources> {
  const covered = overrides.cpus !== undefined && overrides.mem !== undefined && overrides.disk !== undefined;
  const probed = covered ? { cpus: 0, mem: 0, disk: 0 } : await probeMachine(workDir);
  return offeredResources(probed, overrides);
}
