import { describe, expect, it } from 'vitest';
import type { CliIo } from '../cli-context.js';
import { LiveBlock } from './live-block.js';

/** Feeds `updates` to a block and returns what it wrote. */
function render(updates: string[][], columns?: number): string {
  let out = '';
  const io = { stdout: (t: string) => void (out += t), tty: columns === undefined ? undefined : { columns } } as unknown as CliIo;
  const block = new LiveBlock(io);
  for (const lines of updates) block.update(lines);
  return out;
}

const UP = (n: number) => `\u001b[${n}F\u001b[J`;

describe('LiveBlock', () => {
  it.each([
    { name: 'prints the first lines', updates: [['a 0/2', 'b 0/1']], want: 'a 0/2\nb 0/1\n' },
    { name: 'then only the lines that changed', updates: [['a 0/2', 'b 0/1'], ['a 1/2', 'b 0/1'], ['a 1/2', 'b 0/1'], ['a 2/2', 'b 1/1']], want: 'a 0/2\nb 0/1\na 1/2\na 2/2\nb 1/1\n' },
  ])('not on a terminal: $name', ({ updates, want }) => {
    expect(render(updates)).toBe(want);
  });

  it.each([
    { name: 'draws the first lines as they are', updates: [['a 0/2', 'b 0/1']], want: 'a 0/2\nb 0/1\n' },
    {
      name: 'redraws the whole block over the old one, and skips an update that changes nothing',
      updates: [['a 0/2', 'b 0/1'], ['a 1/2', 'b 0/1'], ['a 1/2', 'b 0/1']],
      want: `a 0/2\nb 0/1\n${UP(2)}a 1/2\nb 0/1\n`,
    },
    { name: 'adapts to a block that grows', updates: [['a'], ['a', 'b']], want: `a\n${UP(1)}a\nb\n` },
  ])('on a terminal: $name', ({ updates, want }) => {
    expect(render(updates, 80)).toBe(want);
  });

  it('on a terminal, cuts lines to one less than its width so that none wraps', () => {
    expect(render([['0123456789'], ['abcdefghij']], 6)).toBe(`01234\n${UP(1)}abcde\n`);
  });
});
