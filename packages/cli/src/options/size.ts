/**
 * Byte sizes as people type them for limits: "10MiB", "512KiB", "20GiB",
 * with Docker's one-letter spellings ("10m", "1g") meaning the same binary
 * units. A bare number is refused, as for durations: "10" read as bytes
 * when MiB was meant makes a log rotate on every line.
 */
import { Code, DroverError } from '@drover/common';

const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
};
const SIZE = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)$/i;

/** Parses "10MiB", "1.5g", "4096b" into bytes (rounded down); throws InvalidArgument on anything else. */
export function parseSize(text: string): number {
  const m = SIZE.exec(text.trim());
  const unit = m ? UNIT_BYTES[(m[2] as string).toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes)) {
    throw new DroverError(`bad size "${text}": expected a number with a unit (B, KiB, MiB, GiB, TiB), for example 10MiB or 20GiB`, Code.InvalidArgument);
  }
  return bytes;
}
