/**
 * `drover agent`: with options, run an agent in the foreground; with `list`
 * or `get`, inspect the agents a master knows. One noun, as in `drover app`:
 * the bare command starts the thing, subcommands look at it.
 */
import path from 'node:path';
import { createLogger } from '@drover/common';
import { Agent } from '@drover/proto';
import type { Command } from 'commander';
import { type CliContext, dialCredentials, masterAddress, printJson, withClient } from '../cli-context.js';
import { parseAttributes } from '../options/attributes.js';
import { commanderParser } from '../options/commander-parser.js';
import { parseResources, RESOURCES_SYNTAX, type ResourceFlags } from '../options/resources.js';
import { formatAgentDetails, formatAgentTable } from '../output/agents.js';
import { logLevel, registeredOrStopped } from '../serving.js';

interface AgentFlags {
  workDir?: string;
  hostname?: string;
  address?: string;
  attributes?: Record<string, string>;
  resources?: ResourceFlags;
}

/** Adds the `agent` command (run an agent) and its `list` and `get` subcommands. */
export function registerAgentCommands(program: Command, ctx: CliContext): void {
  const agent = program
    .command('agent')
    .description('run an agent that offers this machine to a master (--master), or inspect agents')
    .option('--work-dir <dir>', 'directory for the agent id, checkpoints and task sandboxes (required to run an agent)')
    .option('--hostname <name>', 'hostname to report (default: this machine)')
    .option('--address <address>', 'address tasks are reachable at, exported to them as HOST (default: the hostname)')
    .option('--attributes <k=v,...>', 'attributes constraints can match, for example rack=r1,zone=a', commanderParser(parseAttributes))
    .option('--resources <list>', `what to offer instead of the probed totals: ${RESOURCES_SYNTAX}`, commanderParser(parseResources))
    .addHelpText(
      'after',
      [
        '',
        'Example:',
        "  drover agent --master 10.0.0.1:5053 --work-dir /var/lib/drover --resources 'cpus=2,mem=1024,ports=[31000-31999,33000-33100]'",
        '',
        'Stopping the agent (SIGINT/SIGTERM) leaves its tasks running; the next start re-adopts them.',
      ].join('\n'),
    )
    .action((opts: AgentFlags, cmd: Command) => runAgent(ctx, opts, cmd));

  agent
    .command('list')
    .description('list agents with reserved capacity (used/total)')
    .option('--json', 'print a JSON array of agents')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const agents = await withClient(ctx, cmd, (c) => c.listAgents());
      if (opts.json) return printJson(ctx, agents.map((a) => Agent.toJSON(a)));
      if (agents.length === 0) return ctx.io.stderr('no agents\n');
      ctx.io.stdout(formatAgentTable(agents, ctx.io.now()));
    });

  agent
    .command('get')
    .description('show one agent')
    .argument('<id>', 'agent id')
    .option('--json', 'print the agent as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const found = await withClient(ctx, cmd, (c) => c.getAgent(id));
      if (opts.json) return printJson(ctx, Agent.toJSON(found));
      ctx.io.stdout(formatAgentDetails(found, ctx.io.now()));
    });
}

async function runAgent(ctx: CliContext, opts: AgentFlags, cmd: Command): Promise<void> {
  // Checked here, not with requiredOption: commander checks an ancestor's
  // required options for its subcommands too, and `agent list` needs none.
  if (opts.workDir === undefined) cmd.error("error: required option '--work-dir <dir>' not specified");
  const { io, runtime } = ctx;
  const master = masterAddress(ctx, cmd);
  const workDir = path.resolve(io.cwd, opts.workDir);
  const credentials = dialCredentials(ctx, cmd, master);
  const stop = runtime.waitForStop();
  const agent = await runtime.startAgent({
    master,
    workDir,
    hostname: opts.hostname,
    address: opts.address,
    attributes: opts.attributes,
    resources: opts.resources,
    credentials,
    logger: createLogger({ level: logLevel(ctx, 'info') }),
  });
  io.stdout(`agent started (work dir ${workDir}); connecting to master ${master}\n`);
  try {
    const first = await registeredOrStopped(agent, stop);
    if (first.kind === 'registered') {
      io.stdout(`registered as agent ${first.id}\n`);
      await stop;
    }
  } finally {
    io.stdout('stopping agent; its tasks keep running and are re-adopted when it starts again\n');
    await agent.stop();
  }
  io.stdout('stopped\n');
}
