import { describe, expect, it } from 'vitest';
import { type DetailRow, formatDetails } from './details.js';

describe('formatDetails', () => {
  it.each<{ name: string; rows: DetailRow[]; want: string }>([
    {
      name: 'lines values up after the longest label',
      rows: [
        ['ID', '/web'],
        ['Instances', '2'],
      ],
      want: ['ID:         /web', 'Instances:  2', ''].join('\n'),
    },
    {
      name: 'skips rows without a value',
      rows: [
        ['ID', '/web'],
        ['Signal', undefined],
      ],
      want: 'ID:  /web\n',
    },
    {
      name: 'continues a multi-line value under its first line',
      rows: [
        ['Env', 'A=1\nB=2'],
        ['ID', 'x'],
      ],
      want: ['Env:  A=1', '      B=2', 'ID:   x', ''].join('\n'),
    },
    { name: 'nothing to show', rows: [], want: '' },
  ])('$name', ({ rows, want }) => {
    expect(formatDetails(rows)).toBe(want);
  });
});
