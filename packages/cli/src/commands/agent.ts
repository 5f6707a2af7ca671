/**
 * `drover agent`: with options, run an agent in the foreground; with `list`
 * or `get`, inspect the agents a master knows; with `drain` and `undrain`,
 * take one out of service for maintenance and bring it back. One noun, as in
 * `drover app`: the bare command starts the thing, subcommands act on it.
 */
import path from 'node:path';
import { Agent } from '@drover/proto';
import type { Command } from 'commander';
import { type CliContext, dialTls, masterAddresses, printJson, withClient } from '../cli-context.js';
import { parseAttributes } from '../options/attributes.js';
import { commanderParser } from '../options/commander-parser.js';
import { parseDuration } from '../options/duration.js';
import { parsePositiveCount } from '../options/numbers.js';
import { parseResources, RESOURCES_SYNTAX, type ResourceFlags } from '../options/resources.js';
import { parseSize } from '../options/size.js';
import { formatAgentDetails, formatAgentTable, formatDrainStarted } from '../output/agents.js';
import { type LogFlags, logFormatOption, logLevelOption, registeredOrStopped, serverLogger } from '../serving.js';

interface AgentFlags extends LogFlags {
  workDir?: string;
  hostname?: string;
  address?: string;
  attributes?: Record<string, string>;
  resources?: ResourceFlags;
  dockerSocket?: string;
  allowPrivileged?: boolean;
  allowHostVolumes?: boolean;
  logMaxSize?: number;
  logFiles?: number;
  sandboxMaxAge?: number;
  sandboxMaxSize?: number;
  pidsLimit?: number;
}

/** Adds the `agent` command (run an agent) and its `list`, `get`, `drain` and `undrain` subcommands. */
export function registerAgentCommands(program: Command, ctx: CliContext): void {
  const agent = program
    .command('agent')
    .description('run an agent that offers this machine to a master (--master), or inspect and drain agents')
    .option('--work-dir <dir>', 'directory for the agent id, checkpoints and task sandboxes (required to run an agent)')
    .option('--hostname <name>', 'hostname to report (default: this machine)')
    .option('--address <address>', 'address tasks are reachable at, exported to them as HOST (default: the hostname)')
    .option('--attributes <k=v,...>', 'attributes constraints can match, for example rack=r1,zone=a', commanderParser(parseAttributes))
    .option('--resources <list>', `what to offer instead of the probed totals: ${RESOURCES_SYNTAX}`, commanderParser(parseResources))
    .option('--docker-socket <path>', 'the Docker daemon to run container tasks with (default: /var/run/docker.sock)')
    .option('--allow-privileged', 'run containers that ask for privileged mode (or cap-add, device, security-opt)')
    .option('--allow-host-volumes', 'let containers mount absolute host paths (sandbox-relative volumes are always allowed)')
    .option('--log-max-size <size>', "rotate a task's stdout or stderr past this size, e.g. 10MiB (default: 10MiB)", commanderParser(parseSize))
    .option('--log-files <n>', 'files kept per stream, the live one included (default: 3)', commanderParser(parsePositiveCount))
    .option('--sandbox-max-age <duration>', "remove a finished task's sandbox once untouched this long, e.g. 72h (default: 168h)", commanderParser(parseDuration))
    .option('--sandbox-max-size <size>', 'remove the oldest finished sandboxes beyond this total, e.g. 20GiB (default: 10GiB)', commanderParser(parseSize))
    .option('--pids-limit <n>', 'most processes and threads one task may have, enforced by its cgroup (default: 4096)', commanderParser(parsePositiveCount))
    .addOption(logLevelOption('info'))
    .addOption(logFormatOption())
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

  agent
    .command('drain')
    .description('stop placing tasks on an agent and move its tasks elsewhere, for maintenance')
    .argument('<id>', 'agent id')
    .option('--deadline <duration>', 'how long tasks have to move before the rest are killed, e.g. 30s, 5m, 1h (default: the master\'s, 5m)', commanderParser(parseDuration))
    .option('--json', 'print the agent as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Each app task on the agent is replaced by a RUNNING instance elsewhere before it is killed;',
        'whatever still runs at the deadline (one-off tasks, instances with nowhere to go) is killed then.',
        'Draining again changes the deadline. drover agent undrain ID puts the agent back in service.',
      ].join('\n'),
    )
    .action(async (id: string, opts: { deadline?: number; json?: boolean }, cmd: Command) => {
      const deadlineSeconds = opts.deadline === undefined ? undefined : opts.deadline / 1000;
      const drained = await withClient(ctx, cmd, (c) => c.drainAgent(id, deadlineSeconds));
      if (opts.json) return printJson(ctx, Agent.toJSON(drained));
      ctx.io.stdout(formatDrainStarted(drained, ctx.io.now()));
    });

  agent
    .command('undrain')
    .description('end a drain: the agent takes new tasks again')
    .argument('<id>', 'agent id')
    .option('--json', 'print the agent as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const undrained = await withClient(ctx, cmd, (c) => c.undrainAgent(id));
      if (opts.json) return printJson(ctx, Agent.toJSON(undrained));
      ctx.io.stdout(`undrained agent ${undrained.id} (${undrained.hostname || '-'}): it takes new tasks again\n`);
    });
}

async function runAgent(ctx: CliContext, opts: AgentFlags, cmd: Command): Promise<void> {
  // Checked here, not with requiredOption: commander checks an ancestor's
  // required options for its subcommands too, and `agent list` needs none.
  if (opts.workDir === undefined) cmd.error("error: required option '--work-dir <dir>' not specified");
  const { io, runtime } = ctx;
  const masters = masterAddresses(ctx, cmd);
  const workDir = path.resolve(io.cwd, opts.workDir);
  const tls = dialTls(ctx, cmd, masters);
  const stop = runtime.waitForStop();
  // Start-up's garbage must not leave the idle agent with grown semi-spaces (young-generation.ts).
  const startedUp = runtime.holdYoungGeneration();
  const agent = await runtime.startAgent({
    master: masters,
    workDir,
    hostname: opts.hostname,
    address: opts.address,
    attributes: opts.attributes,
    resources: opts.resources,
    dockerSocket: opts.dockerSocket === undefined ? undefined : path.resolve(io.cwd, opts.dockerSocket),
    allowPrivileged: opts.allowPrivileged === true,
    allowHostVolumes: opts.allowHostVolumes === true,
    logMaxBytes: opts.logMaxSize,
    logFiles: opts.logFiles,
    sandboxMaxAgeMs: opts.sandboxMaxAge,
    sandboxMaxTotalBytes: opts.sandboxMaxSize,
    pidsLimit: opts.pidsLimit,
    tls,
    logger: serverLogger(ctx, opts, 'info'),
  });
  io.stdout(`agent started (work dir ${workDir}); connecting to master ${masters.join(',')}\n`);
  try {
    const first = await registeredOrStopped(agent, stop);
    startedUp();
    if (first.kind === 'registered') {
      io.stdout(`registered as agent ${first.id}\n`);
      await stop;
    }
  } finally {
    startedUp();
    io.stdout('stopping agent; its tasks keep running and are re-adopted when it starts again\n');
    await agent.stop();
  }
  io.stdout('stopped\n');
}
