/**
 * What the machine offers, probed once when the agent starts. Totals do not
 * change while the agent runs (operators restart it after resizing a
 * machine), so nothing here runs on a timer. CPU count and memory come from
 * systeminformation; disk is the size of the filesystem holding the work dir,
 * from one statfs call (cheaper than si.fsSize(), which runs df and parses
 * every mount). Operators override any total with ResourceOverrides.
 */
import { promises as fs } from 'node:fs';
import { fixed, normalizeRanges, type PortRange } from '@drover/common';
import type { Resources } from '@drover/proto';
import si from 'systeminformation';
import type { ResourceOverrides } from '../agent-options.js';

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
  const [cpu, mem, fsStats] = await Promise.all([si.cpu(), si.mem(), fs.statfs(workDir)]);
  return {
    cpus: cpu.cores,
    mem: Math.floor(mem.total / MiB),
    disk: Math.floor((fsStats.blocks * fsStats.bsize) / MiB),
  };
}

/** The totals to offer: probed values, each replaced by its override when given. */
export function offeredResources(probed: ProbedTotals, overrides: ResourceOverrides = {}): Resources {
  return {
    cpus: fixed(overrides.cpus ?? probed.cpus),
    mem: fixed(overrides.mem ?? probed.mem),
    disk: fixed(overrides.disk ?? probed.disk),
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
