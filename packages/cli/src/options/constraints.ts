/**
 * Placement constraints on the command line, in the colon form `drover app
 * get` prints: FIELD:OPERATOR[:VALUE] (Marathon's [field, operator, value]).
 * Only the first two colons separate parts, so a value may hold colons of its
 * own (a LIKE regular expression, an IS value such as "10.0.0.1:80"). Each
 * constraint is checked with the rules the master applies, so a bad regex or
 * MAX_PER count fails here with the flag named, before anything is sent.
 */
import { CONSTRAINT_OPERATORS, Code, constraintProblems, constraintToProto, DroverError } from '@drover/common';
import type { Constraint } from '@drover/proto';

/** The syntax, for --help. */
export const CONSTRAINT_SYNTAX = `FIELD:OPERATOR[:VALUE] with OPERATOR one of ${CONSTRAINT_OPERATORS.join(', ')}`;

/** What each element of [field, operator, value] is called in messages. */
const PART_NAMES = ['field', 'operator', 'value'] as const;

/** Parses "hostname:UNIQUE", "rack:GROUP_BY:3", "host:LIKE:web-[0-9]+"; throws InvalidArgument saying what is wrong. */
export function parseConstraint(text: string): Constraint {
  const first = text.indexOf(':');
  if (first < 0) throw bad(text, 'expected FIELD:OPERATOR[:VALUE], for example hostname:UNIQUE or rack:IN:r1,r2');
  const second = text.indexOf(':', first + 1);
  const field = text.slice(0, first).trim();
  // Operators are upper case in Marathon's JSON; on a command line "unique" is as clear.
  const operator = text.slice(first + 1, second < 0 ? undefined : second).trim().toUpperCase();
  const raw = second < 0 ? [field, operator] : [field, operator, text.slice(second + 1)];
  const problems = constraintProblems(raw, '');
  if (problems.length > 0) throw bad(text, problems.map((p) => describe(p.path, p.message)).join('; '));
  return constraintToProto(raw);
}

/** "[1]" + "must be one of ..." -> "operator must be one of ...". */
function describe(path: string, message: string): string {
  const part = PART_NAMES[Number(/^\[(\d)\]$/.exec(path)?.[1])];
  return part !== undefined && /^(must|is) /.test(message) ? `${part} ${message}` : message;
}

function bad(text: string, message: string): DroverError {
  return new DroverError(`bad constraint "${text}": ${message}`, Code.InvalidArgument);
}
