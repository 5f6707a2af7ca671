import { silentLogger } from '@drover/common';
import {
  containerTask,
  dockerSkipReason,
  removeTestContainers,
  testDaemon,
  UNPULLABLE_IMAGE,
} from '../../testing/docker-test-env.js';
import { IGNORE_TERM_SCRIPT, markerWritten } from '../../testing/task-specs.js';
import { type Behaviour, executorConformance } from '../../testing/executor-conformance.js';
import { DockerExecutor } from './docker-executor.js';

/** busybox shell scripts that behave as the suite asks. */
function script(b: Behaviour) {
  switch (b.kind) {
    case 'exit':
      return containerTask(b.afterMs === undefined ? `exit ${b.code}` : `sleep ${b.afterMs / 1000}; exit ${b.code}`);
    case 'sleep':
      return containerTask('sleep 60');
    case 'ignore-term':
      return containerTask(IGNORE_TERM_SCRIPT);
    case 'die':
      return containerTask('kill -KILL $$');
    case 'unlaunchable':
      return containerTask('exit 0', {}, { image: UNPULLABLE_IMAGE });
  }
}

executorConformance(
  'docker',
  () => ({
    executor: () => new DockerExecutor({ logger: silentLogger(), daemon: testDaemon, retryDelayMs: 100 }),
    spec: script,
    ignoresTerm: markerWritten,
    isRunning: async (h) => {
      try {
        return (await testDaemon.api.getContainer(String(h.details.containerId)).inspect()).State.Running;
      } catch {
        return false;
      }
    },
    cleanup: removeTestContainers,
  }),
  { skip: dockerSkipReason, timeoutMs: 30_000 },
);
