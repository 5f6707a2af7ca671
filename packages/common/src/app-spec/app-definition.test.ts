import { describe, expect, it } from 'vitest';
import { Code } from '../errors/code.js';
import { ValidationError } from '../errors/validation-error.js';
import { ConstraintOperator, ContainerType, DockerNetwork, HealthCheckProtocol, KillSelection, PlacementStrategy } from '@drover/proto';
import { appSpecToDefinition, normalizeAppSpec, parseAppDefinition } from './app-definition.js';

function violationsOf(input: unknown): { path: string; message: string }[] {
  try {
    parseAppDefinition(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).code).toBe(Code.InvalidArgument);
    return [...(e as ValidationError).violations];
  }
  throw new Error('expected a ValidationError');
}

describe('app definition', () => {
  it('fills Marathon defaults and normalizes the id', () => {
    const spec = parseAppDefinition({ id: 'web', cmd: 'sleep 1' });
    expect(spec).toEqual({
      id: '/web',
      cmd: 'sleep 1',
      args: [],
      cpus: 1,
      mem: 128,
      disk: 0,
      gpus: 0,
      instances: 1,
      env: {},
      labels: {},
      portDefinitions: [{ port: 0, protocol: 'tcp', name: '', labels: {} }],
      taskKillGracePeriodSeconds: 3,
      constraints: [],
      backoffSeconds: 1,
      backoffFactor: 1.15,
      maxLaunchDelaySeconds: 300,
      placementStrategy: PlacementStrategy.PLACEMENT_STRATEGY_BINPACK,
      healthChecks: [],
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1, progressDeadlineSeconds: 600 },
      container: undefined,
      fetch: [],
      user: '',
      unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 600, disabled: false },
      killSelection: KillSelection.KILL_SELECTION_YOUNGEST_FIRST,
      stopAfterDisconnectSeconds: undefined,
    });
  });

  it('parses a Docker container: BRIDGE with port mappings gets no default port, HOST keeps it', () => {
    const bridge = parseAppDefinition({
      id: 'nginx',
      container: {
        type: 'DOCKER',
        docker: { image: 'nginx:1.27', portMappings: [{ containerPort: 80, name: 'http' }], parameters: [{ key: 'label', value: 'a=b' }] },
        volumes: [{ containerPath: '/data', hostPath: 'data', mode: 'RO' }],
      },
      healthChecks: [{ protocol: 'HTTP', portIndex: 0 }],
    });
    expect(bridge.cmd).toBe('');
    expect(bridge.portDefinitions).toEqual([]);
    expect(bridge.container).toEqual({
      type: ContainerType.CONTAINER_TYPE_DOCKER,
      docker: {
        image: 'nginx:1.27',
        network: DockerNetwork.DOCKER_NETWORK_BRIDGE,
        privileged: false,
        forcePullImage: false,
        parameters: [{ key: 'label', value: 'a=b' }],
        portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 0, protocol: 'tcp', name: 'http', labels: {} }],
      },
      volumes: [{ containerPath: '/data', hostPath: 'data', mode: 'RO' }],
    });
    expect(normalizeAppSpec(bridge)).toEqual(bridge);
    const host = parseAppDefinition({ id: 'h', container: { docker: { image: 'busybox' } } });
    expect(host.container?.docker?.network).toBe(DockerNetwork.DOCKER_NETWORK_HOST);
    expect(host.portDefinitions).toHaveLength(1);
  });

  it('parses fetch and user', () => {
    const spec = parseAppDefinition({
      id: 'f',
      cmd: './run',
      user: 'nobody',
      fetch: [{ uri: 'https://example.com/app.tgz', sha256: 'A'.repeat(64), cache: true }, { uri: 'file:///opt/tool', executable: true, destPath: 'bin/tool' }],
    });
    expect(spec.user).toBe('nobody');
    expect(spec.fetch).toEqual([
      { uri: 'https://example.com/app.tgz', executable: false, extract: undefined, cache: true, destPath: '', sha256: 'a'.repeat(64) },
      { uri: 'file:///opt/tool', executable: true, extract: undefined, cache: false, destPath: 'bin/tool', sha256: '' },
    ]);
    expect(normalizeAppSpec(spec)).toEqual(spec);
  });

  it('parses health checks with Marathon defaults (MESOS_ protocols as their plain twins)', () => {
    const spec = parseAppDefinition({
      id: 'h',
      cmd: 'x',
      portDefinitions: [{ port: 0 }, { port: 0 }],
      healthChecks: [
        { protocol: 'HTTP', path: '/health', portIndex: 1, intervalSeconds: 2, timeoutSeconds: 1 },
        { protocol: 'MESOS_TCP' },
        { protocol: 'COMMAND', command: { value: 'test -f ready' } },
      ],
      upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.2 },
    });
    expect(spec.healthChecks).toEqual([
      { protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP, path: '/health', portIndex: 1, port: undefined, command: '', gracePeriodSeconds: 300, intervalSeconds: 2, timeoutSeconds: 1, maxConsecutiveFailures: 3, delaySeconds: 0, ignoreHttp1xx: false },
      { protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_TCP, path: '/', portIndex: 0, port: undefined, command: '', gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3, delaySeconds: 15, ignoreHttp1xx: false },
      expect.objectContaining({ protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_COMMAND, command: 'test -f ready' }),
    ]);
    expect(spec.upgradeStrategy).toEqual({ minimumHealthCapacity: 0.5, maximumOverCapacity: 0.2, progressDeadlineSeconds: 600 });
    expect(normalizeAppSpec(spec)).toEqual(spec);
  });

  // Marathon delays only the checks Mesos runs (COMMAND, MESOS_*); its own HTTP, HTTPS and TCP checks probe at once.
  it.each<{ protocol: string; expected: number }>([
    { protocol: 'HTTP', expected: 0 },
    { protocol: 'HTTPS', expected: 0 },
    { protocol: 'TCP', expected: 0 },
    { protocol: 'COMMAND', expected: 15 },
    { protocol: 'MESOS_HTTP', expected: 15 },
    { protocol: 'MESOS_HTTPS', expected: 15 },
    { protocol: 'MESOS_TCP', expected: 15 },
  ])('a $protocol check without delaySeconds waits $expected s; an explicit delay is kept', ({ protocol, expected }) => {
    const check = protocol === 'COMMAND' ? { protocol, command: { value: 'true' } } : { protocol };
    const defaulted = parseAppDefinition({ id: 'h', cmd: 'x', healthChecks: [check] });
    expect(defaulted.healthChecks[0]?.delaySeconds).toBe(expected);
    // Resolved once, at parsing: the gRPC path (MESOS_HTTP is HTTP by then) keeps it.
    expect(normalizeAppSpec(defaulted)).toEqual(defaulted);
    const explicit = parseAppDefinition({ id: 'h', cmd: 'x', healthChecks: [{ ...check, delaySeconds: 7 }] });
    expect(explicit.healthChecks[0]?.delaySeconds).toBe(7);
  });

  it('a gRPC check without delay_seconds takes its protocol default', () => {
    const base = parseAppDefinition({ id: 'h', cmd: 'x' });
    const spec = normalizeAppSpec({
      ...base,
      healthChecks: [
        { protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP, path: '/', command: '', ignoreHttp1xx: false },
        { protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_COMMAND, path: '', command: 'true', ignoreHttp1xx: false },
      ],
    });
    expect(spec.healthChecks.map((h) => h.delaySeconds)).toEqual([0, 15]);
  });

  it('parses constraints, backoff and the placement strategy', () => {
    const spec = parseAppDefinition({
      id: 'c',
      cmd: 'x',
      constraints: [['hostname', 'UNIQUE'], ['rack', 'GROUP_BY', '3'], ['zone', 'IN', 'a,b']],
      backoffSeconds: 2,
      backoffFactor: 2,
      maxLaunchDelaySeconds: 60,
      placementStrategy: 'spread',
    });
    expect(spec.constraints).toEqual([
      { field: 'hostname', operator: ConstraintOperator.CONSTRAINT_OPERATOR_UNIQUE, value: '' },
      { field: 'rack', operator: ConstraintOperator.CONSTRAINT_OPERATOR_GROUP_BY, value: '3' },
      { field: 'zone', operator: ConstraintOperator.CONSTRAINT_OPERATOR_IN, value: 'a,b' },
    ]);
    expect(spec).toMatchObject({ backoffSeconds: 2, backoffFactor: 2, maxLaunchDelaySeconds: 60, placementStrategy: PlacementStrategy.PLACEMENT_STRATEGY_SPREAD });
    expect(normalizeAppSpec(spec)).toEqual(spec);
    expect(appSpecToDefinition(spec)).toMatchObject({ constraints: [['hostname', 'UNIQUE'], ['rack', 'GROUP_BY', '3'], ['zone', 'IN', 'a,b']], placementStrategy: 'spread' });
  });

  it('keeps explicit values', () => {
    const spec = parseAppDefinition({
      id: '/prod/api',
      args: ['node', 'server.js'],
      cpus: 0.25,
      mem: 64,
      instances: 0,
      env: { A: '1' },
      portDefinitions: [{ port: 8080, name: 'http' }, { port: 0, protocol: 'udp' }],
      taskKillGracePeriodSeconds: 10,
    });
    expect(spec).toMatchObject({ id: '/prod/api', cmd: '', args: ['node', 'server.js'], cpus: 0.25, instances: 0 });
    expect(spec.portDefinitions.map((p) => [p.port, p.protocol, p.name])).toEqual([
      [8080, 'tcp', 'http'],
      [0, 'udp', ''],
    ]);
  });

  it.each<{ name: string; input: unknown; expected: Array<[string, RegExp]> }>([
    { name: 'not an object', input: [1, 2], expected: [['', /must be an object/]] },
    { name: 'missing id and command', input: {}, expected: [['cmd', /one of cmd or args is required/], ['id', /is required/]] },
    { name: 'bad id', input: { id: '/Web_1', cmd: 'x' }, expected: [['id', /segment "Web_1"/]] },
    { name: 'cmd and args', input: { id: 'a', cmd: 'x', args: ['y'] }, expected: [['cmd', /either cmd or args/]] },
    { name: 'empty args', input: { id: 'a', args: [] }, expected: [['args', /must not be empty/]] },
    { name: 'cpus is text', input: { id: 'a', cmd: 'x', cpus: 'two' }, expected: [['cpus', /must be a number/]] },
    { name: 'negative mem', input: { id: 'a', cmd: 'x', mem: -1 }, expected: [['mem', /at least 0/]] },
    { name: 'fractional instances', input: { id: 'a', cmd: 'x', instances: 1.5 }, expected: [['instances', /integer/]] },
    { name: 'env value not a string', input: { id: 'a', cmd: 'x', env: { N: 3 } }, expected: [['env.N', /must be a string/]] },
    {
      name: 'port too big and bad protocol',
      input: { id: 'a', cmd: 'x', portDefinitions: [{ port: 80 }, { port: 70000, protocol: 'sctp' }] },
      expected: [
        ['portDefinitions[1].port', /at most 65535/],
        ['portDefinitions[1].protocol', /must be one of "tcp", "udp", "udp,tcp"/],
      ],
    },
    {
      name: 'duplicate fixed ports and names',
      input: { id: 'a', cmd: 'x', portDefinitions: [{ port: 80, name: 'h' }, { port: 80, name: 'h' }, { port: 0 }, { port: 0 }] },
      expected: [
        ['portDefinitions[1].name', /duplicates portDefinitions\[0\]\.name/],
        ['portDefinitions[1].port', /duplicates portDefinitions\[0\]\.port/],
      ],
    },
    { name: 'bad port name', input: { id: 'a', cmd: 'x', portDefinitions: [{ name: 'HTTP' }] }, expected: [['portDefinitions[0].name', /lowercase/]] },
    { name: 'unknown field', input: { id: 'a', cmd: 'x', replicas: 3 }, expected: [['replicas', /not a known field/]] },
    { name: 'constraint not a list', input: { id: 'a', cmd: 'x', constraints: ['hostname:UNIQUE'] }, expected: [['constraints[0]', /must be \[field, operator\]/]] },
    { name: 'unknown operator', input: { id: 'a', cmd: 'x', constraints: [['rack', 'NEAR', 'x']] }, expected: [['constraints[0][1]', /must be one of UNIQUE, CLUSTER/]] },
    { name: 'empty field', input: { id: 'a', cmd: 'x', constraints: [['', 'UNIQUE']] }, expected: [['constraints[0][0]', /non-empty field name/]] },
    { name: 'bad LIKE regex', input: { id: 'a', cmd: 'x', constraints: [['rack', 'LIKE', 'r[1-']] }, expected: [['constraints[0][2]', /not a valid regular expression/]] },
    { name: 'bad UNLIKE regex', input: { id: 'a', cmd: 'x', constraints: [['h', 'UNLIKE', '(']] }, expected: [['constraints[0][2]', /not a valid regular expression/]] },
    { name: 'non-numeric MAX_PER', input: { id: 'a', cmd: 'x', constraints: [['rack', 'MAX_PER', 'two']] }, expected: [['constraints[0][2]', /MAX_PER needs a positive integer, got "two"/]] },
    { name: 'zero MAX_PER', input: { id: 'a', cmd: 'x', constraints: [['rack', 'MAX_PER', '0']] }, expected: [['constraints[0][2]', /positive integer/]] },
    { name: 'non-numeric GROUP_BY count', input: { id: 'a', cmd: 'x', constraints: [['zone', 'GROUP_BY', 'x']] }, expected: [['constraints[0][2]', /GROUP_BY needs a positive integer/]] },
    { name: 'IS without a value', input: { id: 'a', cmd: 'x', constraints: [['rack', 'IS']] }, expected: [['constraints[0][2]', /IS needs a value/]] },
    { name: 'UNIQUE with a value', input: { id: 'a', cmd: 'x', constraints: [['hostname', 'UNIQUE', 'x']] }, expected: [['constraints[0][2]', /UNIQUE takes no value/]] },
    { name: 'IN with an empty item', input: { id: 'a', cmd: 'x', constraints: [['zone', 'IN', 'a,,b']] }, expected: [['constraints[0][2]', /comma-separated list/]] },
    { name: 'numeric constraint value', input: { id: 'a', cmd: 'x', constraints: [['rack', 'MAX_PER', 2]] }, expected: [['constraints[0][2]', /must be a string/]] },
    {
      name: 'bad backoff and strategy',
      input: { id: 'a', cmd: 'x', backoffFactor: 0.5, maxLaunchDelaySeconds: -1, placementStrategy: 'random' },
      expected: [
        ['backoffFactor', /at least 1/],
        ['maxLaunchDelaySeconds', /at least 0/],
        ['placementStrategy', /must be one of "binpack", "spread"/],
      ],
    },
    {
      name: 'health check on a port the app lacks',
      input: { id: 'a', cmd: 'x', portDefinitions: [], healthChecks: [{ protocol: 'HTTP', intervalSeconds: 5, timeoutSeconds: 5 }] },
      expected: [['healthChecks[0].portIndex', /is 0 but the app has 0 ports/]],
    },
    {
      name: 'COMMAND check without a command, HTTP check with both port and portIndex',
      input: { id: 'a', cmd: 'x', healthChecks: [{ protocol: 'COMMAND' }, { protocol: 'HTTP', port: 8080, portIndex: 0 }] },
      expected: [
        ['healthChecks[0].command', /COMMAND checks need command.value/],
        ['healthChecks[1].port', /either port or portIndex/],
      ],
    },
    { name: 'docker without an image', input: { id: 'a', container: { type: 'DOCKER' } }, expected: [['container.docker', /needs docker.image/]] },
    {
      name: 'port mappings with HOST networking, relative container path',
      input: { id: 'a', container: { docker: { image: 'x', network: 'HOST', portMappings: [{ containerPort: 80 }] }, volumes: [{ containerPath: 'data', hostPath: '/d' }] } },
      expected: [
        ['container.docker.portMappings', /for BRIDGE networking/],
        ['container.volumes[0].containerPath', /absolute path/],
      ],
    },
    {
      name: 'portDefinitions with BRIDGE networking',
      input: { id: 'a', container: { docker: { image: 'x', network: 'BRIDGE' } }, portDefinitions: [{ port: 0 }] },
      expected: [['portDefinitions', /must be empty with BRIDGE networking/]],
    },
    { name: 'unknown container type', input: { id: 'a', container: { type: 'MESOS', docker: { image: 'x' } } }, expected: [['container.type', /must be one of "DOCKER"/]] },
    {
      name: 'bad fetch entries',
      input: { id: 'a', cmd: 'x', fetch: [{ uri: 'ftp://x/y' }, { uri: 'https://x/y', sha256: 'abc' }] },
      expected: [
        ['fetch[0].uri', /http:\/\/, https:\/\/ or file:\/\//],
        ['fetch[1].sha256', /64 hex digits/],
      ],
    },
    { name: 'unknown health check protocol', input: { id: 'a', cmd: 'x', healthChecks: [{ protocol: 'GRPC' }] }, expected: [['healthChecks[0].protocol', /must be one of "HTTP"/]] },
    {
      name: 'a strategy that can never replace a task',
      input: { id: 'a', cmd: 'x', upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0 } },
      expected: [['upgradeStrategy.maximumOverCapacity', /must be above 0 when minimumHealthCapacity is 1/]],
    },
    { name: 'capacity above 1', input: { id: 'a', cmd: 'x', upgradeStrategy: { minimumHealthCapacity: 1.5 } }, expected: [['upgradeStrategy.minimumHealthCapacity', /at most 1/]] },
    {
      name: 'Marathon field not supported yet',
      input: { id: 'a', cmd: 'x', readinessChecks: [] },
      expected: [['readinessChecks', /Marathon field Drover does not support yet/]],
    },
    { name: 'unknown nested field', input: { id: 'a', cmd: 'x', portDefinitions: [{ prot: 1 }] }, expected: [['portDefinitions[0].prot', /not a known field/]] },
    { name: 'negative grace period', input: { id: 'a', cmd: 'x', taskKillGracePeriodSeconds: -1 }, expected: [['taskKillGracePeriodSeconds', /at least 0/]] },
    {
      name: 'many problems at once',
      input: { id: 'a', cpus: 0, mem: 'lots', instances: -2 },
      expected: [
        ['cmd', /required/],
        ['cpus', /at least 0.001/],
        ['instances', /at least 0/],
        ['mem', /must be a number/],
      ],
    },
  ])('rejects $name', ({ input, expected }) => {
    const got = violationsOf(input);
    expect(got.map((v) => v.path)).toEqual(expected.map(([path]) => path));
    expected.forEach(([, message], i) => expect(got[i]?.message).toMatch(message));
  });

  it('round-trips an AppSpec through the JSON shape (the gRPC path)', () => {
    const spec = parseAppDefinition({ id: 'x', cmd: 'sleep 9', portDefinitions: [{ port: 0, name: 'web' }] });
    expect(normalizeAppSpec(spec)).toEqual(spec);
    expect(appSpecToDefinition(spec)).toMatchObject({ id: '/x', portDefinitions: [{ name: 'web' }] });
  });

  it('over gRPC an empty port list means no ports, and unset scalars take defaults', () => {
    const spec = normalizeAppSpec({
      id: 'x',
      cmd: 'sleep 9',
      args: [],
      env: {},
      labels: {},
      portDefinitions: [],
      constraints: [],
      placementStrategy: PlacementStrategy.PLACEMENT_STRATEGY_UNSPECIFIED,
      healthChecks: [],
      fetch: [],
      user: '',
      killSelection: KillSelection.KILL_SELECTION_UNSPECIFIED,
    });
    expect(spec.portDefinitions).toEqual([]);
    expect(spec).toMatchObject({
      cpus: 1,
      mem: 128,
      instances: 1,
      placementStrategy: PlacementStrategy.PLACEMENT_STRATEGY_BINPACK,
      killSelection: KillSelection.KILL_SELECTION_YOUNGEST_FIRST,
      unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 600, disabled: false },
    });
  });
});
