/**
 * For tests that need a real Docker daemon (scripts/setup-docker starts one
 * and imports the test image). Without a daemon or the image they are
 * skipped, saying why; under CI=true they run anyway and fail, so a CI
 * machine that lost Docker cannot pass by skipping. Every container a test
 * makes carries this module's run label, so cleanup finds exactly those.
 * Not exported from the package index.
 */
import { newId, newTaskId } from '@drover/common';
import { ContainerType, DockerNetwork, TaskSpec } from '@drover/proto';
import { beforeAll, describe } from 'vitest';
import { DEFAULT_DOCKER_SOCKET, DockerDaemon } from '../executor/docker/docker-daemon.js';
/** The image scripts/setup-docker imports: static busybox with its applets, PATH=/bin. */
export const TEST_IMAGE = 'drover-test/busybox:latest';
/** The drover-test.version label scripts/setup-docker gives the image it imports now. */
export const TEST_IMAGE_VERSION = '2';
/** An image on a registry nobody listens at (loopback port 1): pulling it fails at once, without leaving the machine. */
export const UNPULLABLE_IMAGE = '127.0.0.1:1/drover-test/missing:1';
/** Label put on every container of this test process, for cleanup. */
export const TEST_RUN_LABEL = 'drover-test.run';
/** This test module's run id. */
export const TEST_RUN = newId();
/** The daemon tests use (DOCKER_SOCKET overrides the default socket). */
export const testDaemon = new DockerDaemon(process.env.DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET);
/** Why Docker tests cannot run here, or undefined when they can. */
export async function dockerUnavailableReason() {
    if (!(await testDaemon.ping(3000)))
        return `${testDaemon.unavailableMessage} (run: bash scripts/setup-docker)`;
    try {
        const image = await testDaemon.api.getImage(TEST_IMAGE).inspect();
        const version = image.Config.Labels?.['drover-test.version'];
        if (version !== TEST_IMAGE_VERSION)
            return `image ${TEST_IMAGE} is not version ${TEST_IMAGE_VERSION} (run: bash scripts/setup-docker)`;
    }
    catch {
        return `image ${TEST_IMAGE} is missing (run: bash scripts/setup-docker)`;
    }
    return undefined;
}
const unavailable = await dockerUnavailableReason();
/** undefined when Docker tests can run; else why they are skipped (never under CI=true). */
export const dockerSkipReason = unavailable !== undefined && process.env.CI !== 'true' ? unavailable : undefined;
/** describe() for Docker tests: skipped with a printed reason, or run (and failing loudly under CI without Docker). */
export function describeDocker(name, body) {
    if (dockerSkipReason !== undefined) {
        console.warn(`${name}: skipped: ${dockerSkipReason}`);
        describe.skip(name, body);
        return;
    }
    describe(name, () => {
        beforeAll(() => {
            if (unavailable !== undefined)
                throw new Error(`Docker tests must run under CI but cannot: ${unavailable}`);
        });
        body();
    });
}
/** A DOCKER task running `cmd` in the test image (fresh id, run label); `extra` overrides any field. */
export function containerTask(cmd, extra = {}, docker = {}) {
    const { container, labels, ...rest } = extra;
    return TaskSpec.fromPartial({
        taskId: newTaskId('/test/docker'),
        appId: '/test/docker',
        appVersion: '2025-01-01T00:00:00.000Z',
        cmd,
        killGracePeriodSeconds: 1,
        labels: { [TEST_RUN_LABEL]: TEST_RUN, ...labels },
        container: {
            type: ContainerType.CONTAINER_TYPE_DOCKER,
            volumes: [],
            ...container,
            docker: { image: TEST_IMAGE, network: DockerNetwork.DOCKER_NETWORK_HOST, ...container?.docker, ...docker },
        },
        ...rest,
    });
}
/** Removes every container this test module created (running or not). */
export async function removeTestContainers() {
    if (!(await testDaemon.ping()))
        return;
    const found = await testDaemon.api.listContainers({ all: true, filters: { label: [`${TEST_RUN_LABEL}=${TEST_RUN}`] } });
    await Promise.all(found.map((c) => testDaemon.api.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}
/** The containers labelled with this task id. */
export async function containersOf(taskId) {
    return testDaemon.api.listContainers({ all: true, filters: { label: [`drover.task-id=${taskId}`] } });
}
//# sourceMappingURL=docker-test-env.js.map