import { DroverError } from '@drover/common';
import { InvalidArgumentError } from 'commander';

/**
 * Adapts one of our parsers to commander, so a bad flag value is reported by
 * commander as a usage error ("option '--x' argument 'y' is invalid. why").
 */
export function commanderParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (e) {
      throw e instanceof DroverError ? new InvalidArgumentError(e.rawMessage) : e;
    }
  };
}
