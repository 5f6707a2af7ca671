/**
 * The composition root: builds the agent's parts, recovers what an earlier
 * agent left in the work dir, and connects to the master. Start order
 * matters: tasks are recovered (and the final statuses of tasks that died
 * while the agent was down are journaled) before the first Register, so the
 * master's first view of this agent is already complete.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { Code, createLogger, dialTarget, DROVER_VERSION, DroverError, isTerminal, parseMasterList } from '@drover/common';
import { taskStateCodec } from '@drover/proto';
import type { AgentOptions, RunningAgent } from './agent-options.js';
import { type AgentIdentity, loadAgentIdentity, saveAgentIdentity } from './checkpoint/agent-identity-file.js';
import { LINUX_BOOT_ID_FILE, readBootId } from './checkpoint/boot-id.js';
import { collectCapabilities } from './agent-capabilities.js';
import { DockerDaemon, dockerCapability } from './executor/docker/docker-daemon.js';
import { DockerExecutor } from './executor/docker/docker-executor.js';
import { ExecutorRegistry } from './executor/executor-registry.js';
import { ProcessExecutor } from './executor/process-executor.js';
import { Fetcher } from './fetch/fetcher.js';
import { SandboxFileServer } from './files/sandbox-file-server.js';
import { agentCgroupParent, detectIsolation } from './isolation/cgroup-detect.js';
import { offeredPortsInUse } from './probe/ports-in-use.js';
import { probeResources } from './probe/resource-probe.js';
import { UsageSampler } from './probe/usage-sampler.js';
import { LogRotator } from './sandbox/log-rotator.js';
import { SandboxCollector } from './sandbox/sandbox-collector.js';
import { Backoff } from './session/backoff.js';
import { EpochFence } from './session/epoch-fence.js';
import { type MasterCommand, MasterSession } from './session/master-session.js';
import { StatusJournal } from './status/status-journal.js';
import { DisconnectStop } from './tasks/disconnect-stop.js';
import { TaskManager } from './tasks/task-manager.js';
import { workDirLayout } from './work-dir.js';

/** Starts an agent: probes the machine, recovers tasks, and connects to the master in the background. */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  // First: a bad address is refused before anything is touched.
  const masters = parseMasterList(options.master);
  const root = options.logger ?? createLogger();
  const log = root.child({ component: 'agent' });
  const layout = workDirLayout(options.workDir);
  await fs.mkdir(layout.tasksDir, { recursive: true });

  const hostname = options.hostname ?? os.hostname();
  const address = options.address ?? hostname;
  const attributes = { ...options.attributes };
  const resources = await probeResources(layout.root, options.resources);
  // Once per start: which cgroups tasks get (warns once when there are none).
  const isolation = await detectIsolation({
    root: options.cgroupRoot,
    parent: agentCgroupParent(layout.root),
    pidsLimit: options.pidsLimit,
    logger: root,
  });
  let identity: AgentIdentity | undefined = await loadAgentIdentity(layout.agentIdFile);
  const bootId = await readBootId(options.bootIdFile ?? LINUX_BOOT_ID_FILE, layout.bootIdFile);
  // Container tasks go to Docker, the rest to the process executor. The
  // Docker executor is always there: without a daemon its tasks fail with
  // CONTAINER_ERROR, and the agent does not report the "docker" capability.
  const docker = new DockerDaemon(options.dockerSocket);
  const capabilitySources = [() => [isolation.capability], dockerCapability(docker, log)];
  await collectCapabilities(capabilitySources, log);
  const dockerExecutor = new DockerExecutor({
    logger: root,
    daemon: docker,
    policy: { allowPrivileged: options.allowPrivileged === true, allowHostVolumes: options.allowHostVolumes === true },
    agentId: () => identity?.agentId,
  });
  const fence = await EpochFence.load(layout.epochFile, root);
  const journal = await StatusJournal.open(layout.statusDir, root);

  // The session is created after recovery; until then updates only go to the journal.
  let session: MasterSession | undefined;
  let usage: UsageSampler | undefined;
  const tasks = new TaskManager({
    executor: new ExecutorRegistry([new ProcessExecutor({ logger: root, isolator: isolation }), dockerExecutor], root),
    journal,
    tasksDir: layout.tasksDir,
    host: address,
    logger: root,
    send: (status) => {
      session?.send({ message: { $case: 'status', value: status } });
      // A task that ended freed its ports, or failed on one that another
      // process took: either way the master should know the ports now.
      const state = taskStateCodec.name(status.state);
      if (state !== undefined && isTerminal(state)) usage?.sampleSoon();
    },
    fetcher: new Fetcher({ logger: root, cacheDir: layout.cacheDir, idleTimeoutMs: options.fetchIdleTimeoutMs }),
  });
  await tasks.recover();
  const disconnectStop = new DisconnectStop({ tasks, logger: root });

  // Sandbox hygiene and file access: logs rotate by size, finished sandboxes
  // go by age and total size, and the master reads files through the session.
  const rotator = new LogRotator({
    tasksDir: layout.tasksDir,
    liveTasks: () => tasks.liveTaskIds(),
    maxBytes: options.logMaxBytes,
    files: options.logFiles,
    intervalMs: options.logCheckIntervalMs,
    logger: root,
  });
  const collector = new SandboxCollector({
    tasksDir: layout.tasksDir,
    isTracked: (taskId) => tasks.liveness(taskId) !== undefined,
    maxAgeMs: options.sandboxMaxAgeMs,
    maxTotalBytes: options.sandboxMaxTotalBytes,
    intervalMs: options.sandboxGcIntervalMs,
    logger: root,
  });
  const files = new SandboxFileServer({
    tasksDir: layout.tasksDir,
    liveness: (taskId) => tasks.liveness(taskId),
    rotations: rotator,
    followPollMs: options.followPollMs,
    logger: root,
  });

  let resolveRegistered!: (id: string) => void;
  let rejectRegistered!: (e: unknown) => void;
  const registered = new Promise<string>((resolve, reject) => {
    resolveRegistered = resolve;
    rejectRegistered = reject;
  });
  registered.catch(() => undefined);

  const onCommand = (command: MasterCommand): void => {
    switch (command.$case) {
      case 'launch':
        if (command.value.task === undefined) log.warn('ignoring a LaunchTask without a task');
        else void tasks.launch(command.value.task);
        return;
      case 'kill':
        void tasks.kill(command.value);
        return;
      case 'ack':
        void tasks.acknowledge(command.value.uuid);
        return;
    }
  };

  const activeSession = new MasterSession({
    masters,
    dial: (target) => dialTarget(options.tls, target),
    fence,
    backoff: new Backoff(options.reconnectDelayMs ?? 200, options.maxReconnectDelayMs ?? 5000),
    logger: root,
    handler: {
      register: async () => ({
        capabilities: await collectCapabilities(capabilitySources, log),
        agentId: identity?.agentId ?? '',
        agentSecret: identity?.secret ?? '',
        hostname,
        address,
        resources,
        attributes,
        tasks: tasks.latestStatuses(),
        taskSpecs: tasks.liveSpecs(),
        version: DROVER_VERSION,
        epoch: fence.highest,
        portsInUse: await offeredPortsInUse(resources.ports),
        bootId,
      }),
      registered: async (id, secret) => {
        const agentId = id !== '' ? id : identity?.agentId;
        if (agentId === undefined) return;
        // An empty secret means "keep yours" (it never comes with a new id).
        let next: AgentIdentity = { agentId };
        if (secret !== '') next = { agentId, secret };
        else if (identity !== undefined && identity.agentId === agentId) next = identity;
        if (next.agentId !== identity?.agentId || next.secret !== identity?.secret) {
          await saveAgentIdentity(layout.agentIdFile, next);
          identity = next;
        }
      },
      ready: () => {
        for (const entry of journal.pending()) {
          activeSession.send({ message: { $case: 'status', value: entry.status } });
        }
        resolveRegistered(identity?.agentId ?? '');
      },
      command: onCommand,
      heard: () => disconnectStop.heard(),
      files: (message, reply) => files.handle(message, reply),
    },
  });
  session = activeSession;

  const sampler = new UsageSampler({
    intervalMs: options.usageIntervalMs ?? 5000,
    tasksRunning: () => tasks.liveCount(),
    portsInUse: () => offeredPortsInUse(resources.ports),
    report: (value) => activeSession.send({ message: { $case: 'usage', value } }),
    logger: log,
  });
  usage = sampler;

  activeSession.start();
  disconnectStop.start();
  sampler.start();
  rotator.start();
  collector.start();
  log.info({ workDir: layout.root, masters, hostname, address, resources, bootId }, 'agent started');

  let stopping: Promise<void> | undefined;
  const stop = async (stopOptions: { killTasks?: boolean } = {}): Promise<void> => {
    sampler.stop();
    disconnectStop.stop();
    await Promise.all([rotator.stop(), collector.stop(), files.close()]);
    if (stopOptions.killTasks === true) await tasks.killAll('the agent is stopping');
    await tasks.close();
    await isolation.close();
    await activeSession.stop();
    rejectRegistered(new DroverError('the agent stopped before it registered', Code.Canceled));
    log.info({ killedTasks: stopOptions.killTasks === true }, 'agent stopped');
  };

  return {
    get id() {
      return identity?.agentId;
    },
    workDir: layout.root,
    registered: () => registered,
    stop: (stopOptions) => {
      stopping ??= stop(stopOptions);
      return stopping;
    },
  };
}
