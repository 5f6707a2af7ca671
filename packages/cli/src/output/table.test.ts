import { describe, expect, it } from 'vitest';
import { formatTable } from './table.js';

describe('formatTable', () => {
  it.each([
    {
      name: 'pads columns to the widest cell, upper-cases the header',
      header: ['id', 'state', 'host'],
      rows: [
        ['web.1', 'RUNNING', 'node1'],
        ['api.22', 'STAGING', 'n2'],
      ],
      want: ['ID       STATE     HOST', 'web.1    RUNNING   node1', 'api.22   STAGING   n2', ''].join('\n'),
    },
    {
      name: 'a header wider than every cell',
      header: ['last seen', 'x'],
      rows: [['2s', 'y']],
      want: ['LAST SEEN   X', '2s          y', ''].join('\n'),
    },
    {
      name: 'no trailing spaces when the last cells are short or empty',
      header: ['a', 'detail'],
      rows: [
        ['1', 'exit 1: boom'],
        ['2', ''],
      ],
      want: ['A   DETAIL', '1   exit 1: boom', '2', ''].join('\n'),
    },
    {
      name: 'no rows: the header alone',
      header: ['id', 'app'],
      rows: [],
      want: 'ID   APP\n',
    },
    {
      name: 'line breaks and tabs in a cell become single spaces',
      header: ['id', 'message'],
      rows: [['t1', 'line one\n  line two\tend']],
      want: ['ID   MESSAGE', 't1   line one line two end', ''].join('\n'),
    },
    {
      name: 'short rows leave the missing cells empty',
      header: ['a', 'b', 'c'],
      rows: [['1'], ['22', '3', '4']],
      want: ['A    B   C', '1', '22   3   4', ''].join('\n'),
    },
  ])('$name', ({ header, rows, want }) => {
    expect(formatTable(header, rows)).toBe(want);
  });
});
