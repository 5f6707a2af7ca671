import { describe, expect, it } from 'vitest';
import { DroverError } from '../errors/drover-error.js';
import { Code } from '../errors/code.js';
import { containsPort, countPorts, formatPortRanges, normalizeRanges, parsePortRanges, removePorts, removeRanges } from './port-ranges.js';

describe('port ranges', () => {
  it.each([
    { name: 'one range', text: '31000-32000', out: [{ begin: 31000, end: 32000 }] },
    { name: 'single port', text: '8080', out: [{ begin: 8080, end: 8080 }] },
    { name: 'merges adjacent and sorts', text: '20-30, 10-19,40', out: [{ begin: 10, end: 30 }, { begin: 40, end: 40 }] },
    { name: 'empty', text: '', out: [] },
  ])('parses $name', ({ text, out }) => {
    expect(parsePortRanges(text)).toEqual(out);
  });

  it.each(['0-10', '10-5', '70000', 'a-b', '1-2-3'])('rejects %s with InvalidArgument', (text) => {
    try {
      parsePortRanges(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DroverError);
      expect((e as DroverError).code).toBe(Code.InvalidArgument);
    }
  });

  it('counts, formats and tests membership', () => {
    const r = parsePortRanges('31000-31009,31020');
    expect(countPorts(r)).toBe(11);
    expect(formatPortRanges(r)).toBe('31000-31009,31020');
    expect(containsPort(r, 31020)).toBe(true);
    expect(containsPort(r, 31010)).toBe(false);
  });

  it.each([
    { name: 'middle port', ranges: '10-20', used: [15], out: '10-14,16-20' },
    { name: 'edges', ranges: '10-20', used: [10, 20], out: '11-19' },
    { name: 'ports outside are ignored', ranges: '10-12', used: [1, 99], out: '10-12' },
    { name: 'whole range', ranges: '10-12', used: [12, 11, 10], out: '' },
    { name: 'across ranges, duplicates', ranges: '10-12,20-22', used: [11, 11, 20, 22], out: '10,12,21' },
  ])('removes ports: $name', ({ ranges, used, out }) => {
    expect(formatPortRanges(removePorts(parsePortRanges(ranges), used))).toBe(out);
  });

  it.each([
    { name: 'nothing removed', ranges: '10-20', removed: '', out: '10-20' },
    { name: 'a middle range', ranges: '10-20', removed: '13-15', out: '10-12,16-20' },
    { name: 'edges', ranges: '10-20', removed: '5-10,20-25', out: '11-19' },
    { name: 'ranges outside are ignored', ranges: '10-12', removed: '1-9,13-99', out: '10-12' },
    { name: 'the whole range', ranges: '10-12', removed: '1-100', out: '' },
    { name: 'one cut across two ranges', ranges: '10-12,20-22', removed: '12-20', out: '10-11,21-22' },
    { name: 'several cuts, unsorted and overlapping', ranges: '10-30', removed: '25,12-13,13-14,20', out: '10-11,15-19,21-24,26-30' },
  ])('removes ranges: $name', ({ ranges, removed, out }) => {
    expect(formatPortRanges(removeRanges(parsePortRanges(ranges), parsePortRanges(removed)))).toBe(out);
  });

  it('normalizes overlapping ranges', () => {
    expect(normalizeRanges([{ begin: 5, end: 9 }, { begin: 1, end: 6 }])).toEqual([{ begin: 1, end: 9 }]);
  });
});
