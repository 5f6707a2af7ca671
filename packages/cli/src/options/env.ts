/**
 * Environment variables on the command line: --env KEY=VALUE, repeatable.
 * The value is everything after the first "=" and may be empty or hold "="
 * itself; a key given twice is refused rather than silently overridden.
 */
import { Code, DroverError } from '@drover/common';

/** Adds one "KEY=VALUE" to the variables given so far; throws InvalidArgument naming the problem. */
export function addEnvVar(text: string, previous: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const eq = text.indexOf('=');
  if (eq < 0) throw bad(`"${text}" has no value: expected KEY=VALUE (KEY= for an empty value)`);
  const key = text.slice(0, eq);
  if (key === '' || /[\s\0]/.test(key)) throw bad(`"${key}" is not a valid name: it must be non-empty, without spaces`);
  if (previous !== undefined && Object.hasOwn(previous, key)) throw bad(`"${key}" is given twice`);
  return { ...previous, [key]: text.slice(eq + 1) };
}

function bad(message: string): DroverError {
  return new DroverError(`bad environment variable: ${message}`, Code.InvalidArgument);
}
