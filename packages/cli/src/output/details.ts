/**
 * Key/value blocks for `get`-style commands ("Label:  value"), values lined
 * up in one column; a multi-line value continues under its first line.
 */

/** One row of a details block; an undefined value skips the row. */
export type DetailRow = readonly [label: string, value: string | undefined];

/** Renders rows as "Label:   value" lines, each ending in "\n". */
export function formatDetails(rows: readonly DetailRow[]): string {
  const shown = rows.filter((r): r is readonly [string, string] => r[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length + 1));
  const indent = ' '.repeat(width + 2);
  return shown
    .map(([label, value]) => {
      const [first = '', ...rest] = value.split('\n');
      const head = `${`${label}:`.padEnd(width)}  ${first}`.trimEnd();
      return [head, ...rest.map((l) => `${indent}${l}`.trimEnd())].join('\n');
    })
    .map((line) => `${line}\n`)
    .join('');
}
