import { Code } from './code.js';
import { DroverError } from './drover-error.js';

/** One problem with one field of a request. */
export interface FieldViolation {
  /** Path in the user's vocabulary, for example "portDefinitions[1].port"; "" for the whole document. */
  readonly path: string;
  /** What is wrong, in a short sentence without a trailing period. */
  readonly message: string;
}

/**
 * A request was invalid. Carries every problem found, not just the first, so
 * a user fixes a spec in one round trip.
 */
export class ValidationError extends DroverError {
  override name = 'ValidationError';
  constructor(
    /** Every problem, in document order. */
    readonly violations: readonly FieldViolation[],
    summary = 'invalid request',
  ) {
    super(`${summary}: ${violations.map(formatViolation).join('; ')}`, Code.InvalidArgument, {
      details: violations,
    });
  }
}

/** "portDefinitions[1].port: must be at most 65535" */
export function formatViolation(v: FieldViolation): string {
  return v.path === '' ? v.message : `${v.path}: ${v.message}`;
}

/** Joins path segments the way users write them: a.b[0].c */
export function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? String(s) : `.${String(s)}`;
  }
  return out;
}
