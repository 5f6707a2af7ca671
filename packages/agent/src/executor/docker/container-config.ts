/**
 * What `docker create` gets for a task: pure, so every mapping from a
 * TaskSpec (and its Marathon-style container block) to the Engine API is
 * tested without a daemon.
 *
 * - Command: `cmd` runs through the shell as Mesos runs it (the image's
 *   ENTRYPOINT is replaced by `/bin/sh -c`); `args` are the arguments of the
 *   image's ENTRYPOINT (or its program, without one); neither runs the
 *   image's default command.
 * - Resources: cpus become a relative weight (CpuShares, cpus * 1024) and a
 *   hard cap (CpuQuota over a 100 ms CpuPeriod); mem becomes Memory and the
 *   same MemorySwap (no swap).
 * - Network: HOST shares the agent's; BRIDGE publishes each port mapping on
 *   the host port the master assigned (TaskSpec.ports, in mapping order);
 *   containerPort 0 means "the same number as the host port". PORTn and
 *   PORT_<NAME> are the host ports, as in Marathon.
 * - The sandbox is mounted at /mnt/drover/sandbox (DROVER_SANDBOX); a
 *   relative volume hostPath is a directory inside the sandbox, an absolute
 *   one a host bind mount, refused unless the agent allows host volumes.
 * - `parameters` are `docker run` flags; those that map onto the API are
 *   applied, the others are refused with the list of supported ones, never
 *   ignored. Flags that widen what a container may do to its host (cap-add,
 *   device, security-opt) need the same permission as `privileged`.
 * - Labels drover.task-id / drover.app-id / drover.agent-id come last, so no
 *   app label can hide a container from recovery.
 * - A container runs under docker-init (Init), which forwards signals to the
 *   command and reaps zombies, so a `docker stop` ends a shell at once, as
 *   SIGTERM ends a process task, instead of being ignored by PID 1.
 */
import path from 'node:path';
import { type DockerParameter, DockerNetwork, type TaskSpec } from '@drover/proto';
import type Dockerode from 'dockerode';
import type { Sandbox } from '../../sandbox/sandbox.js';
import { taskEnvironment } from '../task-environment.js';

/** Where the task's sandbox appears inside its container (exported as DROVER_SANDBOX). */
export const CONTAINER_SANDBOX = '/mnt/drover/sandbox';

/** Labels every Drover container carries. */
export const LABELS = {
  taskId: 'drover.task-id',
  appId: 'drover.app-id',
  agentId: 'drover.agent-id',
} as const;

/** Period of the CPU cap, microseconds (Docker's default). */
export const CPU_PERIOD_US = 100_000;

/** What the agent lets containers do to its host. */
export interface ContainerPolicy {
  /** `privileged` and host-widening parameters are allowed (--allow-privileged). */
  readonly allowPrivileged: boolean;
  /** Absolute volume host paths are allowed (--allow-host-volumes). */
  readonly allowHostVolumes: boolean;
}

/** Facts of the launch that are not in the spec. */
export interface ContainerContext {
  /** The task's sandbox on the host. */
  readonly sandbox: Sandbox;
  /** Address the task is reachable at (HOST). */
  readonly host: string;
  /** This agent's id ('' before the first registration). */
  readonly agentId: string;
  /** What the agent allows. */
  readonly policy: ContainerPolicy;
}

/** A create request and what must exist on the host before it is sent. */
export interface ContainerConfig {
  /** The body of POST /containers/create, name included. */
  readonly create: Dockerode.ContainerCreateOptions & { name: string; Image: string };
  /** Sandbox directories backing relative volumes (created before the container). */
  readonly sandboxDirs: readonly string[];
}

/** The container name of a task: "drover-" + its id (ids are already safe names). */
export function containerName(taskId: string): string {
  return `drover-${taskId}`;
}

/** A spec the agent cannot turn into a container; lists every problem. */
export class ContainerConfigProblems {
  constructor(
    /** One line per problem, for people. */
    readonly problems: readonly string[],
  ) {}

  /** All problems in one line. */
  get message(): string {
    return this.problems.join('; ');
  }
}

/** The create request of `spec`, or every reason it cannot be made. */
export function containerConfig(spec: TaskSpec, ctx: ContainerContext): ContainerConfig | ContainerConfigProblems {
  const problems: string[] = [];
  const docker = spec.container?.docker;
  if (docker === undefined || docker.image === '') return new ContainerConfigProblems(['a DOCKER container needs docker.image']);
  const { policy } = ctx;
  if (docker.privileged && !policy.allowPrivileged) {
    problems.push('privileged containers are refused: start the agent with --allow-privileged');
  }

  const applied = applyParameters(docker.parameters, policy, problems);
  const bridge = isBridge(docker.network, docker.portMappings.length);
  const ports = bridge ? portBindings(spec, problems) : { exposed: undefined, bindings: undefined };
  const mounts = volumeMounts(spec, ctx, problems);

  const command = commandOf(spec, applied.config.Entrypoint !== undefined, problems);
  if (problems.length > 0) return new ContainerConfigProblems(problems);

  const env = taskEnvironment(
    { ...spec, env: { ...applied.env, ...spec.env } },
    { host: ctx.host, sandboxDir: CONTAINER_SANDBOX, agentEnv: {} },
  );
  const resources = spec.resources;
  const cpus = resources?.cpus ?? 0;
  const memBytes = Math.round((resources?.mem ?? 0) * 1024 * 1024);
  const create: ContainerConfig['create'] = {
    name: containerName(spec.taskId),
    Image: docker.image,
    ...command,
    ...applied.config,
    User: applied.config.User ?? (spec.user === '' ? undefined : spec.user),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: {
      ...spec.labels,
      ...applied.labels,
      [LABELS.taskId]: spec.taskId,
      [LABELS.appId]: spec.appId,
      [LABELS.agentId]: ctx.agentId,
    },
    ExposedPorts: ports.exposed,
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    HostConfig: {
      Init: true,
      ...applied.hostConfig,
      NetworkMode: bridge ? 'bridge' : 'host',
      PortBindings: ports.bindings,
      Mounts: mounts.mounts,
      Privileged: docker.privileged,
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      // The sandbox files are the durable copy; the daemon keeps a bounded
      // buffer for the time the agent is down.
      LogConfig: { Type: 'json-file', Config: { 'max-size': '32m', 'max-file': '2' } },
      ...(cpus > 0
        ? { CpuShares: Math.max(2, Math.round(cpus * 1024)), CpuPeriod: CPU_PERIOD_US, CpuQuota: Math.max(1000, Math.round(cpus * CPU_PERIOD_US)) }
        : {}),
      ...(memBytes > 0 ? { Memory: memBytes, MemorySwap: memBytes } : {}),
    },
  };
  return { create, sandboxDirs: mounts.sandboxDirs };
}

/** BRIDGE when set, HOST when set, else BRIDGE exactly when there are port mappings. */
export function isBridge(network: DockerNetwork, mappings: number): boolean {
  if (network === DockerNetwork.DOCKER_NETWORK_BRIDGE) return true;
  if (network === DockerNetwork.DOCKER_NETWORK_HOST) return false;
  return mappings > 0;
}

function commandOf(spec: TaskSpec, entrypointParameter: boolean, problems: string[]): Pick<Dockerode.ContainerCreateOptions, 'Cmd' | 'Entrypoint'> {
  if (spec.cmd !== '') {
    if (entrypointParameter) problems.push('the entrypoint parameter cannot be used with cmd, which runs through /bin/sh -c: use args');
    return { Entrypoint: ['/bin/sh', '-c'], Cmd: [spec.cmd] };
  }
  if (spec.args.length > 0) return { Cmd: [...spec.args] };
  return {};
}

interface PortBindings {
  exposed: Record<string, object> | undefined;
  bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> | undefined;
}

function portBindings(spec: TaskSpec, problems: string[]): PortBindings {
  const mappings = spec.container?.docker?.portMappings ?? [];
  if (spec.ports.length < mappings.length) {
    problems.push(`${mappings.length} port mappings but ${spec.ports.length} host ports were assigned`);
    return { exposed: undefined, bindings: undefined };
  }
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  mappings.forEach((m, i) => {
    const hostPort = spec.ports[i]?.number ?? 0;
    const containerPort = m.containerPort === 0 ? hostPort : m.containerPort;
    for (const protocol of (m.protocol || 'tcp').split(',')) {
      if (protocol !== 'tcp' && protocol !== 'udp') {
        problems.push(`portMappings[${i}].protocol ${JSON.stringify(m.protocol)} is not tcp, udp or udp,tcp`);
        continue;
      }
      const key = `${containerPort}/${protocol}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: '', HostPort: String(hostPort) });
    }
  });
  return { exposed, bindings };
}

function volumeMounts(spec: TaskSpec, ctx: ContainerContext, problems: string[]): { mounts: Dockerode.MountConfig; sandboxDirs: string[] } {
  const mounts: Dockerode.MountConfig = [{ Type: 'bind', Source: ctx.sandbox.dir, Target: CONTAINER_SANDBOX, ReadOnly: false }];
  const sandboxDirs: string[] = [];
  (spec.container?.volumes ?? []).forEach((v, i) => {
    const where = `volumes[${i}]`;
    if (!path.isAbsolute(v.containerPath)) problems.push(`${where}.containerPath ${JSON.stringify(v.containerPath)} is not an absolute path`);
    if (v.mode !== '' && v.mode !== 'RO' && v.mode !== 'RW') problems.push(`${where}.mode ${JSON.stringify(v.mode)} is not RO or RW`);
    let source: string;
    if (v.hostPath === '') {
      problems.push(`${where} has no hostPath`);
      return;
    } else if (path.isAbsolute(v.hostPath)) {
      if (!ctx.policy.allowHostVolumes) {
        problems.push(`host volume ${v.hostPath} is refused: start the agent with --allow-host-volumes`);
        return;
      }
      source = path.normalize(v.hostPath);
    } else {
      source = path.resolve(ctx.sandbox.dir, v.hostPath);
      if (!source.startsWith(ctx.sandbox.dir + path.sep)) {
        problems.push(`${where}.hostPath ${JSON.stringify(v.hostPath)} leaves the sandbox`);
        return;
      }
      sandboxDirs.push(source);
    }
    mounts.push({ Type: 'bind', Source: source, Target: v.containerPath, ReadOnly: v.mode === 'RO' });
  });
  return { mounts, sandboxDirs };
}

/** What the parameters add to the create request. */
interface AppliedParameters {
  config: Pick<Dockerode.ContainerCreateOptions, 'User' | 'WorkingDir' | 'Hostname' | 'Entrypoint' | 'StopSignal'>;
  hostConfig: Dockerode.HostConfig;
  env: Record<string, string>;
  labels: Record<string, string>;
}

/** Applies one `docker run` flag's value; returns a problem, or undefined. */
type ParameterHandler = (value: string, into: AppliedParameters) => string | undefined;

/** A supported flag: how it applies and whether it needs --allow-privileged. */
interface ParameterSpec {
  readonly apply: ParameterHandler;
  readonly privileged?: boolean;
}

const keyValue = (value: string): [string, string] | undefined => {
  const at = value.indexOf('=');
  return at <= 0 ? undefined : [value.slice(0, at), value.slice(at + 1)];
};

const list = (pick: (h: Dockerode.HostConfig) => unknown[] | undefined, set: (h: Dockerode.HostConfig, l: unknown[]) => void): ParameterHandler =>
  (value, into) => {
    set(into.hostConfig, [...(pick(into.hostConfig) ?? []), value]);
    return undefined;
  };

const BOOLEAN: Record<string, boolean> = { '': true, true: true, false: false };

/** Every supported flag, by its long name (short aliases point at the same entry). */
const PARAMETERS: Record<string, ParameterSpec> = {
  label: {
    apply: (value, into) => {
      const kv = keyValue(value);
      if (kv === undefined) return `label ${JSON.stringify(value)} is not key=value`;
      into.labels[kv[0]] = kv[1];
      return undefined;
    },
  },
  env: {
    apply: (value, into) => {
      const kv = keyValue(value);
      if (kv === undefined) return `env ${JSON.stringify(value)} is not NAME=value`;
      into.env[kv[0]] = kv[1];
      return undefined;
    },
  },
  user: { apply: (value, into) => void (into.config.User = value) },
  workdir: {
    apply: (value, into) => {
      if (!value.startsWith('/')) return `workdir ${JSON.stringify(value)} is not an absolute path`;
      into.config.WorkingDir = value;
      return undefined;
    },
  },
  hostname: { apply: (value, into) => void (into.config.Hostname = value) },
  entrypoint: { apply: (value, into) => void (into.config.Entrypoint = [value]) },
  'stop-signal': { apply: (value, into) => void (into.config.StopSignal = value) },
  'add-host': { apply: list((h) => h.ExtraHosts as string[] | undefined, (h, l) => (h.ExtraHosts = l)) },
  dns: { apply: list((h) => h.Dns, (h, l) => (h.Dns = l)) },
  'dns-search': { apply: list((h) => h.DnsSearch, (h, l) => (h.DnsSearch = l as string[])) },
  'dns-option': { apply: list((h) => h.DnsOptions, (h, l) => (h.DnsOptions = l)) },
  'cap-drop': { apply: list((h) => h.CapDrop as string[] | undefined, (h, l) => (h.CapDrop = l)) },
  'cap-add': { privileged: true, apply: list((h) => h.CapAdd as string[] | undefined, (h, l) => (h.CapAdd = l)) },
  'security-opt': { privileged: true, apply: list((h) => h.SecurityOpt as string[] | undefined, (h, l) => (h.SecurityOpt = l)) },
  device: {
    privileged: true,
    apply: (value, into) => {
      const [host, container, permissions] = value.split(':');
      if (host === undefined || host === '') return `device ${JSON.stringify(value)} is not HOST[:CONTAINER[:PERMISSIONS]]`;
      const devices = (into.hostConfig.Devices as unknown[] | undefined) ?? [];
      into.hostConfig.Devices = [
        ...devices,
        { PathOnHost: host, PathInContainer: container || host, CgroupPermissions: permissions || 'rwm' },
      ];
      return undefined;
    },
  },
  'group-add': { apply: list((h) => h.GroupAdd, (h, l) => (h.GroupAdd = l as string[])) },
  sysctl: {
    apply: (value, into) => {
      const kv = keyValue(value);
      if (kv === undefined) return `sysctl ${JSON.stringify(value)} is not name=value`;
      into.hostConfig.Sysctls = { ...into.hostConfig.Sysctls, [kv[0]]: kv[1] };
      return undefined;
    },
  },
  tmpfs: {
    apply: (value, into) => {
      const at = value.indexOf(':');
      const dir = at < 0 ? value : value.slice(0, at);
      if (!dir.startsWith('/')) return `tmpfs ${JSON.stringify(value)} is not an absolute path`;
      into.hostConfig.Tmpfs = { ...into.hostConfig.Tmpfs, [dir]: at < 0 ? '' : value.slice(at + 1) };
      return undefined;
    },
  },
  ulimit: {
    apply: (value, into) => {
      const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
      if (m === null) return `ulimit ${JSON.stringify(value)} is not name=soft[:hard]`;
      const soft = Number(m[2]);
      const hard = m[3] === undefined ? soft : Number(m[3]);
      into.hostConfig.Ulimits = [...(into.hostConfig.Ulimits ?? []), { Name: m[1] as string, Soft: soft, Hard: hard }];
      return undefined;
    },
  },
  'shm-size': {
    apply: (value, into) => {
      const bytes = parseBytes(value);
      if (bytes === undefined) return `shm-size ${JSON.stringify(value)} is not a size such as 64m`;
      into.hostConfig.ShmSize = bytes;
      return undefined;
    },
  },
  'pids-limit': {
    apply: (value, into) => {
      if (!/^-?\d+$/.test(value)) return `pids-limit ${JSON.stringify(value)} is not a whole number`;
      into.hostConfig.PidsLimit = Number(value);
      return undefined;
    },
  },
  'read-only': {
    apply: (value, into) => {
      const on = BOOLEAN[value];
      if (on === undefined) return `read-only ${JSON.stringify(value)} is not true or false`;
      into.hostConfig.ReadonlyRootfs = on;
      return undefined;
    },
  },
  init: {
    apply: (value, into) => {
      const on = BOOLEAN[value];
      if (on === undefined) return `init ${JSON.stringify(value)} is not true or false`;
      into.hostConfig.Init = on;
      return undefined;
    },
  },
};

const ALIASES: Record<string, string> = { l: 'label', e: 'env', u: 'user', w: 'workdir', h: 'hostname' };

/** The flags `parameters` may use, for error messages. */
export const SUPPORTED_PARAMETERS = Object.keys(PARAMETERS).sort();

function applyParameters(parameters: readonly DockerParameter[], policy: ContainerPolicy, problems: string[]): AppliedParameters {
  const into: AppliedParameters = { config: {}, hostConfig: {}, env: {}, labels: {} };
  for (const { key, value } of parameters) {
    const name = key.replace(/^-{1,2}/, '');
    const spec = PARAMETERS[ALIASES[name] ?? name];
    if (spec === undefined) {
      problems.push(`docker parameter ${JSON.stringify(key)} is not supported (supported: ${SUPPORTED_PARAMETERS.join(', ')})`);
      continue;
    }
    if (spec.privileged === true && !policy.allowPrivileged) {
      problems.push(`docker parameter ${name} is refused: start the agent with --allow-privileged`);
      continue;
    }
    const problem = spec.apply(value, into);
    if (problem !== undefined) problems.push(`docker parameter ${problem}`);
  }
  return into;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "64m" -> 67108864, as docker's --shm-size reads it (1024-based units). */
function parseBytes(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)b?$/i.exec(value.trim());
  if (m === null) return undefined;
  const unit = UNITS[(m[2] ?? '').toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}
