/**
 * Agent attributes from the command line: "rack=r1,zone=a". Constraints
 * match on these, so a typo must fail loudly at startup rather than make an
 * agent silently unplaceable.
 */
import { Code, DroverError } from '@drover/common';

const KEY = /^[A-Za-z0-9_.-]+$/;

/** Parses "k=v,k2=v2" into a map; throws InvalidArgument naming the bad pair. */
export function parseAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq).trim();
    const value = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (eq < 0 || value === '') throw bad(`"${pair}" has no value: expected key=value`);
    if (!KEY.test(key)) throw bad(`"${key}" is not a valid attribute name: use letters, digits, ".", "_" and "-"`);
    if (Object.hasOwn(out, key)) throw bad(`"${key}" is given twice`);
    out[key] = value;
  }
  return out;
}

function bad(message: string): DroverError {
  return new DroverError(`bad attributes: ${message}`, Code.InvalidArgument);
}
