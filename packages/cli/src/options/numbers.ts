import { Code, DroverError } from '@drover/common';

/** Parses a TCP port for a listening flag; 0 means "pick a free one". */
export function parsePortNumber(text: string): number {
  const port = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new DroverError(`bad port "${text}": expected a number from 0 to 65535`, Code.InvalidArgument);
  }
  return port;
}

/** Parses a count such as an instance number: a whole number, 0 or more. */
export function parseCount(text: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) {
    throw new DroverError(`bad count "${text}": expected a whole number, 0 or more`, Code.InvalidArgument);
  }
  return n;
}

/** Parses a count that must be at least 1, such as a limit. */
export function parsePositiveCount(text: string): number {
  const n = parseCount(text);
  if (n === 0) throw new DroverError(`bad count "${text}": expected a whole number, 1 or more`, Code.InvalidArgument);
  return n;
}

/** Parses a resource amount such as cpus or MiB: a decimal number, 0 or more. */
export function parseAmount(text: string): number {
  const n = /^(\d+(\.\d+)?|\.\d+)$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(n)) throw new DroverError(`bad amount "${text}": expected a number, 0 or more`, Code.InvalidArgument);
  return n;
}
