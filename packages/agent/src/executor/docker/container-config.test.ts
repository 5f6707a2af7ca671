import { ContainerType, DockerNetwork, TaskSpec } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { sandboxFor } from '../../sandbox/sandbox.js';
import {
  ContainerConfigProblems,
  type ContainerConfig,
  type ContainerPolicy,
  containerConfig,
  isBridge,
} from './container-config.js';

const sandbox = sandboxFor('/var/lib/drover-agent/tasks', 'web.1');
const strict: ContainerPolicy = { allowPrivileged: false, allowHostVolumes: false };
const lenient: ContainerPolicy = { allowPrivileged: true, allowHostVolumes: true };

type DockerFields = NonNullable<NonNullable<TaskSpec['container']>['docker']>;

function spec(extra: Partial<TaskSpec> = {}, docker: Partial<DockerFields> = {}): TaskSpec {
  return TaskSpec.fromPartial({
    taskId: 'web.1',
    appId: '/web',
    appVersion: 'v1',
    cmd: 'serve',
    ...extra,
    container: {
      type: ContainerType.CONTAINER_TYPE_DOCKER,
      volumes: extra.container?.volumes ?? [],
      docker: { image: 'nginx:1.27', ...docker },
    },
  });
}

function config(s: TaskSpec, policy = strict): ContainerConfig {
  const c = containerConfig(s, { sandbox, host: '10.0.0.1', agentId: 'agent-1', policy });
  if (c instanceof ContainerConfigProblems) throw new Error(c.message);
  return c;
}

function problems(s: TaskSpec, policy = strict): readonly string[] {
  const c = containerConfig(s, { sandbox, host: '10.0.0.1', agentId: 'agent-1', policy });
  return c instanceof ContainerConfigProblems ? c.problems : [];
}

const mapping = (containerPort: number, protocol = 'tcp', name = '') => ({ containerPort, hostPort: 0, protocol, name, labels: {}, servicePort: 0 });

describe('containerConfig', () => {
  it.each([
    { name: 'cmd through the shell, replacing the entrypoint', extra: { cmd: 'echo $HOME' }, want: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo $HOME'] } },
    { name: "args as the entrypoint's arguments", extra: { cmd: '', args: ['--port', '80'] }, want: { Cmd: ['--port', '80'] } },
    { name: "neither: the image's default", extra: { cmd: '' }, want: {} },
  ])('runs $name', ({ extra, want }) => {
    const create = config(spec(extra)).create;
    expect({ Entrypoint: create.Entrypoint, Cmd: create.Cmd }).toEqual({ Entrypoint: undefined, Cmd: undefined, ...want });
  });

  it.each([
    { name: 'no limits for 0', cpus: 0, mem: 0, want: {} },
    {
      name: 'shares, a hard cap and no swap',
      cpus: 0.25,
      mem: 64,
      want: { CpuShares: 256, CpuPeriod: 100_000, CpuQuota: 25_000, Memory: 67_108_864, MemorySwap: 67_108_864 },
    },
    { name: 'two cores', cpus: 2, mem: 0, want: { CpuShares: 2048, CpuPeriod: 100_000, CpuQuota: 200_000 } },
  ])('limits resources: $name', ({ cpus, mem, want }) => {
    const host = config(spec({ resources: { cpus, mem, disk: 0, gpus: 0, ports: [] } })).create.HostConfig ?? {};
    const picked = Object.fromEntries(
      ['CpuShares', 'CpuPeriod', 'CpuQuota', 'Memory', 'MemorySwap'].flatMap((k) => (k in host ? [[k, host[k as keyof typeof host]]] : [])),
    );
    expect(picked).toEqual(want);
  });

  it('names, labels and runs the container under docker-init, with its output kept by json-file', () => {
    const { create } = config(spec({ labels: { team: 'web', 'drover.task-id': 'spoofed' } }, { parameters: [{ key: 'label', value: 'extra=1' }] }));
    expect(create.name).toBe('drover-web.1');
    expect(create.Image).toBe('nginx:1.27');
    expect(create.Labels).toEqual({ team: 'web', extra: '1', 'drover.task-id': 'web.1', 'drover.app-id': '/web', 'drover.agent-id': 'agent-1' });
    expect(create.HostConfig).toMatchObject({
      Init: true,
      NetworkMode: 'host',
      Privileged: false,
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file' },
      Mounts: [{ Type: 'bind', Source: '/var/lib/drover-agent/tasks/web.1', Target: '/mnt/drover/sandbox', ReadOnly: false }],
    });
  });

  it('builds the environment from scratch: parameters, then the app, then Drover', () => {
    const s = spec(
      { env: { A: 'app', B: 'app', PORT0: 'app' }, ports: [{ number: 31000, name: 'http', protocol: 'tcp' }] },
      { parameters: [{ key: 'e', value: 'B=param' }, { key: '--env', value: 'C=param' }] },
    );
    const env = Object.fromEntries((config(s).create.Env ?? []).map((kv) => kv.split(/=(.*)/s).slice(0, 2)));
    expect(env).toEqual({
      A: 'app',
      B: 'app',
      C: 'param',
      PORT0: '31000',
      PORT: '31000',
      PORTS: '31000',
      PORT_HTTP: '31000',
      HOST: '10.0.0.1',
      DROVER_TASK_ID: 'web.1',
      DROVER_APP_ID: '/web',
      DROVER_APP_VERSION: 'v1',
      DROVER_SANDBOX: '/mnt/drover/sandbox',
    });
  });

  it('publishes BRIDGE mappings on the assigned host ports, containerPort 0 being the host port', () => {
    const s = spec(
      {
        ports: [
          { number: 31000, name: 'web', protocol: 'tcp' },
          { number: 31001, name: '', protocol: 'udp,tcp' },
        ],
      },
      { network: DockerNetwork.DOCKER_NETWORK_BRIDGE, portMappings: [mapping(80, 'tcp', 'web'), mapping(0, 'udp,tcp')] },
    );
    const { create } = config(s);
    expect(create.HostConfig?.NetworkMode).toBe('bridge');
    expect(create.ExposedPorts).toEqual({ '80/tcp': {}, '31001/udp': {}, '31001/tcp': {} });
    expect(create.HostConfig?.PortBindings).toEqual({
      '80/tcp': [{ HostIp: '', HostPort: '31000' }],
      '31001/udp': [{ HostIp: '', HostPort: '31001' }],
      '31001/tcp': [{ HostIp: '', HostPort: '31001' }],
    });
  });

  it.each([
    { name: 'HOST when set', network: DockerNetwork.DOCKER_NETWORK_HOST, mappings: 1, bridge: false },
    { name: 'BRIDGE when set', network: DockerNetwork.DOCKER_NETWORK_BRIDGE, mappings: 0, bridge: true },
    { name: 'BRIDGE when unset with mappings', network: DockerNetwork.DOCKER_NETWORK_UNSPECIFIED, mappings: 2, bridge: true },
    { name: 'HOST when unset without', network: DockerNetwork.DOCKER_NETWORK_UNSPECIFIED, mappings: 0, bridge: false },
  ])('picks the network: $name', ({ network, mappings, bridge }) => {
    expect(isBridge(network, mappings)).toBe(bridge);
  });

  it('mounts relative volumes inside the sandbox and absolute ones from the host when allowed', () => {
    const s = spec({
      container: {
        type: ContainerType.CONTAINER_TYPE_DOCKER,
        volumes: [
          { containerPath: '/data', hostPath: 'data/cache', mode: 'RW' },
          { containerPath: '/etc/app', hostPath: '/srv/app/conf/', mode: 'RO' },
        ],
      },
    });
    const c = config(s, lenient);
    expect(c.sandboxDirs).toEqual(['/var/lib/drover-agent/tasks/web.1/data/cache']);
    expect(c.create.HostConfig?.Mounts?.slice(1)).toEqual([
      { Type: 'bind', Source: '/var/lib/drover-agent/tasks/web.1/data/cache', Target: '/data', ReadOnly: false },
      { Type: 'bind', Source: '/srv/app/conf/', Target: '/etc/app', ReadOnly: true },
    ]);
  });

  it('applies the parameters it supports', () => {
    const { create } = config(
      spec({}, {
        parameters: [
          { key: 'user', value: 'www' },
          { key: 'w', value: '/srv' },
          { key: 'hostname', value: 'web' },
          { key: 'stop-signal', value: 'SIGQUIT' },
          { key: 'add-host', value: 'db:10.0.0.5' },
          { key: 'dns', value: '10.0.0.2' },
          { key: 'cap-drop', value: 'NET_RAW' },
          { key: 'ulimit', value: 'nofile=1024:2048' },
          { key: 'shm-size', value: '64m' },
          { key: 'pids-limit', value: '100' },
          { key: 'read-only', value: '' },
          { key: 'tmpfs', value: '/run:size=1m' },
          { key: 'sysctl', value: 'net.core.somaxconn=1024' },
          { key: 'init', value: 'false' },
        ],
      }),
    );
    expect(create).toMatchObject({ User: 'www', WorkingDir: '/srv', Hostname: 'web', StopSignal: 'SIGQUIT' });
    expect(create.HostConfig).toMatchObject({
      ExtraHosts: ['db:10.0.0.5'],
      Dns: ['10.0.0.2'],
      CapDrop: ['NET_RAW'],
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
      ShmSize: 64 * 1024 * 1024,
      PidsLimit: 100,
      ReadonlyRootfs: true,
      Tmpfs: { '/run': 'size=1m' },
      Sysctls: { 'net.core.somaxconn': '1024' },
      Init: false,
    });
  });

  it("runs as the spec's user unless a user parameter says otherwise", () => {
    expect(config(spec({ user: 'app' })).create.User).toBe('app');
    expect(config(spec({ user: 'app' }, { parameters: [{ key: 'u', value: '1000' }] })).create.User).toBe('1000');
    expect(config(spec()).create.User).toBeUndefined();
  });

  it('lets an allowed agent run privileged containers with host-widening parameters', () => {
    const { create } = config(spec({}, { privileged: true, parameters: [{ key: 'cap-add', value: 'SYS_ADMIN' }, { key: 'device', value: '/dev/fuse' }] }), lenient);
    expect(create.HostConfig).toMatchObject({
      Privileged: true,
      CapAdd: ['SYS_ADMIN'],
      Devices: [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }],
    });
  });

  it.each([
    { name: 'no image', s: () => spec({}, { image: '' }), want: ['a DOCKER container needs docker.image'] },
    {
      name: 'privileged on a strict agent',
      s: () => spec({}, { privileged: true }),
      want: ['privileged containers are refused: start the agent with --allow-privileged'],
    },
    {
      name: 'host-widening parameters on a strict agent',
      s: () => spec({}, { parameters: [{ key: 'cap-add', value: 'ALL' }, { key: 'security-opt', value: 'seccomp=unconfined' }] }),
      want: [
        'docker parameter cap-add is refused: start the agent with --allow-privileged',
        'docker parameter security-opt is refused: start the agent with --allow-privileged',
      ],
    },
    {
      name: 'volumes: a host path, an escape, a relative container path, a bad mode',
      s: () =>
        spec({
          container: {
            type: ContainerType.CONTAINER_TYPE_DOCKER,
            volumes: [
              { containerPath: '/a', hostPath: '/var/lib/secrets', mode: 'RW' },
              { containerPath: '/b', hostPath: '../other-task', mode: 'RW' },
              { containerPath: 'c', hostPath: 'c', mode: 'WO' },
              { containerPath: '/d', hostPath: '', mode: 'RW' },
            ],
          },
        }),
      want: [
        'host volume /var/lib/secrets is refused: start the agent with --allow-host-volumes',
        'volumes[1].hostPath "../other-task" leaves the sandbox',
        'volumes[2].containerPath "c" is not an absolute path',
        'volumes[2].mode "WO" is not RO or RW',
        'volumes[3] has no hostPath',
      ],
    },
    {
      name: 'unknown and malformed parameters',
      s: () =>
        spec({}, {
          parameters: [
            { key: 'volume', value: '/:/host' },
            { key: 'label', value: 'novalue' },
            { key: 'workdir', value: 'relative' },
            { key: 'ulimit', value: 'nofile' },
            { key: 'shm-size', value: 'big' },
          ],
        }),
      want: [
        expect.stringMatching(/^docker parameter "volume" is not supported \(supported: add-host, cap-add, cap-drop, .*workdir\)$/),
        'docker parameter label "novalue" is not key=value',
        'docker parameter workdir "relative" is not an absolute path',
        'docker parameter ulimit "nofile" is not name=soft[:hard]',
        'docker parameter shm-size "big" is not a size such as 64m',
      ],
    },
    {
      name: 'an entrypoint with cmd',
      s: () => spec({}, { parameters: [{ key: 'entrypoint', value: '/app' }] }),
      want: ['the entrypoint parameter cannot be used with cmd, which runs through /bin/sh -c: use args'],
    },
    {
      name: 'fewer host ports than mappings',
      s: () => spec({ ports: [] }, { network: DockerNetwork.DOCKER_NETWORK_BRIDGE, portMappings: [mapping(80)] }),
      want: ['1 port mappings but 0 host ports were assigned'],
    },
    {
      name: 'a bad protocol',
      s: () => spec({ ports: [{ number: 31000, name: '', protocol: 'sctp' }] }, { portMappings: [mapping(80, 'sctp')] }),
      want: ['portMappings[0].protocol "sctp" is not tcp, udp or udp,tcp'],
    },
  ])('refuses, listing every problem: $name', ({ s, want }) => {
    expect(problems(s())).toEqual(want);
  });
});
