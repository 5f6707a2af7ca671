/**
 * Process identity from /proc/<pid>/stat. A pid alone does not name a
 * process for long: once it exits, the kernel may hand the number to a new
 * one. The start time (field 22, clock ticks since boot) does not change for
 * a process's whole life, so (pid, start time) names exactly one process,
 * which is what a checkpoint records and what recovery compares.
 *
 * /proc is read synchronously: procfs is the kernel's memory, a read takes
 * microseconds, and a promise-based read costs about ten times that in CPU.
 */
import { readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat the agent uses. */
export interface ProcStat {
  /** One-letter state: R, S, D, Z (zombie), T, ... */
  readonly state: string;
  /** Process group id. */
  readonly pgrp: number;
  /** Start time in clock ticks after boot (field 22). */
  readonly startTime: number;
}

/** Parses the text of /proc/<pid>/stat; undefined when malformed. */
export function parseProcStat(text: string): ProcStat | undefined {
  // Field 2 (comm) is in parentheses and may itself hold spaces and ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 1).trim().split(/\s+/);
  // fields[0] is field 3 of the man page, so field N is fields[N - 3].
  const state = fields[0];
  const pgrp = Number(fields[2]);
  const startTime = Number(fields[19]);
  if (state === undefined || !Number.isInteger(pgrp) || !Number.isInteger(startTime)) return undefined;
  return { state, pgrp, startTime };
}

/** The stat of a live or zombie process; undefined when there is no such pid (or no /proc). */
export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  return readProcStatSync(pid);
}

/**
 * Synchronous readProcStat, for the moment right after a spawn: reading
 * without yielding to the event loop means the child cannot have been reaped
 * yet, so its entry is still there even if it already exited.
 */
export function readProcStatSync(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** True when `pid` is the very process that started at `startTime` and has not exited. */
export async function isProcessAlive(pid: number, startTime: number | undefined): Promise<boolean> {
  if (pid <= 0) return false;
  const stat = await readProcStat(pid);
  if (stat === undefined) {
    // No /proc entry: either gone, or no procfs at all (then trust kill -0).
    return startTime === undefined && signalZero(pid);
  }
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

function signalZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
