import { Code, DroverError } from '@drover/common';
import { ConstraintOperator } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { parseConstraint } from './constraints.js';

const { CONSTRAINT_OPERATOR_UNIQUE: UNIQUE, CONSTRAINT_OPERATOR_GROUP_BY: GROUP_BY, CONSTRAINT_OPERATOR_LIKE: LIKE, CONSTRAINT_OPERATOR_IS: IS } =
  ConstraintOperator;

describe('parseConstraint', () => {
  it.each([
    { name: 'an operator without value', text: 'hostname:UNIQUE', want: { field: 'hostname', operator: UNIQUE, value: '' } },
    { name: 'an optional value', text: 'rack:GROUP_BY:3', want: { field: 'rack', operator: GROUP_BY, value: '3' } },
    { name: 'a lower-case operator', text: 'rack:group_by', want: { field: 'rack', operator: GROUP_BY, value: '' } },
    { name: 'a value holding colons', text: 'host:LIKE:web-[0-9]+:80(80)?', want: { field: 'host', operator: LIKE, value: 'web-[0-9]+:80(80)?' } },
    { name: 'an empty value where none is needed', text: 'hostname:UNIQUE:', want: { field: 'hostname', operator: UNIQUE, value: '' } },
    { name: 'spaces kept in the value', text: 'role:IS:a b', want: { field: 'role', operator: IS, value: 'a b' } },
  ])('parses $name ($text)', ({ text, want }) => {
    expect(parseConstraint(text)).toEqual(want);
  });

  it.each([
    { name: 'no colon', text: 'hostname', message: 'expected FIELD:OPERATOR[:VALUE], for example hostname:UNIQUE or rack:IN:r1,r2' },
    { name: 'no field', text: ':UNIQUE', message: 'field must be a non-empty field name (hostname or an attribute)' },
    { name: 'an unknown operator', text: 'rack:NEAR', message: 'operator must be one of UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS, IN' },
    { name: 'a missing value', text: 'rack:IS', message: 'IS needs a value' },
    { name: 'a value where none is taken', text: 'hostname:UNIQUE:x', message: 'UNIQUE takes no value' },
    { name: 'a non-numeric MAX_PER', text: 'rack:MAX_PER:two', message: 'MAX_PER needs a positive integer, got "two"' },
    { name: 'an empty IN item', text: 'rack:IN:r1,,r2', message: 'value must be a comma-separated list without empty items' },
    { name: 'a bad regular expression', text: 'host:LIKE:(', message: expect.stringMatching(/^value is not a valid regular expression: /) },
  ])('rejects $name', ({ text, message }) => {
    let caught: unknown;
    try {
      parseConstraint(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DroverError);
    expect((caught as DroverError).code).toBe(Code.InvalidArgument);
    const prefix = `bad constraint "${text}": `;
    expect((caught as DroverError).rawMessage.startsWith(prefix)).toBe(true);
    expect((caught as DroverError).rawMessage.slice(prefix.length)).toEqual(message);
  });
});
