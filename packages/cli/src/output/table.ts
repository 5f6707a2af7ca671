/**
 * Aligned plain-text tables in the style of kubectl: an upper-case header
 * row, columns padded with spaces and separated by three of them, no box
 * drawing, no trailing spaces. Plain text keeps the output greppable and
 * `awk`-able; scripts that need structure use --json instead.
 */

/** Space between columns; three, as kubectl uses, so adjacent columns never read as one. */
const GAP = '   ';

/** Renders a header and rows as aligned lines, each ending in "\n". */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [header.map((h) => h.toUpperCase()), ...rows.map((r) => r.map(cleanCell))];
  const columns = Math.max(...lines.map((l) => l.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  return lines
    .map((cells) =>
      widths
        .map((w, i) => (cells[i] ?? '').padEnd(w))
        .join(GAP)
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** A cell must stay on one line or every column after it shifts. */
function cleanCell(cell: string): string {
  return cell.replace(/\s*[\r\n\t]+\s*/g, ' ');
}
