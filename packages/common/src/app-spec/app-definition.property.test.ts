/**
 * parseAppDefinition against hostile input: huge and negative numbers, NaN
 * and Infinity (JSON cannot carry them, a gRPC double can), -0, very long
 * strings, lone surrogates, prototype-named keys ("constructor",
 * "__proto__", ...) at any level, and values of the wrong type anywhere.
 * Whatever comes in, the parser either returns a spec the proto carries
 * unchanged (AppSpec encode/decode gives it back) or throws a
 * ValidationError whose every problem has a path and a message: never any
 * other error, never a spec that breaks a later ListApps.
 */
import { AppSpec } from '@drover/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { normalizeAppSpec, parseAppDefinition } from './app-definition.js';

/** Names on Object.prototype (and friends) that a lookup in a plain object would find. */
const PROTOTYPE_KEYS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf', 'toLocaleString', 'propertyIsEnumerable', '__defineGetter__'];

const hostileNumber = fc.oneof(
  fc.double(),
  fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
  fc.nat({ max: 300 }),
  fc.constantFrom(4294967296, 2 ** 31, 2 ** 32 - 1, 3_000_000, 1e308, -1, -0, 0, 0.5, 1, 15, Number.MAX_SAFE_INTEGER, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
);

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(...PROTOTYPE_KEYS, '', '/', 'a', 'HTTP', 'COMMAND', 'MESOS_HTTP', 'TCP', 'tcp', 'DOCKER', 'UNIQUE', 'hostname', '\ud800', 'a\udc00b'),
  fc.integer({ min: 200, max: 70_000 }).map((n) => 'x'.repeat(n)),
);

/** Keys: real field names (so values reach real rules), prototype names, anything. */
const FIELDS = [
  'id', 'cmd', 'args', 'cpus', 'mem', 'disk', 'gpus', 'instances', 'env', 'labels', 'portDefinitions', 'taskKillGracePeriodSeconds',
  'constraints', 'backoffSeconds', 'backoffFactor', 'maxLaunchDelaySeconds', 'placementStrategy', 'healthChecks', 'upgradeStrategy',
  'container', 'fetch', 'user', 'protocol', 'path', 'portIndex', 'port', 'command', 'value', 'gracePeriodSeconds', 'intervalSeconds',
  'timeoutSeconds', 'maxConsecutiveFailures', 'delaySeconds', 'ignoreHttp1xx', 'minimumHealthCapacity', 'maximumOverCapacity',
  'progressDeadlineSeconds', 'docker', 'image', 'network', 'portMappings', 'containerPort', 'hostPort', 'volumes', 'uri', 'name',
];
const key = fc.oneof(fc.constantFrom(...FIELDS), fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 8 }));

/** Any JSON-ish value (and a few a gRPC decoder could produce), nested a few levels. */
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileNumber,
    hostileString,
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: false }),
  ),
}));

/** A plain object built by assignment: "__proto__" then becomes an own key, as JSON.parse makes it. */
function ownKeys(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/** Usually nothing, so that many generated specs are valid and reach the encoder too. */
const hostileFields = fc.oneof(
  { arbitrary: fc.constant([] as Array<[string, unknown]>), weight: 3 },
  { arbitrary: fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 3 }), weight: 1 },
);

/** A valid definition with hostile fields mixed in at the top and inside the nested objects. */
const definition = fc
  .record({
    top: hostileFields,
    check: hostileFields,
    port: hostileFields,
    strategy: hostileFields,
    docker: hostileFields,
    env: fc.array(fc.tuple(fc.oneof(key, hostileString), hostileString), { maxLength: 3 }),
    withContainer: fc.boolean(),
  })
  .map((g) =>
    ownKeys([
      ['id', 'web'],
      ['cmd', 'serve'],
      ['portDefinitions', [ownKeys([['port', 0], ...g.port])]],
      ['healthChecks', [ownKeys([['protocol', 'HTTP'], ...g.check])]],
      ['upgradeStrategy', ownKeys(g.strategy)],
      ['env', ownKeys(g.env.map(([k, v]) => [String(k), v] as const))],
      ...(g.withContainer ? ([['container', { docker: ownKeys([['image', 'busybox'], ...g.docker]) }]] as const) : []),
      ...g.top,
    ]),
  );

/** Parses; a spec must survive the wire, a refusal must be a ValidationError with paths. */
/** How many inputs were parsed and refused, so a test can tell its generator reaches both ends. */
const outcomes = { ok: 0, refused: 0 };

function checkOutcome(input: unknown): void {
  let spec: AppSpec;
  try {
    spec = parseAppDefinition(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    const violations = (e as ValidationError).violations;
    expect(violations.length).toBeGreaterThan(0);
    for (const v of violations) {
      expect(typeof v.path).toBe('string');
      expect(v.path.length).toBeLessThan(1000);
      expect(v.message).not.toBe('');
    }
    outcomes.refused++;
    return;
  }
  outcomes.ok++;
  expect(AppSpec.decode(AppSpec.encode(spec).finish())).toEqual(spec);
  // Stored specs go back through the gRPC path on PATCH and rollback: it must take them as they are.
  expect(normalizeAppSpec(spec)).toEqual(spec);
}

describe('parseAppDefinition on hostile input', () => {
  it('returns a spec the proto carries unchanged, or a ValidationError with paths', () => {
    outcomes.ok = outcomes.refused = 0;
    fc.assert(fc.property(definition, checkOutcome), { numRuns: 1000 });
    // Both branches are exercised: a generator that only made invalid specs would prove nothing about encoding.
    expect(outcomes.ok).toBeGreaterThan(100);
    expect(outcomes.refused).toBeGreaterThan(100);
  });

  it('anything at all at the top', () => {
    fc.assert(fc.property(value, checkOutcome), { numRuns: 300 });
  });

  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'])('a "%s" key is an unknown field, at the top and in a health check', (name) => {
    const top = JSON.parse(`{"id": "a", "cmd": "x", "${name}": 1}`) as unknown;
    const nested = JSON.parse(`{"id": "a", "cmd": "x", "healthChecks": [{"${name}": 1}]}`) as unknown;
    expect(() => parseAppDefinition(top)).toThrow(ValidationError);
    expect(() => parseAppDefinition(nested)).toThrow(ValidationError);
    const paths = (input: unknown) => {
      try {
        parseAppDefinition(input);
      } catch (e) {
        return (e as ValidationError).violations.map((v) => v.path);
      }
      return [];
    };
    expect(paths(top)).toEqual([name]);
    expect(paths(nested)).toEqual([`healthChecks[0].${name}`]);
  });

  it.each([
    { name: 'instances past uint32', patch: { instances: 4294967296 } },
    { name: 'a health check interval that overflows a timer', patch: { healthChecks: [{ protocol: 'TCP', intervalSeconds: 3_000_000 }] } },
    { name: 'a backoff that overflows a timer', patch: { backoffSeconds: 3_000_000 } },
    { name: 'maxLaunchDelaySeconds that overflows a timer', patch: { maxLaunchDelaySeconds: 3_000_000 } },
  ])('refuses the values from the issue: $name', ({ patch }) => {
    expect(() => parseAppDefinition({ id: 'a', cmd: 'x', ...patch })).toThrow(ValidationError);
  });
});
