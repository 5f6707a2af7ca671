/** How sandbox listings look in `drover task files`. */
import type { FileEntry } from '@drover/proto';
import { formatTable } from './table.js';

/**
 * A directory listing as a table: MODE as `ls -l` spells it, SIZE as
 * `ls -lh` does (exact bytes below 1 KiB), MODIFIED in UTC to the second,
 * and PATH relative to the sandbox.
 */
export function formatFileTable(entries: readonly FileEntry[]): string {
  return formatTable(
    ['mode', 'size', 'modified', 'path'],
    entries.map((e) => [modeString(e), formatSize(e.size), formatModified(e.modifiedAt), e.isDirectory ? `${e.path}/` : e.path]),
  );
}

/** "drwxr-xr-x", "-rw-r--r--". */
export function modeString(entry: Pick<FileEntry, 'mode' | 'isDirectory'>): string {
  const bits = 'rwxrwxrwx';
  let out = entry.isDirectory ? 'd' : '-';
  for (let i = 0; i < 9; i++) out += entry.mode & (1 << (8 - i)) ? bits[i] : '-';
  return out;
}

/** 512, 1.5K, 10M, 2.0G: one decimal below 10 of a unit, none above. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return String(bytes);
  const units = ['K', 'M', 'G', 'T', 'P'];
  let value = bytes;
  let unit = '';
  for (const u of units) {
    value /= 1024;
    unit = u;
    if (value < 1024) break;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value).toString()}${unit}`;
}

/** "2025-06-01T12:00:00Z", or "-" when unknown. */
function formatModified(at: Date | undefined): string {
  return at === undefined ? '-' : `${at.toISOString().slice(0, 19)}Z`;
}
