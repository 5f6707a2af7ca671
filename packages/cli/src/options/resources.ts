/**
 * What an agent offers, from the command line, overriding the probe:
 *
 *   cpus=2,mem=1024,disk=4096,gpus=0,ports=[31000-31999,33000-33100]
 *
 * Pairs are separated by commas, so several port ranges go in brackets (the
 * Mesos spelling); a single range may drop them: ports=31000-32000. A bare
 * "ports=31000-31999,33000" is refused rather than guessed at, because
 * "33000" would otherwise read as a key without a value. mem and disk are
 * MiB, as everywhere in Drover. Quote the whole value in a shell: brackets
 * are glob characters.
 */
import { Code, DroverError, type PortRange, parsePortRanges } from '@drover/common';

/** Resource totals given on the command line; only the keys that were given are set. */
export interface ResourceFlags {
  /** CPU cores. */
  cpus?: number;
  /** Memory, MiB. */
  mem?: number;
  /** Disk, MiB. */
  disk?: number;
  /** Whole GPUs. */
  gpus?: number;
  /** Host port ranges, sorted and merged. */
  ports?: PortRange[];
}

/** The syntax, for --help. */
export const RESOURCES_SYNTAX = 'cpus=N,mem=MiB,disk=MiB,gpus=N,ports=[A-B,C-D] (one range may drop the brackets: ports=31000-32000)';

type Key = keyof ResourceFlags;
const KEYS: readonly Key[] = ['cpus', 'mem', 'disk', 'gpus', 'ports'];

/** Parses the --resources value; throws InvalidArgument naming the bad part. */
export function parseResources(text: string): ResourceFlags {
  const out: ResourceFlags = {};
  for (const pair of splitTopLevel(text)) {
    const eq = pair.indexOf('=');
    if (eq < 0) {
      const hint = /^\d/.test(pair) ? ': to give several port ranges write ports=[A-B,C-D]' : ': expected key=value';
      throw bad(`"${pair}" has no value${hint}`);
    }
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!(KEYS as readonly string[]).includes(key)) throw bad(`unknown resource "${key}": expected one of ${KEYS.join(', ')}`);
    if (Object.hasOwn(out, key)) throw bad(`"${key}" is given twice`);
    if (key === 'ports') out.ports = parsePorts(value);
    else out[key as Exclude<Key, 'ports'>] = parseAmount(key as Exclude<Key, 'ports'>, value);
  }
  return out;
}

function parseAmount(key: Exclude<Key, 'ports'>, value: string): number {
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(value) ? Number(value) : NaN;
  if (Number.isNaN(n)) throw bad(`${key}=${value}: expected a number, 0 or more`);
  if (key === 'gpus' && !Number.isInteger(n)) throw bad(`gpus=${value}: expected a whole number`);
  return n;
}

function parsePorts(value: string): PortRange[] {
  const bracketed = /^\[(.*)\]$/.exec(value);
  const inner = bracketed ? (bracketed[1] as string) : value;
  if (!bracketed && /[[\]]/.test(value)) throw bad(`ports=${value}: unbalanced brackets, expected ports=[A-B,C-D]`);
  let ranges: PortRange[];
  try {
    ranges = parsePortRanges(inner);
  } catch (e) {
    throw e instanceof DroverError ? bad(`ports: ${e.rawMessage}`) : e;
  }
  if (ranges.length === 0) throw bad('ports is empty: expected ports=[A-B,C-D] or ports=A-B');
  return ranges;
}

/** Splits on commas outside brackets: "a=1,ports=[1-2,5]" -> ["a=1", "ports=[1-2,5]"]. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '[') depth++;
    if (ch === ']') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function bad(message: string): DroverError {
  return new DroverError(`bad resources: ${message}`, Code.InvalidArgument);
}
