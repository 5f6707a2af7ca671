import { TaskSpec } from '@drover/proto';
import { DockerDaemon } from '../executor/docker/docker-daemon.js';
/** The image scripts/setup-docker imports: static busybox with its applets, PATH=/bin. */
export declare const TEST_IMAGE = "drover-test/busybox:latest";
/** The drover-test.version label scripts/setup-docker gives the image it imports now. */
export declare const TEST_IMAGE_VERSION = "2";
/** An image on a registry nobody listens at (loopback port 1): pulling it fails at once, without leaving the machine. */
export declare const UNPULLABLE_IMAGE = "127.0.0.1:1/drover-test/missing:1";
/** Label put on every container of this test process, for cleanup. */
export declare const TEST_RUN_LABEL = "drover-test.run";
/** This test module's run id. */
export declare const TEST_RUN: string;
/** The daemon tests use (DOCKER_SOCKET overrides the default socket). */
export declare const testDaemon: DockerDaemon;
/** Why Docker tests cannot run here, or undefined when they can. */
export declare function dockerUnavailableReason(): Promise<string | undefined>;
/** undefined when Docker tests can run; else why they are skipped (never under CI=true). */
export declare const dockerSkipReason: string | undefined;
/** describe() for Docker tests: skipped with a printed reason, or run (and failing loudly under CI without Docker). */
export declare function describeDocker(name: string, body: () => void): void;
/** A DOCKER task running `cmd` in the test image (fresh id, run label); `extra` overrides any field. */
export declare function containerTask(cmd: string, extra?: Partial<TaskSpec>, docker?: Partial<NonNullable<NonNullable<TaskSpec['container']>['docker']>>): TaskSpec;
/** Removes every container this test module created (running or not). */
export declare function removeTestContainers(): Promise<void>;
/** The containers labelled with this task id. */
export declare function containersOf(taskId: string): Promise<import("dockerode").ContainerInfo[]>;
//# sourceMappingURL=docker-test-env.d.ts.map