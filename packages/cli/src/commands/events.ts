/**
 * `drover events`: follow the master's event feed (Marathon's event types)
 * until Ctrl-C, one line per event, or one JSON object per line.
 *
 * Ctrl-C is the normal way to stop following, so it exits 0. If the feed
 * breaks (the master stopped or lost leadership) the command fails with
 * exit 1 and says how to resume without missing anything: --after the
 * last event id it printed (the master replays what it still holds).
 */
import { Code, DroverError } from '@drover/common';
import { Event } from '@drover/proto';
import type { Command } from 'commander';
import { type CliContext, stopSignal, withClient } from '../cli-context.js';
import { HintedError } from '../cli-errors.js';
import { commanderAccumulator, commanderParser } from '../options/commander-parser.js';
import { addEventTypes } from '../options/event-types.js';
import { parseCount } from '../options/numbers.js';
import { formatEventLine } from '../output/events.js';

interface EventsFlags {
  type?: string[];
  after?: number;
  json?: boolean;
}

/** Adds `drover events` to the program. */
export function registerEventsCommand(program: Command, ctx: CliContext): void {
  program
    .command('events')
    .description("follow the cluster's events as they happen (task states, health, deployments, apps, agents) until Ctrl-C")
    .option('--type <type>', 'only events of this type (Marathon names, e.g. status_update_event); repeatable or comma-separated', commanderAccumulator(addEventTypes))
    .option('--after <id>', 'first replay the events the master still holds with a larger id (resume where you left off)', commanderParser(parseCount))
    .option('--json', 'print each event as one line of JSON')
    .addHelpText(
      'after',
      [
        '',
        'Each line is "<time> <type> <summary>", for example',
        '  2025-06-01T12:00:00.000Z status_update_event web.1234 RUNNING on node1',
        '',
        'Ctrl-C stops following and exits 0. If the master ends the feed, the command exits 1 and names',
        'the --after value that resumes it.',
      ].join('\n'),
    )
    .action(async (opts: EventsFlags, cmd: Command) => {
      const signal = stopSignal(ctx);
      let last = opts.after ?? 0;
      const print = (e: Event): void => {
        last = e.id;
        ctx.io.stdout(opts.json ? `${JSON.stringify(Event.toJSON(e))}\n` : formatEventLine(e));
      };
      const resume = (): string => `resume with drover events --after ${last}${(opts.type ?? []).map((t) => ` --type ${t}`).join('')}`;
      // Before any event, there is nothing to resume from: the error alone says it.
      const withResume = (err: DroverError): DroverError => (last > 0 ? new HintedError(err, resume()) : err);
      try {
        await withClient(ctx, cmd, (c) => c.watchEvents({ types: opts.type ?? [], afterId: opts.after ?? 0 }, print, signal));
      } catch (e) {
        throw withResume(DroverError.from(e));
      }
      if (!signal.aborted) throw withResume(new DroverError('the master ended the event feed', Code.Unavailable));
    });
}
