import { silentLogger } from '@drover/common';
import { AppSpec } from '@drover/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { type CoreHarness, startCore } from '../testing/core-harness.js';
import { PlanApplier } from './plan-applier.js';

let h: CoreHarness;
afterEach(async () => {
  await h?.close();
});

describe('plan applier', () => {
  it.each([
    { name: 'a free port is committed', port: 31002, accepted: 1 },
    { name: 'a port the machine reported in use after the plan was made is refused', port: 31001, accepted: 0 },
  ])('$name', async ({ port, accepted }) => {
    h = await startCore();
    const agent = await h.agent('agent-a', { resources: { cpus: 4, mem: 4096, disk: 0, gpus: 0, ports: [{ begin: 31000, end: 31009 }] } });
    // No instances: the orchestrator places nothing of its own.
    await h.core.apps.deploy(AppSpec.fromPartial({ id: 'web', cmd: 'x', cpus: 0.1, mem: 16, instances: 0, portDefinitions: [{ port: 0, protocol: 'tcp', name: '', labels: {} }] }));
    const app = h.core.state.app('/web');
    if (!app) throw new Error('no app');
    // The plan was made on a snapshot where 31001 was free; then a usage sample says another process took it.
    h.core.sessions.recordPortsInUse('agent-a', [{ begin: 31001, end: 31001 }]);
    const applier = new PlanApplier(h.core.state, h.core.sessions, h.core.commands, { now: () => Date.now() }, silentLogger());
    const tasks = await applier.apply([{ key: '/web', agentId: 'agent-a', hostPorts: [port] }], new Map([['/web', { kind: 'app', app }]]));
    expect(tasks).toHaveLength(accepted);
    expect(agent.launched()).toHaveLength(accepted);
    if (accepted > 0) expect(tasks[0]?.ports.map((p) => p.number)).toEqual([port]);
  });
});
