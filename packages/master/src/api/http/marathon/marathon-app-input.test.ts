import { appDefinitionSchema, ValidationError } from '@drover/common';
import { type AppSpec, ConstraintOperator, HealthCheckProtocol, KillSelection } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { MARATHON_1_4_APP_ANSWER, MARATHON_1_9_APP_ANSWER } from '../../../testing/marathon-app-fixtures.js';
import { fromMarathonApp, MARATHON_FIELD_RULES, parseMarathonApp } from './marathon-app-input.js';

const BASE = { id: 'a', cmd: 'sleep 1' };

function violationsOf(input: unknown): Array<[string, string]> {
  try {
    parseMarathonApp(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).violations.map((v) => [v.path, v.message]);
  }
  throw new Error('expected a ValidationError');
}

describe('Marathon fields with their no-op default are accepted and dropped', () => {
  it.each<{ name: string; fields: Record<string, unknown> }>([
    { name: 'requirePorts false', fields: { requirePorts: false } },
    { name: 'requirePorts true', fields: { requirePorts: true } },
    { name: 'requirePorts null', fields: { requirePorts: null } },
    { name: 'uris []', fields: { uris: [] } },
    { name: 'fetch []', fields: { fetch: [] } },
    { name: 'storeUrls []', fields: { storeUrls: [] } },
    { name: 'dependencies []', fields: { dependencies: [] } },
    { name: 'readinessChecks []', fields: { readinessChecks: [] } },
    { name: 'executor ""', fields: { executor: '' } },
    { name: 'executor //cmd', fields: { executor: '//cmd' } },
    { name: 'user null', fields: { user: null } },
    { name: 'acceptedResourceRoles null', fields: { acceptedResourceRoles: null } },
    { name: 'acceptedResourceRoles ["*"]', fields: { acceptedResourceRoles: ['*'] } },
    { name: 'role *', fields: { role: '*' } },
    { name: 'ipAddress null', fields: { ipAddress: null } },
    { name: 'residency null', fields: { residency: null } },
    { name: 'secrets {}', fields: { secrets: {} } },
    { name: 'killSelection YOUNGEST_FIRST (the default)', fields: { killSelection: 'YOUNGEST_FIRST' } },
    { name: 'host networking', fields: { networks: [{ mode: 'host' }] } },
    { name: 'container null', fields: { container: null } },
    { name: 'plain MESOS container', fields: { container: { type: 'MESOS', volumes: [] } } },
    { name: "Drover's default unreachableStrategy", fields: { unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 600 } } },
    { name: 'check null', fields: { check: null } },
    {
      name: 'read-only fields',
      fields: {
        version: '2017-01-01T00:00:00.000Z',
        versionInfo: { lastScalingAt: 'x', lastConfigChangeAt: 'y' },
        tasksStaged: 1,
        tasksRunning: 2,
        tasksHealthy: 2,
        tasksUnhealthy: 0,
        deployments: [{ id: 'd' }],
        tasks: [{ id: 't' }],
        lastTaskFailure: { taskId: 't' },
        readinessCheckResults: [],
        taskStats: {},
      },
    },
  ])('$name', ({ fields }) => {
    expect(parseMarathonApp({ ...BASE, ...fields })).toEqual(parseMarathonApp(BASE));
  });

  it('null means "not given" for Drover fields, and args: [] means no args', () => {
    const spec = parseMarathonApp({ id: 'a', cmd: 'x', args: [], user: null, taskKillGracePeriodSeconds: null, labels: null });
    expect(spec).toEqual(parseMarathonApp({ id: 'a', cmd: 'x' }));
    expect(parseMarathonApp({ id: 'a', cmd: null, args: ['node', 'x.js'] }).args).toEqual(['node', 'x.js']);
  });

  it('health check ipProtocol IPv4 and null nested fields are dropped', () => {
    const spec = parseMarathonApp({ ...BASE, healthChecks: [{ protocol: 'TCP', ipProtocol: 'IPv4', port: null, portIndex: 0 }] });
    expect(spec.healthChecks[0]).toMatchObject({ protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_TCP, portIndex: 0 });
  });

  it.each<{ name: string; fields: Record<string, unknown>; ports: number[] }>([
    { name: 'ports alone become portDefinitions', fields: { ports: [0, 8080], requirePorts: true }, ports: [0, 8080] },
    { name: 'ports equal to portDefinitions', fields: { ports: [8080], portDefinitions: [{ port: 8080, name: 'http' }], requirePorts: true }, ports: [8080] },
    { name: 'no ports at all', fields: { ports: [], portDefinitions: [] }, ports: [] },
  ])('$name', ({ fields, ports }) => {
    expect(parseMarathonApp({ ...BASE, ...fields }).portDefinitions.map((p) => p.port)).toEqual(ports);
  });
});

describe('Marathon features Drover runs', () => {
  it.each<{ name: string; fields: Record<string, unknown>; expected: Partial<AppSpec> }>([
    { name: 'unreachableStrategy as Marathon writes it', fields: { unreachableStrategy: { inactiveAfterSeconds: 300, expungeAfterSeconds: 600 } }, expected: { unreachableStrategy: { inactiveAfterSeconds: 300, expungeAfterSeconds: 600, disabled: false } } },
    { name: 'unreachableStrategy with a field left out', fields: { unreachableStrategy: { inactiveAfterSeconds: 60 } }, expected: { unreachableStrategy: { inactiveAfterSeconds: 60, expungeAfterSeconds: 600, disabled: false } } },
    { name: 'unreachableStrategy "disabled"', fields: { unreachableStrategy: 'disabled' }, expected: { unreachableStrategy: { disabled: true } } },
    { name: 'no unreachableStrategy: replaced at once', fields: {}, expected: { unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 600, disabled: false }, killSelection: KillSelection.KILL_SELECTION_YOUNGEST_FIRST } },
    { name: 'killSelection OLDEST_FIRST', fields: { killSelection: 'OLDEST_FIRST' }, expected: { killSelection: KillSelection.KILL_SELECTION_OLDEST_FIRST } },
    { name: 'stopAfterDisconnectSeconds (Drover extension)', fields: { stopAfterDisconnectSeconds: 20 }, expected: { stopAfterDisconnectSeconds: 20 } },
  ])('$name', ({ fields, expected }) => {
    expect(parseMarathonApp({ ...BASE, ...fields })).toMatchObject(expected);
  });


  it.each([
    { name: 'a Docker container', fields: { container: { type: 'DOCKER', docker: { image: 'nginx:1.25', network: 'BRIDGE', portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 10000, protocol: 'tcp' }] } } } },
    { name: 'fetch', fields: { fetch: [{ uri: 'https://example.com/app.tgz', extract: true, executable: false, cache: false }] } },
    { name: 'user', fields: { user: 'nobody' } },
  ])('$name', ({ fields }) => {
    expect(() => parseMarathonApp({ id: 'ok', cmd: 'x', ...fields })).not.toThrow();
  });
});

describe('Marathon fields with other values are reported, never dropped', () => {
  it.each<{ name: string; fields: Record<string, unknown>; path: string; message: RegExp }>([
    { name: 'requirePorts not a boolean', fields: { requirePorts: 1 }, path: 'requirePorts', message: /^is 1 but Drover does not support it; only true or false is accepted$/ },
    { name: 'uris', fields: { uris: ['https://example.com/app.tgz'] }, path: 'uris', message: /^has 1 entry but Drover does not support it; only \[\] is accepted$/ },
    { name: 'fetch with a bad URI (fetch is supported)', fields: { fetch: [{ uri: 'a' }] }, path: 'fetch[0].uri', message: /^must be an http:\/\/, https:\/\/ or file:\/\/ URI$/ },
    { name: 'storeUrls', fields: { storeUrls: ['s3://x'] }, path: 'storeUrls', message: /not support/ },
    { name: 'dependencies', fields: { dependencies: ['/db'] }, path: 'dependencies', message: /not support/ },
    { name: 'readinessChecks', fields: { readinessChecks: [{ name: 'ready' }] }, path: 'readinessChecks', message: /not support/ },
    { name: 'custom executor', fields: { executor: '/opt/executor' }, path: 'executor', message: /^is "\/opt\/executor" but Drover does not support it; only "" or "\/\/cmd" is accepted$/ },
    { name: 'resource roles', fields: { acceptedResourceRoles: ['slave_public'] }, path: 'acceptedResourceRoles', message: /only null or \["\*"\] is accepted/ },
    { name: 'role', fields: { role: 'slave_public' }, path: 'role', message: /^is "slave_public" but/ },
    { name: 'ip per container', fields: { ipAddress: { networkName: 'dcos' } }, path: 'ipAddress', message: /^is \{"networkName":"dcos"\} but/ },
    { name: 'residency', fields: { residency: { taskLostBehavior: 'WAIT_FOREVER' } }, path: 'residency', message: /not support/ },
    { name: 'secrets', fields: { secrets: { db: { source: 'db-pass' } } }, path: 'secrets', message: /not support/ },
    { name: 'killSelection unknown', fields: { killSelection: 'RANDOM' }, path: 'killSelection', message: /^must be one of "YOUNGEST_FIRST", "OLDEST_FIRST"$/ },
    { name: 'container networking', fields: { networks: [{ mode: 'container', name: 'dcos' }] }, path: 'networks', message: /only \[\{"mode": "host"\}\] is accepted/ },
    { name: 'a MESOS container with an image (the Mesos containerizer)', fields: { container: { type: 'MESOS', docker: { image: 'nginx' } } }, path: 'container.type', message: /^must be one of "DOCKER"$/ },
    {
      name: 'unreachableStrategy inactive after expunge',
      fields: { unreachableStrategy: { inactiveAfterSeconds: 700, expungeAfterSeconds: 600 } },
      path: 'unreachableStrategy.inactiveAfterSeconds',
      message: /^must be at most expungeAfterSeconds \(600\)$/,
    },
    { name: 'unreachableStrategy negative', fields: { unreachableStrategy: { inactiveAfterSeconds: -1 } }, path: 'unreachableStrategy.inactiveAfterSeconds', message: /^must be at least 0$/ },
    { name: 'unreachableStrategy beyond a week', fields: { unreachableStrategy: { expungeAfterSeconds: 604801 } }, path: 'unreachableStrategy.expungeAfterSeconds', message: /^must be at most 604800$/ },
    { name: 'stopAfterDisconnectSeconds zero', fields: { stopAfterDisconnectSeconds: 0 }, path: 'stopAfterDisconnectSeconds', message: /./ },
    { name: 'health check over IPv6', fields: { healthChecks: [{ protocol: 'MESOS_HTTP', ipProtocol: 'IPv6' }] }, path: 'healthChecks[0].ipProtocol', message: /^is "IPv6" but .* only "IPv4" is accepted$/ },
    { name: 'secret in env', fields: { env: { DB_PASSWORD: { secret: 'db' } } }, path: 'env.DB_PASSWORD', message: /^is a secret reference but Drover does not support secrets$/ },
    { name: 'ports disagreeing with portDefinitions', fields: { ports: [80], portDefinitions: [{ port: 81 }] }, path: 'ports', message: /^is \[80\] but portDefinitions has ports \[81\]/ },
    { name: 'ports not numbers', fields: { ports: ['http'] }, path: 'ports', message: /^must be a list of port numbers$/ },
    { name: 'a field nobody knows', fields: { colour: 'blue' }, path: 'colour', message: /^is not a known field$/ },
  ])('$name', ({ fields, path, message }) => {
    const problems = violationsOf({ ...BASE, ...fields });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.[0]).toBe(path);
    expect(problems[0]?.[1]).toMatch(message);
  });

  it.each([
    { name: 'without requirePorts a port is a service port: any host port', requirePorts: undefined, port: 0 },
    { name: 'requirePorts false: the same', requirePorts: false, port: 0 },
    { name: 'requirePorts true: the port is a required host port', requirePorts: true, port: 10000 },
  ])('$name', ({ requirePorts, port }) => {
    const spec = parseMarathonApp({ id: 'p', cmd: 'x', requirePorts, portDefinitions: [{ port: 10000, name: 'http' }] });
    expect(spec.portDefinitions.map((p) => [p.port, p.name])).toEqual([[port, 'http']]);
  });

  it('reports every problem at once: Marathon-only fields and the definition\'s own, by path', () => {
    const problems = violationsOf({ id: 'Web', cpus: 'two', requirePorts: 'no', user: 'root', container: { type: 'DOCKER', docker: { image: 'x', network: 'BRIDGE' } }, portDefinitions: [{ port: 99999 }] });
    expect(problems.map(([path]) => path)).toEqual(['cpus', 'id', 'portDefinitions', 'portDefinitions[0].port', 'requirePorts']);
  });

  it('has a rule for every Marathon-only field the schema knows by name', async () => {
    const { UNSUPPORTED_MARATHON_FIELDS } = await import('@drover/common');
    for (const field of UNSUPPORTED_MARATHON_FIELDS) {
      if (field === 'ports') continue; // the portDefinitions alias, handled on its own
      expect(MARATHON_FIELD_RULES[field], field).toBeDefined();
    }
  });
});

describe('keys named like Object.prototype members', () => {
  const NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];

  // JSON.parse makes each of these an own key, as a request body would.
  it.each(NAMES.flatMap((name) => [
    { name, where: 'at the top', json: `{"id": "a", "cmd": "x", "${name}": {"cmd": "evil"}}`, path: name },
    { name, where: 'in healthChecks[0]', json: `{"id": "a", "cmd": "x", "healthChecks": [{"protocol": "HTTP", "${name}": 1}]}`, path: `healthChecks[0].${name}` },
    { name, where: 'in portDefinitions[0]', json: `{"id": "a", "cmd": "x", "portDefinitions": [{"port": 0, "${name}": 1}]}`, path: `portDefinitions[0].${name}` },
  ]))('"$name" $where is an unknown field, never a rule or a prototype', ({ json, path }) => {
    expect(violationsOf(JSON.parse(json))).toEqual([[path, 'is not a known field']]);
  });

  it.each(NAMES.filter((n) => n !== '__proto__'))('"%s" is an ordinary env variable name', (name) => {
    expect(parseMarathonApp(JSON.parse(`{"id": "a", "cmd": "x", "env": {"${name}": "1"}}`)).env).toEqual({ [name]: '1' });
  });
});

describe('a real Marathon GET /v2/apps/{id} answer', () => {
  it.each([
    { name: 'Marathon 1.4', answer: MARATHON_1_4_APP_ANSWER },
    { name: 'Marathon 1.9', answer: MARATHON_1_9_APP_ANSWER },
  ])('$name: only Drover fields are left for the parser', ({ answer }) => {
    const { definition, violations } = fromMarathonApp(answer.app);
    expect(violations).toEqual([]);
    const known = Object.keys(appDefinitionSchema.shape);
    expect(Object.keys(definition as Record<string, unknown>).filter((k) => !known.includes(k))).toEqual([]);
  });

  it('Marathon 1.4: deploys unchanged, as its author meant', () => {
    const spec = parseMarathonApp(MARATHON_1_4_APP_ANSWER.app);
    expect(spec).toMatchObject({
      id: '/prod/web',
      cmd: 'python3 -m http.server $PORT0',
      args: [],
      instances: 2,
      cpus: 0.1,
      mem: 64,
      env: { LOG_LEVEL: 'info' },
      labels: { HAPROXY_GROUP: 'external', owner: 'zeus' },
      constraints: [{ field: 'hostname', operator: ConstraintOperator.CONSTRAINT_OPERATOR_UNIQUE, value: '' }],
      // 10000 is a service port (requirePorts is false): the task gets any host port.
      portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http', labels: {} }],
      maxLaunchDelaySeconds: 3600,
      taskKillGracePeriodSeconds: 3,
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1, progressDeadlineSeconds: 600 },
    });
    expect(spec.healthChecks).toEqual([expect.objectContaining({ protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP, path: '/', portIndex: 0, intervalSeconds: 30 })]);
  });

  it('takes timeoutSeconds equal to intervalSeconds, as Marathon does (its docs example has 20 and 20)', () => {
    const check = { ...MARATHON_1_4_APP_ANSWER.app.healthChecks[0], intervalSeconds: 20, timeoutSeconds: 20 };
    const spec = parseMarathonApp({ ...MARATHON_1_4_APP_ANSWER.app, healthChecks: [check] });
    expect(spec.healthChecks[0]).toMatchObject({ intervalSeconds: 20, timeoutSeconds: 20 });
  });

  it('Marathon 1.9: deploys unchanged, as its author meant', () => {
    const spec = parseMarathonApp(MARATHON_1_9_APP_ANSWER.app);
    expect(spec).toMatchObject({
      id: '/tools/worker',
      cmd: '',
      args: ['node', 'worker.js', '--queue', 'jobs'],
      instances: 3,
      portDefinitions: [{ port: 0, protocol: 'tcp', name: 'metrics', labels: {} }],
      upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.5, progressDeadlineSeconds: 600 },
    });
    expect(spec.healthChecks).toEqual([expect.objectContaining({ protocol: HealthCheckProtocol.HEALTH_CHECK_PROTOCOL_HTTP, path: '/health', maxConsecutiveFailures: 5 })]);
  });
});
