/**
 * Placement constraints as users write them, `[field, OPERATOR, value?]`
 * (Marathon's form), checked operator by operator so that a bad regex or a
 * non-numeric MAX_PER is refused when the app is submitted, with the path of
 * the offending element, and never discovered later by the scheduler.
 */
import type { Constraint as ProtoConstraint, ConstraintOperatorName } from '@drover/proto';
import { constraintOperatorCodec } from '@drover/proto';
import type { FieldViolation } from '../errors/validation-error.js';
import { MAX_NAME_LENGTH, MAX_TEXT_LENGTH } from './app-spec-limits.js';
import { hasLoneSurrogate, LONE_SURROGATE_MESSAGE } from './unicode-text.js';

export type { ConstraintOperatorName };

/** One constraint in hand-written code. */
export interface Constraint {
  /** "hostname" or an agent attribute name. */
  readonly field: string;
  /** How to compare. */
  readonly operator: ConstraintOperatorName;
  /** Operand, when the operator takes one. */
  readonly value?: string;
}

/** Every operator, as Marathon spells them, plus IN. */
export const CONSTRAINT_OPERATORS: readonly ConstraintOperatorName[] = [
  'UNIQUE',
  'CLUSTER',
  'GROUP_BY',
  'LIKE',
  'UNLIKE',
  'MAX_PER',
  'IS',
  'IN',
];

type ValueRule = 'none' | 'optional' | 'required';

const VALUE_RULES: Record<ConstraintOperatorName, ValueRule> = {
  UNIQUE: 'none',
  CLUSTER: 'optional',
  GROUP_BY: 'optional',
  LIKE: 'required',
  UNLIKE: 'required',
  MAX_PER: 'required',
  IS: 'required',
  IN: 'required',
};

/** Problems with one `[field, operator, value?]` entry at `path` (e.g. "constraints[2]"). */
export function constraintProblems(raw: unknown, path: string): FieldViolation[] {
  if (!Array.isArray(raw) || raw.length < 2 || raw.length > 3) {
    return [{ path, message: 'must be [field, operator] or [field, operator, value]' }];
  }
  const [field, operator, value] = raw as unknown[];
  const out: FieldViolation[] = [];
  if (typeof field !== 'string' || field === '') out.push({ path: `${path}[0]`, message: 'must be a non-empty field name (hostname or an attribute)' });
  else if (field.length > MAX_NAME_LENGTH) out.push({ path: `${path}[0]`, message: `must be at most ${MAX_NAME_LENGTH} characters` });
  else if (hasLoneSurrogate(field)) out.push({ path: `${path}[0]`, message: LONE_SURROGATE_MESSAGE });
  if (typeof operator !== 'string' || !(CONSTRAINT_OPERATORS as readonly string[]).includes(operator)) {
    out.push({ path: `${path}[1]`, message: `must be one of ${CONSTRAINT_OPERATORS.join(', ')}` });
    return out;
  }
  const op = operator as ConstraintOperatorName;
  const valuePath = `${path}[2]`;
  if (value !== undefined && typeof value !== 'string') {
    out.push({ path: valuePath, message: 'must be a string' });
    return out;
  }
  // Checked before compiling it: a regex is matched against every agent on every placement.
  if (value !== undefined && value.length > MAX_TEXT_LENGTH) {
    out.push({ path: valuePath, message: `must be at most ${MAX_TEXT_LENGTH} characters` });
    return out;
  }
  if (value !== undefined && hasLoneSurrogate(value)) {
    out.push({ path: valuePath, message: LONE_SURROGATE_MESSAGE });
    return out;
  }
  const rule = VALUE_RULES[op];
  if (rule === 'none' && value !== undefined && value !== '') out.push({ path: valuePath, message: `${op} takes no value` });
  if (rule === 'required' && (value === undefined || value === '')) out.push({ path: valuePath, message: `${op} needs a value` });
  if (value === undefined || value === '') return out;
  switch (op) {
    case 'LIKE':
    case 'UNLIKE':
      try {
        new RegExp(`^(?:${value})$`);
      } catch (e) {
        out.push({ path: valuePath, message: `is not a valid regular expression: ${(e as Error).message}` });
      }
      break;
    case 'MAX_PER':
    case 'GROUP_BY':
      if (!/^[1-9]\d*$/.test(value)) out.push({ path: valuePath, message: `${op} needs a positive integer, got "${value}"` });
      break;
    case 'IN':
      if (value.split(',').some((v) => v.trim() === '')) out.push({ path: valuePath, message: 'must be a comma-separated list without empty items' });
      break;
    default:
      break;
  }
  return out;
}

/** The proto form of a validated `[field, operator, value?]`. */
export function constraintToProto(raw: readonly string[]): ProtoConstraint {
  return {
    field: raw[0] ?? '',
    operator: constraintOperatorCodec.value((raw[1] ?? '') as ConstraintOperatorName),
    value: raw[2] ?? '',
  };
}

/** The Marathon JSON form of a proto constraint. */
export function constraintToDefinition(c: ProtoConstraint): string[] {
  const op = constraintOperatorCodec.name(c.operator) ?? 'UNSPECIFIED';
  return c.value === '' ? [c.field, op] : [c.field, op, c.value];
}

/** The constraints of a validated spec in hand-written form. */
export function constraintsOf(constraints: readonly ProtoConstraint[]): Constraint[] {
  return constraints.map((c) => {
    const operator = constraintOperatorCodec.name(c.operator);
    if (operator === undefined) throw new Error(`unvalidated constraint operator ${c.operator}`);
    return c.value === '' ? { field: c.field, operator } : { field: c.field, operator, value: c.value };
  });
}

/** "hostname:UNIQUE", "rack:GROUP_BY:3" */
export function formatConstraint(c: Constraint): string {
  return c.value === undefined ? `${c.field}:${c.operator}` : `${c.field}:${c.operator}:${c.value}`;
}
