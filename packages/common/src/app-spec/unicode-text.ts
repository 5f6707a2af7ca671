/**
 * Text that survives the wire. A JavaScript string may hold a lone UTF-16
 * surrogate (JSON's "\ud800" parses to one), but protobuf strings are
 * UTF-8, which cannot encode it: the encoder silently writes U+FFFD, so
 * what was stored and what clients read would differ. Such strings are
 * refused where they enter.
 */

const LONE_SURROGATE = /\p{Cs}/u;

/** True when `text` holds a lone surrogate (a well-formed pair is fine). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** The violation message for such text. */
export const LONE_SURROGATE_MESSAGE = 'must be valid Unicode text (it has a lone surrogate)';
