import { Option } from 'commander';
import { commanderParser } from './commander-parser.js';

/**
 * An option parsed by one of our parsers (durations, sizes), whose default is
 * written the way a user types it. Commander prints a default as the value
 * itself, so a parsed default showed as "default: 10000", which the flag
 * refuses; here --help shows the text ("default: 10s") and the command gets
 * the parsed value, and the two cannot drift apart.
 */
export function parsedOption<T>(flags: string, description: string, parse: (text: string) => T, defaultText?: string): Option {
  const option = new Option(flags, description).argParser(commanderParser(parse));
  return defaultText === undefined ? option : option.default(parse(defaultText), defaultText);
}
