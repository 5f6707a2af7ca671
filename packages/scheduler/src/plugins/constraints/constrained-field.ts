/**
 * What every constraint plugin starts from: its constraint, the field's
 * value on an agent, and the rejections worded the same way for every
 * operator ("constraint rack GROUP_BY", "constraint zone LIKE a|b"), so an
 * explanation reads "2 agents: constraint hostname UNIQUE".
 */
import { Code, type Constraint, DroverError } from '@drover/common';
import { fieldValue } from '../../field-value.js';
import type { WorkingAgent } from '../../working-agent.js';
import type { FilterInput, Rejected } from '../plugin.js';

/** One constraint as its plugin sees it. */
export interface ConstrainedField {
  /** The constraint (validated when the app was submitted). */
  readonly constraint: Constraint;
  /** "constraint rack MAX_PER 2": the reason agents ruled out by it share. */
  readonly text: string;
  /** The rejection for agents lacking the attribute (only UNLIKE accepts them). */
  readonly missing: Rejected;
  /** The field's value on the agent; undefined when it lacks the attribute. */
  valueOn(agent: WorkingAgent): string | undefined;
  /** A rejection by this constraint, reason `text`. */
  rejection(code: Rejected['code'], detail?: string): Rejected;
}

/** The ConstrainedField of a constraint plugin's input; throws if the pass gave it no constraint. */
export function constrainedField(input: FilterInput): ConstrainedField {
  const constraint = input.constraint;
  if (!constraint) throw new DroverError('a constraint plugin was prepared without a constraint', Code.Internal);
  const { field, operator, value } = constraint;
  const text = `constraint ${field} ${operator}${value === undefined || value === '' ? '' : ` ${value}`}`;
  return {
    constraint,
    text,
    // Waiting cannot add an attribute to an agent.
    missing: Object.freeze({ code: 'unresolvable', reason: `no attribute ${field}`, detail: `for ${text}` }),
    valueOn: (agent) => fieldValue(agent.snapshot, field),
    rejection: (code, detail) => Object.freeze(detail === undefined ? { code, reason: text } : { code, reason: text, detail }),
  };
}

/** The constraint's value as the positive integer validation guaranteed (MAX_PER, GROUP_BY). */
export function positiveInteger(c: Constraint): number {
  const n = Number(c.value);
  if (!Number.isInteger(n) || n < 1) {
    throw new DroverError(`${c.field} ${c.operator} needs a positive integer, got "${c.value}"`, Code.InvalidArgument);
  }
  return n;
}

/** The constraint's required value; throws if validation let a missing one through. */
export function requiredValue(c: Constraint): string {
  if (c.value === undefined || c.value === '') {
    throw new DroverError(`${c.field} ${c.operator} needs a value`, Code.InvalidArgument);
  }
  return c.value;
}
