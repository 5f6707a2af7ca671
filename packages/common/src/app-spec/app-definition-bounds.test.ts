/**
 * Every bound of the app schema, each at its limit (accepted) and one past
 * it (refused with the field's path): the limits are in app-spec-limits.ts
 * and resources/resource-limits.ts, and each must fit the proto field that
 * carries the value (AppSpec.encode fails on a uint32 past 2^32-1).
 */
import { AppSpec } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { RESOURCE_LIMITS } from '../resources/resource-limits.js';
import { parseAppDefinition } from './app-definition.js';
import {
  MAX_APP_ID_LENGTH,
  MAX_ARGS,
  MAX_BACKOFF_FACTOR,
  MAX_CONSECUTIVE_FAILURES,
  MAX_DURATION_SECONDS,
  MAX_INSTANCES,
  MAX_LIST_ITEMS,
  MAX_LONG_TEXT_LENGTH,
  MAX_MAP_ENTRIES,
  MAX_NAME_LENGTH,
  MAX_TEXT_LENGTH,
} from './app-spec-limits.js';

const BASE = { id: 'a', cmd: 'x' };

/** `count` entries of a map, named k0, k1, ... */
function entries(count: number, value = 'v'): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, value]));
}

/** An id of exactly `length` characters (segments of 50 joined by slashes). */
function idOf(length: number): string {
  let id = '';
  while (id.length < length) id += id.length % 51 === 50 ? '/' : 'a';
  return id.endsWith('/') ? `${id.slice(0, -1)}b` : id;
}

function violations(input: unknown): Array<[string, string]> {
  try {
    parseAppDefinition(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).violations.map((v) => [v.path, v.message]);
  }
  return [];
}

const check = (fields: Record<string, unknown>) => ({ ...BASE, healthChecks: [{ protocol: 'TCP', ...fields }] });
const command = (value: string) => ({ ...BASE, healthChecks: [{ protocol: 'COMMAND', command: { value } }] });
const docker = (fields: Record<string, unknown>) => ({ id: 'a', container: { docker: { image: 'busybox', ...fields } } });

describe('app schema bounds', () => {
  it.each<{ name: string; at: Record<string, unknown>; over: Record<string, unknown>; path: string; message: RegExp }>([
    { name: 'id length', at: { ...BASE, id: idOf(MAX_APP_ID_LENGTH) }, over: { ...BASE, id: idOf(MAX_APP_ID_LENGTH + 1) }, path: 'id', message: /at most 200 characters/ },
    { name: 'instances (a uint32 on the wire)', at: { ...BASE, instances: MAX_INSTANCES }, over: { ...BASE, instances: 4294967296 }, path: 'instances', message: /at most 100000/ },
    { name: 'instances one past the cap', at: { ...BASE, instances: MAX_INSTANCES }, over: { ...BASE, instances: MAX_INSTANCES + 1 }, path: 'instances', message: /at most/ },
    { name: 'cpus', at: { ...BASE, cpus: RESOURCE_LIMITS.cpus }, over: { ...BASE, cpus: RESOURCE_LIMITS.cpus + 0.001 }, path: 'cpus', message: /at most 65536/ },
    { name: 'mem', at: { ...BASE, mem: RESOURCE_LIMITS.mem }, over: { ...BASE, mem: RESOURCE_LIMITS.mem + 1 }, path: 'mem', message: /at most/ },
    { name: 'disk', at: { ...BASE, disk: RESOURCE_LIMITS.disk }, over: { ...BASE, disk: RESOURCE_LIMITS.disk + 1 }, path: 'disk', message: /at most/ },
    { name: 'gpus (a uint32)', at: { ...BASE, gpus: RESOURCE_LIMITS.gpus }, over: { ...BASE, gpus: RESOURCE_LIMITS.gpus + 1 }, path: 'gpus', message: /at most 1024/ },
    { name: 'backoffSeconds (a timer)', at: { ...BASE, backoffSeconds: MAX_DURATION_SECONDS }, over: { ...BASE, backoffSeconds: 3_000_000 }, path: 'backoffSeconds', message: /at most 604800/ },
    { name: 'maxLaunchDelaySeconds (a timer)', at: { ...BASE, maxLaunchDelaySeconds: MAX_DURATION_SECONDS }, over: { ...BASE, maxLaunchDelaySeconds: 3_000_000 }, path: 'maxLaunchDelaySeconds', message: /at most 604800/ },
    { name: 'backoffFactor', at: { ...BASE, backoffFactor: MAX_BACKOFF_FACTOR }, over: { ...BASE, backoffFactor: MAX_BACKOFF_FACTOR + 1 }, path: 'backoffFactor', message: /at most 100/ },
    { name: 'taskKillGracePeriodSeconds', at: { ...BASE, taskKillGracePeriodSeconds: MAX_DURATION_SECONDS }, over: { ...BASE, taskKillGracePeriodSeconds: MAX_DURATION_SECONDS + 1 }, path: 'taskKillGracePeriodSeconds', message: /at most/ },
    { name: 'cmd length', at: { ...BASE, cmd: 'x'.repeat(MAX_LONG_TEXT_LENGTH) }, over: { ...BASE, cmd: 'x'.repeat(MAX_LONG_TEXT_LENGTH + 1) }, path: 'cmd', message: /at most 65536 characters/ },
    { name: 'args count', at: { id: 'a', args: Array(MAX_ARGS).fill('x') }, over: { id: 'a', args: Array(MAX_ARGS + 1).fill('x') }, path: 'args', message: /at most 1024 items/ },
    { name: 'one arg length', at: { id: 'a', args: ['x'.repeat(MAX_LONG_TEXT_LENGTH)] }, over: { id: 'a', args: ['x', 'x'.repeat(MAX_LONG_TEXT_LENGTH + 1)] }, path: 'args[1]', message: /at most 65536 characters/ },
    { name: 'env entries', at: { ...BASE, env: entries(MAX_MAP_ENTRIES) }, over: { ...BASE, env: entries(MAX_MAP_ENTRIES + 1) }, path: 'env', message: /at most 1024 entries/ },
    { name: 'env value length', at: { ...BASE, env: { A: 'x'.repeat(MAX_LONG_TEXT_LENGTH) } }, over: { ...BASE, env: { A: 'x'.repeat(MAX_LONG_TEXT_LENGTH + 1) } }, path: 'env.A', message: /at most 65536 characters/ },
    { name: 'env name length', at: { ...BASE, env: { ['N'.repeat(MAX_NAME_LENGTH)]: 'v' } }, over: { ...BASE, env: { ['N'.repeat(MAX_NAME_LENGTH + 1)]: 'v' } }, path: 'env', message: /has a name "N+\.\.\." that must be at most 256 characters/ },
    { name: 'labels entries', at: { ...BASE, labels: entries(MAX_MAP_ENTRIES) }, over: { ...BASE, labels: entries(MAX_MAP_ENTRIES + 1) }, path: 'labels', message: /at most 1024 entries/ },
    { name: 'label value length', at: { ...BASE, labels: { l: 'x'.repeat(MAX_LONG_TEXT_LENGTH) } }, over: { ...BASE, labels: { l: 'x'.repeat(MAX_LONG_TEXT_LENGTH + 1) } }, path: 'labels.l', message: /at most 65536 characters/ },
    { name: 'user length', at: { ...BASE, user: 'u'.repeat(MAX_NAME_LENGTH) }, over: { ...BASE, user: 'u'.repeat(MAX_NAME_LENGTH + 1) }, path: 'user', message: /at most 256 characters/ },
    {
      name: 'portDefinitions count',
      at: { ...BASE, portDefinitions: Array(MAX_LIST_ITEMS).fill({ port: 0 }) },
      over: { ...BASE, portDefinitions: Array(MAX_LIST_ITEMS + 1).fill({ port: 0 }) },
      path: 'portDefinitions',
      message: /at most 256 items/,
    },
    { name: 'port name length', at: { ...BASE, portDefinitions: [{ name: 'p'.repeat(MAX_NAME_LENGTH) }] }, over: { ...BASE, portDefinitions: [{ name: 'p'.repeat(MAX_NAME_LENGTH + 1) }] }, path: 'portDefinitions[0].name', message: /at most 256 characters/ },
    { name: 'port label entries', at: { ...BASE, portDefinitions: [{ labels: entries(MAX_MAP_ENTRIES) }] }, over: { ...BASE, portDefinitions: [{ labels: entries(MAX_MAP_ENTRIES + 1) }] }, path: 'portDefinitions[0].labels', message: /at most 1024 entries/ },
    {
      name: 'constraints count',
      at: { ...BASE, constraints: Array(MAX_LIST_ITEMS).fill(['hostname', 'UNIQUE']) },
      over: { ...BASE, constraints: Array(MAX_LIST_ITEMS + 1).fill(['hostname', 'UNIQUE']) },
      path: 'constraints',
      message: /at most 256 items/,
    },
    { name: 'constraint field length', at: { ...BASE, constraints: [['f'.repeat(MAX_NAME_LENGTH), 'UNIQUE']] }, over: { ...BASE, constraints: [['f'.repeat(MAX_NAME_LENGTH + 1), 'UNIQUE']] }, path: 'constraints[0][0]', message: /at most 256 characters/ },
    { name: 'constraint value length', at: { ...BASE, constraints: [['rack', 'LIKE', 'r'.repeat(MAX_TEXT_LENGTH)]] }, over: { ...BASE, constraints: [['rack', 'LIKE', 'r'.repeat(MAX_TEXT_LENGTH + 1)]] }, path: 'constraints[0][2]', message: /at most 4096 characters/ },
    { name: 'healthChecks count', at: { ...BASE, healthChecks: Array(MAX_LIST_ITEMS).fill({ protocol: 'TCP' }) }, over: { ...BASE, healthChecks: Array(MAX_LIST_ITEMS + 1).fill({ protocol: 'TCP' }) }, path: 'healthChecks', message: /at most 256 items/ },
    { name: 'health intervalSeconds (a timer)', at: check({ intervalSeconds: MAX_DURATION_SECONDS }), over: check({ intervalSeconds: 3_000_000 }), path: 'healthChecks[0].intervalSeconds', message: /at most 604800/ },
    { name: 'health timeoutSeconds (a timer)', at: check({ timeoutSeconds: MAX_DURATION_SECONDS }), over: check({ timeoutSeconds: MAX_DURATION_SECONDS + 1 }), path: 'healthChecks[0].timeoutSeconds', message: /at most/ },
    { name: 'health gracePeriodSeconds', at: check({ gracePeriodSeconds: MAX_DURATION_SECONDS }), over: check({ gracePeriodSeconds: MAX_DURATION_SECONDS + 1 }), path: 'healthChecks[0].gracePeriodSeconds', message: /at most/ },
    { name: 'health delaySeconds (a timer)', at: check({ delaySeconds: MAX_DURATION_SECONDS }), over: check({ delaySeconds: MAX_DURATION_SECONDS + 1 }), path: 'healthChecks[0].delaySeconds', message: /at most/ },
    {
      name: 'health maxConsecutiveFailures (a uint32)',
      at: check({ maxConsecutiveFailures: MAX_CONSECUTIVE_FAILURES }),
      over: check({ maxConsecutiveFailures: 4294967296 }),
      path: 'healthChecks[0].maxConsecutiveFailures',
      message: /at most 10000/,
    },
    {
      name: 'health portIndex (a uint32, and below the most ports an app can have)',
      at: { ...BASE, portDefinitions: Array(MAX_LIST_ITEMS).fill({ port: 0 }), healthChecks: [{ protocol: 'TCP', portIndex: MAX_LIST_ITEMS - 1 }] },
      over: check({ portIndex: 4294967296 }),
      path: 'healthChecks[0].portIndex',
      message: /at most 255/,
    },
    { name: 'health path length', at: check({ protocol: 'HTTP', path: `/${'p'.repeat(MAX_TEXT_LENGTH - 1)}` }), over: check({ protocol: 'HTTP', path: `/${'p'.repeat(MAX_TEXT_LENGTH)}` }), path: 'healthChecks[0].path', message: /at most 4096 characters/ },
    { name: 'health command length', at: command('x'.repeat(MAX_LONG_TEXT_LENGTH)), over: command('x'.repeat(MAX_LONG_TEXT_LENGTH + 1)), path: 'healthChecks[0].command.value', message: /at most 65536 characters/ },
    {
      name: 'progressDeadlineSeconds (a timer)',
      at: { ...BASE, upgradeStrategy: { progressDeadlineSeconds: MAX_DURATION_SECONDS } },
      over: { ...BASE, upgradeStrategy: { progressDeadlineSeconds: MAX_DURATION_SECONDS + 1 } },
      path: 'upgradeStrategy.progressDeadlineSeconds',
      message: /at most/,
    },
    { name: 'fetch count', at: { ...BASE, fetch: Array(MAX_LIST_ITEMS).fill({ uri: 'https://x/y' }) }, over: { ...BASE, fetch: Array(MAX_LIST_ITEMS + 1).fill({ uri: 'https://x/y' }) }, path: 'fetch', message: /at most 256 items/ },
    { name: 'fetch uri length', at: { ...BASE, fetch: [{ uri: `https://${'x'.repeat(MAX_TEXT_LENGTH - 8)}` }] }, over: { ...BASE, fetch: [{ uri: `https://${'x'.repeat(MAX_TEXT_LENGTH - 7)}` }] }, path: 'fetch[0].uri', message: /at most 4096 characters/ },
    { name: 'fetch destPath length', at: { ...BASE, fetch: [{ uri: 'https://x/y', destPath: 'd'.repeat(MAX_TEXT_LENGTH) }] }, over: { ...BASE, fetch: [{ uri: 'https://x/y', destPath: 'd'.repeat(MAX_TEXT_LENGTH + 1) }] }, path: 'fetch[0].destPath', message: /at most 4096 characters/ },
    { name: 'docker image length', at: docker({ image: 'i'.repeat(MAX_TEXT_LENGTH) }), over: docker({ image: 'i'.repeat(MAX_TEXT_LENGTH + 1) }), path: 'container.docker.image', message: /at most 4096 characters/ },
    {
      name: 'docker parameters count',
      at: docker({ parameters: Array(MAX_LIST_ITEMS).fill({ key: 'label', value: 'a=b' }) }),
      over: docker({ parameters: Array(MAX_LIST_ITEMS + 1).fill({ key: 'label', value: 'a=b' }) }),
      path: 'container.docker.parameters',
      message: /at most 256 items/,
    },
    {
      name: 'docker portMappings count',
      at: docker({ portMappings: Array(MAX_LIST_ITEMS).fill({ containerPort: 80 }) }),
      over: docker({ portMappings: Array(MAX_LIST_ITEMS + 1).fill({ containerPort: 80 }) }),
      path: 'container.docker.portMappings',
      message: /at most 256 items/,
    },
    {
      name: 'volumes count',
      at: { id: 'a', container: { docker: { image: 'b' }, volumes: Array(MAX_LIST_ITEMS).fill({ containerPath: '/d', hostPath: 'd' }) } },
      over: { id: 'a', container: { docker: { image: 'b' }, volumes: Array(MAX_LIST_ITEMS + 1).fill({ containerPath: '/d', hostPath: 'd' }) } },
      path: 'container.volumes',
      message: /at most 256 items/,
    },
    {
      name: 'volume path length',
      at: { id: 'a', container: { docker: { image: 'b' }, volumes: [{ containerPath: `/${'d'.repeat(MAX_TEXT_LENGTH - 1)}`, hostPath: 'd' }] } },
      over: { id: 'a', container: { docker: { image: 'b' }, volumes: [{ containerPath: '/d', hostPath: 'd'.repeat(MAX_TEXT_LENGTH + 1) }] } },
      path: 'container.volumes[0].hostPath',
      message: /at most 4096 characters/,
    },
  ])('$name', ({ at, over, path, message }) => {
    expect(violations(at)).toEqual([]);
    // At the limit the spec still crosses the wire unchanged.
    const spec = parseAppDefinition(at);
    expect(AppSpec.decode(AppSpec.encode(spec).finish())).toEqual(AppSpec.fromPartial(spec));
    const got = violations(over);
    expect(got.map(([p]) => p)).toContain(path);
    expect(got.find(([p]) => p === path)?.[1]).toMatch(message);
  });

  it.each<{ name: string; input: Record<string, unknown>; path: string; message: RegExp }>([
    { name: 'NaN cpus (a gRPC double can carry it)', input: { ...BASE, cpus: Number.NaN }, path: 'cpus', message: /must be a finite number/ },
    { name: 'Infinity mem', input: { ...BASE, mem: Number.POSITIVE_INFINITY }, path: 'mem', message: /must be a finite number/ },
    { name: '-Infinity backoffSeconds', input: { ...BASE, backoffSeconds: Number.NEGATIVE_INFINITY }, path: 'backoffSeconds', message: /must be a finite number/ },
    { name: 'NaN capacity', input: { ...BASE, upgradeStrategy: { minimumHealthCapacity: Number.NaN } }, path: 'upgradeStrategy.minimumHealthCapacity', message: /must be a finite number/ },
    { name: 'a lone surrogate in cmd', input: { ...BASE, cmd: 'echo \ud800' }, path: 'cmd', message: /valid Unicode/ },
    { name: 'a lone surrogate in an env name', input: { ...BASE, env: { 'A\udc00': 'v' } }, path: 'env', message: /valid Unicode/ },
    { name: 'a lone surrogate in a constraint', input: { ...BASE, constraints: [['rack', 'IS', '\ud800']] }, path: 'constraints[0][2]', message: /valid Unicode/ },
    { name: 'a 100 KB unknown key is not echoed in full', input: { ...BASE, ['k'.repeat(100_000)]: 1 }, path: `${'k'.repeat(61)}...`, message: /not a known field/ },
  ])('refuses $name', ({ input, path, message }) => {
    const got = violations(input);
    expect(got.map(([p]) => p)).toContain(path);
    expect(got.find(([p]) => p === path)?.[1]).toMatch(message);
  });

  it('keeps a well-formed surrogate pair (an emoji)', () => {
    expect(parseAppDefinition({ ...BASE, cmd: 'echo \u{1F600}' }).cmd).toBe('echo \u{1F600}');
  });
});
