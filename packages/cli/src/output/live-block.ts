/**
 * A few lines that change while a command waits (deployment progress). On
 * a terminal they are redrawn in place: the cursor goes back up over the
 * block and the screen below is cleared, so lines must not wrap (they are
 * cut to the terminal's width). Anywhere else (a pipe, a log file, CI) the
 * output must read as a log: a line is printed only when its text changed.
 */
import type { CliIo } from '../cli-context.js';

/** ANSI: move to the start of the line `n` lines up (CPL). */
const cursorUp = (n: number): string => `\u001b[${n}F`;
/** ANSI: clear from the cursor to the end of the screen (ED). */
const CLEAR_BELOW = '\u001b[J';

/** Lines shown on standard output that a command updates as things change. */
export class LiveBlock {
  private shown: readonly string[] = [];

  constructor(private readonly io: CliIo) {}

  /** Shows `lines` as the block's new content. */
  update(lines: readonly string[]): void {
    const tty = this.io.tty;
    if (tty === undefined) {
      const changed = lines.filter((line, i) => line !== this.shown[i]);
      this.shown = [...lines];
      this.io.stdout(changed.map((l) => `${l}\n`).join(''));
      return;
    }
    // One column spare: writing into the last column leaves some terminals' cursor there.
    const width = Math.max(1, tty.columns - 1);
    const fitted = lines.map((l) => (l.length > width ? l.slice(0, width) : l));
    if (fitted.length === this.shown.length && fitted.every((l, i) => l === this.shown[i])) return;
    const back = this.shown.length > 0 ? `${cursorUp(this.shown.length)}${CLEAR_BELOW}` : '';
    this.shown = fitted;
    this.io.stdout(`${back}${fitted.map((l) => `${l}\n`).join('')}`);
  }
}
