/**
 * An idle agent's memory: V8 grows the young generation (its semi-spaces)
 * while much of what is allocated survives, and start-up is exactly that:
 * loading modules, probing the machine, recovering tasks and registering
 * leave the semi-spaces at 8 MiB each, 16 MiB of RSS that an idle agent then
 * holds until V8's memory reducer shrinks them some 20 s later (measured:
 * 68.6 MiB two seconds after registering, 62.5 MiB with the growth held).
 *
 * So `drover agent` holds the growth factor at 1 until the agent has
 * registered, then gives V8 back its default. The hold is taken before the
 * CLI's own modules load (bin.ts imports agent-start-hold.ts first): taken
 * only when the agent command starts, the semi-spaces had already grown to
 * 4 MiB each. Only the start-up's one-off
 * garbage is kept small: under a burst of launches the young generation grows
 * as usual (held for good, a burst cost the agent about a fifth more CPU per
 * task in scavenges and promotions). V8 reads this flag each time it
 * considers growing, so setting it at run time takes effect; a semi-space
 * size flag would not (it is fixed when the heap is made), and node flags
 * cannot be passed to `drover agent` by whoever starts it.
 */
import v8 from 'node:v8';

/** V8's own default (--semi-space-growth-factor), restored once start-up is over. */
const V8_DEFAULT_GROWTH_FACTOR = 2;

/** The hold taken at process start, not yet handed over. */
let startHold: (() => void) | undefined;

/** Takes the hold now if this process runs `drover agent` (argv without node and script). */
export function holdAtStartIfAgent(argv: readonly string[]): void {
  if (argv[0] === 'agent' && startHold === undefined) startHold = holdYoungGeneration();
}

/** The hold taken at start (holdAtStartIfAgent), else a new one; the caller releases it. */
export function takeYoungGenerationHold(): () => void {
  const hold = startHold ?? holdYoungGeneration();
  startHold = undefined;
  return hold;
}

/** Stops the young generation from growing until the returned function is called (idempotent). */
export function holdYoungGeneration(): () => void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    v8.setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
  };
}
