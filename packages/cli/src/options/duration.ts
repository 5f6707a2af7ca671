/**
 * Durations as people type them on a command line: "500ms", "10s", "5m",
 * "1h", or a sum like "1m30s" (Go's time.ParseDuration spelling, which
 * operators of Nomad and Kubernetes already know). A bare number is refused:
 * "10" could mean seconds or milliseconds, and guessing wrong is silent.
 */
import { Code, DroverError } from '@drover/common';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = String.raw`(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)`;
const WHOLE = new RegExp(`^(?:${PART})+$`);

/** Parses "10s", "500ms", "5m", "1m30s" into milliseconds; throws InvalidArgument on anything else. */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (!WHOLE.test(input)) {
    throw new DroverError(
      `bad duration "${text}": expected a number with a unit (ms, s, m, h), for example 500ms, 10s, 5m or 1m30s`,
      Code.InvalidArgument,
    );
  }
  let ms = 0;
  for (const m of input.matchAll(new RegExp(PART, 'g'))) ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return Math.round(ms);
}
