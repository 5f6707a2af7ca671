import { RESOURCE_LIMITS, ValidationError } from '@drover/common';
import { type Register, TaskSpec, TaskStatus } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { FakeAgent } from '../testing/fake-agent.js';
import { MAX_REPORTED_EPOCH, registerProblems, validateRegister } from './register-validation.js';

/** What a healthy agent sends. */
function reg(overrides: Partial<Register> = {}): Register {
  return FakeAgent.registration({ hostname: 'node-1.example.com', address: '10.0.0.7', attributes: { rack: 'r1' }, capabilities: ['docker', 'isolation:cgroups-v2'], version: '0.1.0', ...overrides });
}

/** A live task's spec as an agent sends it with Register. */
const spec = (s: Partial<TaskSpec>) =>
  TaskSpec.fromPartial({ taskId: 'web.1', appId: '/web', resources: { cpus: 0.1, mem: 16, disk: 0, gpus: 0, ports: [] }, ports: [{ number: 31000, name: '', protocol: 'tcp' }], killGracePeriodSeconds: 3, ...s });

const resources = (r: Partial<NonNullable<Register['resources']>>) => ({ cpus: 4, mem: 4096, disk: 10_000, gpus: 0, ports: [{ begin: 31000, end: 31099 }], ...r });

describe('Register validation', () => {
  it.each<{ name: string; overrides: Partial<Register> }>([
    { name: 'a typical agent', overrides: {} },
    { name: 'no agent id yet (first start)', overrides: { agentId: '' } },
    { name: 'a master-assigned UUID', overrides: { agentId: '0f8f2a9e-2f9b-4d0e-8a9c-3e4f5a6b7c8d' } },
    { name: 'no address (the hostname is used)', overrides: { address: '' } },
    { name: 'an IPv6 address', overrides: { address: 'fe80::1' } },
    { name: 'a single-label hostname with an underscore', overrides: { hostname: 'build_box-7' } },
    { name: 'an IP address as hostname', overrides: { hostname: '192.168.1.20' } },
    { name: 'zero resources and no ports', overrides: { resources: resources({ cpus: 0, mem: 0, disk: 0, ports: [] }) } },
    { name: 'resources at their caps', overrides: { resources: resources({ ...RESOURCE_LIMITS }) } },
    { name: 'several port ranges, adjacent', overrides: { resources: resources({ ports: [{ begin: 32000, end: 32999 }, { begin: 1, end: 1 }, { begin: 31000, end: 31999 }] }) } },
    { name: 'attributes named like Object.prototype members', overrides: { attributes: { constructor: 'x', toString: 'y', hasOwnProperty: 'z' } } },
    { name: 'task statuses', overrides: { tasks: [TaskStatus.fromPartial({ uuid: 'u', taskId: 'web.0f8f2a9e-2f9b-4d0e-8a9c-3e4f5a6b7c8d' })] } },
    { name: 'task specs of live tasks', overrides: { taskSpecs: [spec({})] } },
    { name: 'the highest epoch an agent may report', overrides: { epoch: MAX_REPORTED_EPOCH } },
  ])('accepts $name', ({ overrides }) => {
    expect(registerProblems(reg(overrides))).toEqual([]);
  });

  it.each<{ name: string; overrides: Partial<Register>; expected: Array<[string, RegExp]> }>([
    { name: 'an epoch past what a master can count to', overrides: { epoch: MAX_REPORTED_EPOCH + 1 }, expected: [['epoch', /integer from 0 to/]] },
    { name: 'a negative epoch', overrides: { epoch: -1 }, expected: [['epoch', /integer from 0 to/]] },
    {
      name: 'ports in use that are no ports',
      overrides: { portsInUse: [{ begin: 31000, end: 31000 }, { begin: 32000, end: 31000 }, { begin: 0, end: 70000 }] },
      expected: [
        ['portsInUse[1]', /range of ports 1-65535, got 32000-31000/],
        ['portsInUse[2]', /range of ports 1-65535, got 0-70000/],
      ],
    },
    {
      name: 'a task spec a master could not adopt',
      overrides: {
        taskSpecs: [
          spec({}),
          spec({ taskId: '', resources: { cpus: Number.NaN, mem: -5, disk: 0, gpus: 0, ports: [] }, ports: [{ number: 70000, name: '', protocol: 'tcp' }], killGracePeriodSeconds: 1e12 }),
        ],
      },
      expected: [
        ['taskSpecs[1].taskId', /1-1024 characters/],
        ['taskSpecs[1].resources.cpus', /finite number/],
        ['taskSpecs[1].resources.mem', /at least 0/],
        ['taskSpecs[1].ports[0].number', /port 1-65535/],
        ['taskSpecs[1].killGracePeriodSeconds', /from 0 to 604800/],
      ],
    },
    { name: 'cpus Infinity', overrides: { resources: resources({ cpus: Number.POSITIVE_INFINITY }) }, expected: [['resources.cpus', /finite number/]] },
    { name: 'mem -1', overrides: { resources: resources({ mem: -1 }) }, expected: [['resources.mem', /at least 0/]] },
    { name: 'disk NaN', overrides: { resources: resources({ disk: Number.NaN }) }, expected: [['resources.disk', /finite number/]] },
    { name: 'cpus past the cap', overrides: { resources: resources({ cpus: RESOURCE_LIMITS.cpus + 1 }) }, expected: [['resources.cpus', /at most 65536/]] },
    { name: 'mem past the cap', overrides: { resources: resources({ mem: 1e300 }) }, expected: [['resources.mem', /at most/]] },
    { name: 'gpus past the cap', overrides: { resources: resources({ gpus: 4_294_967_295 }) }, expected: [['resources.gpus', /at most 1024/]] },
    { name: 'fractional gpus', overrides: { resources: resources({ gpus: 1.5 }) }, expected: [['resources.gpus', /integer/]] },
    { name: 'no resources', overrides: { resources: undefined }, expected: [['resources', /required/]] },
    { name: 'a 100 KB hostname', overrides: { hostname: 'h'.repeat(100_000) }, expected: [['hostname', /at most 253 characters/]] },
    { name: 'no hostname', overrides: { hostname: '' }, expected: [['hostname', /required/]] },
    { name: 'a hostname with spaces and a newline', overrides: { hostname: 'evil host\nFAKE LOG LINE' }, expected: [['hostname', /must be a hostname/]] },
    { name: 'a hostname label of 64 characters', overrides: { hostname: `${'a'.repeat(64)}.example.com` }, expected: [['hostname', /each 1-63 long/]] },
    { name: 'a hostname with an empty label', overrides: { hostname: 'node..example' }, expected: [['hostname', /must be a hostname/]] },
    { name: 'a bad address', overrides: { address: 'http://10.0.0.1/' }, expected: [['address', /or an IP address/]] },
    { name: 'a bad agent id', overrides: { agentId: '../../etc/passwd' }, expected: [['agentId', /letters, digits/]] },
    { name: 'a reversed port range', overrides: { resources: resources({ ports: [{ begin: 32000, end: 31000 }] }) }, expected: [['resources.ports[0]', /begins after it ends \(32000-31000\)/]] },
    { name: 'port 0 and a port past 65535', overrides: { resources: resources({ ports: [{ begin: 0, end: 10 }, { begin: 65000, end: 70000 }] }) }, expected: [['resources.ports[0]', /1-65535, got 0-10/], ['resources.ports[1]', /1-65535, got 65000-70000/]] },
    {
      name: 'overlapping port ranges (reported on the later entry)',
      overrides: { resources: resources({ ports: [{ begin: 31500, end: 31600 }, { begin: 31000, end: 31999 }, { begin: 40000, end: 40000 }] }) },
      expected: [['resources.ports[1]', /overlaps resources.ports\[0\] \(31500-31600\)/]],
    },
    { name: 'too many port ranges', overrides: { resources: resources({ ports: Array.from({ length: 1025 }, (_, i) => ({ begin: i + 1, end: i + 1 })) }) }, expected: [['resources.ports', /at most 1024 items/]] },
    { name: 'too many attributes', overrides: { attributes: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`a${i}`, 'v'])) }, expected: [['attributes', /at most 128 entries/]] },
    { name: 'an attribute with a 100 KB name', overrides: { attributes: { ['k'.repeat(100_000)]: 'v' } }, expected: [['attributes', /has a name "k+\.\.\." that must be 1-256 characters/]] },
    { name: 'an attribute with an empty name', overrides: { attributes: { '': 'v' } }, expected: [['attributes', /has a name "" that/]] },
    // A computed key is an own property; a client decoding the listing would make it the prototype instead.
    { name: 'an attribute named __proto__', overrides: { attributes: { ['__proto__']: 'v' } }, expected: [['attributes', /has a name "__proto__" that/]] },
    { name: 'an attribute with a 100 KB value', overrides: { attributes: { rack: 'v'.repeat(100_000) } }, expected: [['attributes.rack', /at most 4096 characters/]] },
    { name: 'a lone surrogate in an attribute', overrides: { attributes: { rack: 'r\ud800' } }, expected: [['attributes.rack', /valid Unicode/]] },
    { name: 'a 100 KB version', overrides: { version: 'v'.repeat(100_000) }, expected: [['version', /at most 128 characters/]] },
    { name: 'too many capabilities', overrides: { capabilities: Array(65).fill('docker') }, expected: [['capabilities', /at most 64 items/]] },
    { name: 'an empty or huge capability', overrides: { capabilities: ['docker', '', 'c'.repeat(129)] }, expected: [['capabilities[1]', /must not be empty/], ['capabilities[2]', /at most 128 characters/]] },
    { name: 'a task status without a task id', overrides: { tasks: [TaskStatus.fromPartial({ uuid: 'u', taskId: '' })] }, expected: [['tasks[0].taskId', /1-1024 characters/]] },
    {
      name: 'everything from the issue at once',
      overrides: { hostname: 'h'.repeat(100_000), resources: resources({ cpus: Number.POSITIVE_INFINITY, mem: -1, disk: Number.NaN, ports: [{ begin: 32000, end: 31000 }] }) },
      expected: [
        ['hostname', /at most 253/],
        ['resources.cpus', /finite/],
        ['resources.mem', /at least 0/],
        ['resources.disk', /finite/],
        ['resources.ports[0]', /begins after it ends/],
      ],
    },
  ])('refuses $name, naming the field', ({ overrides, expected }) => {
    const problems = registerProblems(reg(overrides));
    expect(problems.map((p) => p.path)).toEqual(expected.map(([path]) => path));
    expected.forEach(([, message], i) => expect(problems[i]?.message).toMatch(message));
    expect(() => validateRegister(reg(overrides))).toThrow(ValidationError);
  });

  it('bounds the number of task statuses', () => {
    const tasks = Array.from({ length: 100_001 }, () => TaskStatus.fromPartial({ taskId: 't' }));
    expect(registerProblems(reg({ tasks }))).toEqual([{ path: 'tasks', message: 'must have at most 100000 items' }]);
  });
});
