import { DroverError } from '@drover/common';
import { InvalidArgumentError } from 'commander';

/**
 * Adapts one of our parsers to commander, so a bad flag value is reported by
 * commander as a usage error ("option '--x' argument 'y' is invalid. why").
 */
export function commanderParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => adapt(() => parse(text));
}

/** Like commanderParser, for a repeatable flag: `add` folds each use into the value so far (undefined at first). */
export function commanderAccumulator<T>(add: (text: string, previous: T | undefined) => T): (text: string, previous: T) => T {
  return (text, previous) => adapt(() => add(text, previous));
}

/** A repeatable flag whose uses are collected in a list, each parsed by `parse`. */
export function commanderCollector<T>(parse: (text: string) => T): (text: string, previous: T[]) => T[] {
  return commanderAccumulator<T[]>((text, previous) => [...(previous ?? []), parse(text)]);
}

function adapt<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw e instanceof DroverError ? new InvalidArgumentError(e.rawMessage) : e;
  }
}
