/**
 * The --name of a one-off task: the prefix of its id ("backup" gives
 * "backup.<uuid>"), spelt like an app id, so the master's rules apply here
 * too and a typo is refused before anything is sent.
 */
import { appIdProblem, Code, DroverError } from '@drover/common';

/** Returns the name as given; throws InvalidArgument when the master would refuse it. */
export function parseTaskName(text: string): string {
  const problem = appIdProblem(text);
  if (problem !== undefined) throw new DroverError(`bad task name "${text}": ${problem}`, Code.InvalidArgument);
  return text;
}
