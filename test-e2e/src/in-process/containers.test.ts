/**
 * Containers, limits and artifacts through the master: a real master and two
 * real agents in this process, one with the real Docker daemon and one whose
 * socket leads nowhere. Apps are deployed with the real client and the
 * answers are read back from the master, as an operator would.
 */
import { createHash } from 'node:crypto';
import type { DroverClient } from '@drover/client';
import { AppSpec, ConstraintOperator, ContainerType, DockerNetwork, type Task, taskReasonCodec, taskStateCodec } from '@drover/proto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ArtifactServer } from '../../../packages/agent/src/testing/artifact-server.js';
import { describeDocker, removeTestContainers, TEST_IMAGE, TEST_RUN, TEST_RUN_LABEL } from '../../../packages/agent/src/testing/docker-test-env.js';
import { drover, requireBuiltCli } from '../support/drover-process.js';
import { type InProcessCluster, startInProcessCluster } from '../support/in-process-cluster.js';
import { waitFor } from '../support/wait.js';

let cluster: InProcessCluster;
let client: DroverClient;
let artifacts: ArtifactServer;

const state = (t: Task) => taskStateCodec.name(t.state);

/** A Docker app in the test image, labelled so cleanup finds its containers. */
function containerApp(id: string, cmd: string, docker: Partial<NonNullable<NonNullable<AppSpec['container']>['docker']>> = {}, extra: Partial<AppSpec> = {}): AppSpec {
  return AppSpec.fromPartial({
    id,
    cmd,
    cpus: 0.1,
    mem: 32,
    portDefinitions: [],
    labels: { [TEST_RUN_LABEL]: TEST_RUN },
    container: {
      type: ContainerType.CONTAINER_TYPE_DOCKER,
      docker: { image: TEST_IMAGE, network: DockerNetwork.DOCKER_NETWORK_HOST, ...docker },
    },
    ...extra,
  });
}

describeDocker('containers through the master', () => {
  beforeAll(async () => {
    requireBuiltCli();
    artifacts = await ArtifactServer.start();
    cluster = await startInProcessCluster('containers', [
      { hostname: 'docker-node', ports: { begin: 32800, end: 32819 } },
      { hostname: 'plain-node', ports: { begin: 32820, end: 32839 }, options: { dockerSocket: '/nonexistent/docker.sock' } },
    ]);
    client = cluster.client;
    // Capabilities arrive with registration; wait until the master has them.
    await waitFor(
      'the docker capability on docker-node only',
      () => client.listAgents(),
      (as) => as.some((a) => a.hostname === 'docker-node' && a.capabilities.includes('docker')) && as.some((a) => a.hostname === 'plain-node' && !a.capabilities.includes('docker')),
    );
  });

  afterAll(async () => {
    await cluster?.stop();
    await artifacts?.close();
    await removeTestContainers();
  });

  it('places a BRIDGE container only where Docker runs and publishes it on its assigned host port', async () => {
    await client.deployApp(
      containerApp(
        'web',
        'echo "served by $DROVER_TASK_ID" > $DROVER_SANDBOX/index.html; exec httpd -f -p 8080 -h $DROVER_SANDBOX',
        { network: DockerNetwork.DOCKER_NETWORK_BRIDGE, portMappings: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp', name: 'http', labels: {}, servicePort: 0 }] },
        { instances: 2 },
      ),
    );
    const tasks = await waitFor('2 RUNNING', () => client.listTasks({ appId: 'web' }), (ts) => ts.filter((t) => state(t) === 'RUNNING').length === 2, 30_000);
    expect(tasks.map((t) => t.host)).toEqual(['docker-node', 'docker-node']);
    for (const task of tasks) {
      const port = task.ports[0]?.number ?? 0;
      expect(port).toBeGreaterThanOrEqual(32800);
      expect(port).toBeLessThanOrEqual(32819);
      const body = await waitFor(
        `an answer on host port ${port}`,
        () => fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(2000) }).then((r) => (r.ok ? r.text() : '')).catch(() => ''),
        (text) => text !== '',
        10_000,
      );
      expect(body).toBe(`served by ${task.id}\n`);
    }
    const shown = await drover(['app', 'get', 'web'], { DROVER_MASTER: cluster.master.grpcAddress });
    expect(shown.stdout).toContain(`Container:    docker ${TEST_IMAGE} (network bridge)\n              port 8080/tcp <- host assigned (http)\n`);
    // The deployment ends once both have run for the min running time (5 s): only then is the app free to delete without force.
    await waitFor('the deployment to succeed', () => client.getApp('web'), (a) => a.status?.deployments.length === 0, 15_000, 200);
    await client.deleteApp('web');
  });

  it('says no agent has Docker when the only Docker agent cannot take the app', async () => {
    // Pinned off docker-node: the only agent left has no daemon.
    await client.deployApp(containerApp('nowhere', 'sleep 600', {}, { constraints: [{ field: 'hostname', operator: ConstraintOperator.CONSTRAINT_OPERATOR_IS, value: 'plain-node' }] }));
    const app = await waitFor('a placement explanation', () => client.getApp('nowhere'), (a) => a.status?.waiting !== undefined);
    expect(app.status?.waiting?.rejections).toEqual(expect.arrayContaining([expect.objectContaining({ reason: 'no docker', agents: 1 })]));
    await client.deleteApp('nowhere', { force: true });
  });

  it('fails a container over its memory limit with MEMORY_LIMIT, recorded as the app last failure', async () => {
    await client.deployApp(containerApp('hog', 'x=$(head -c 64000000 /dev/zero | tr "\\0" a); echo survived', {}, { mem: 16, backoffSeconds: 60 }));
    const app = await waitFor('a recorded failure', () => client.getApp('hog'), (a) => a.status?.lastTaskFailure !== undefined, 30_000);
    expect(app.status?.lastTaskFailure).toMatchObject({ state: 'FAILED', host: 'docker-node' });
    expect(app.status?.lastTaskFailure?.message).toMatch(/memory limit/i);
    const task = await client.getTask(app.status?.lastTaskFailure?.taskId ?? '');
    expect(taskReasonCodec.name(task.reason)).toBe('MEMORY_LIMIT');
    await client.deleteApp('hog', { force: true });
  });

  it('fails a task whose artifact does not match its checksum, with that reason in lastTaskFailure', async () => {
    artifacts.serve('/tool.sh', { kind: 'file', body: Buffer.from('#!/bin/sh\necho tool\n') });
    await client.deployApp(
      AppSpec.fromPartial({
        id: 'fetcher',
        cmd: './tool.sh',
        cpus: 0.1,
        mem: 16,
        portDefinitions: [],
        backoffSeconds: 60,
        constraints: [{ field: 'hostname', operator: ConstraintOperator.CONSTRAINT_OPERATOR_IS, value: 'plain-node' }],
        fetch: [{ uri: `${artifacts.origin}/tool.sh`, executable: true, sha256: '0'.repeat(64) }],
      }),
    );
    const app = await waitFor('a recorded failure', () => client.getApp('fetcher'), (a) => a.status?.lastTaskFailure !== undefined, 30_000);
    expect(app.status?.lastTaskFailure).toMatchObject({ state: 'FAILED', host: 'plain-node' });
    expect(app.status?.lastTaskFailure?.message).toContain('sha256');
    expect(app.status?.lastTaskFailure?.message).toContain('/tool.sh');
    const task = await client.getTask(app.status?.lastTaskFailure?.taskId ?? '');
    expect(taskReasonCodec.name(task.reason)).toBe('FETCH_FAILED');

    // The right checksum, same app: it runs.
    const sha256 = createHash('sha256').update('#!/bin/sh\necho tool\n').digest('hex');
    await client.deployApp(
      AppSpec.fromPartial({
        id: 'fetcher',
        cmd: './tool.sh; exec sleep 600',
        cpus: 0.1,
        mem: 16,
        portDefinitions: [],
        constraints: [{ field: 'hostname', operator: ConstraintOperator.CONSTRAINT_OPERATOR_IS, value: 'plain-node' }],
        fetch: [{ uri: `${artifacts.origin}/tool.sh`, executable: true, sha256 }],
      }),
      // The failing version's deployment never completes: replace it.
      { force: true },
    );
    await waitFor('the fixed app RUNNING', () => client.listTasks({ appId: 'fetcher' }), (ts) => ts.some((t) => state(t) === 'RUNNING'), 30_000);
    await waitFor('its deployment to succeed', () => client.getApp('fetcher'), (a) => a.status?.deployments.length === 0, 15_000, 200);
    await client.deleteApp('fetcher');
  });
});
