/**
 * The largest resource quantities Drover accepts, for one task and for one
 * machine alike (a task never gets more than one machine has). Marathon has
 * no such caps; Drover needs finite ones because totals are summed and
 * divided in fixed point (scalar-resources.ts keeps three decimals in a
 * double, exact only below 2^53 / 1000) and because an Infinity or NaN from
 * one agent would poison every placement. Each cap is far beyond any
 * machine sold today, so only a mistake or a hostile client meets it.
 */
import type { ScalarResources } from './scalar-resources.js';

/** Per task and per agent: 65,536 cores, 1 PiB of memory, 64 PiB of disk (both in MiB), 1,024 GPUs. */
export const RESOURCE_LIMITS: ScalarResources = Object.freeze({
  cpus: 65_536,
  mem: 2 ** 30,
  disk: 2 ** 36,
  gpus: 1024,
});
