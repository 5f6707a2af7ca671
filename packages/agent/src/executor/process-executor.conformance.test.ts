import { silentLogger } from '@drover/common';
import { markerWritten, shellTask, termIgnoringTask } from '../testing/task-specs.js';
import { type Behaviour, executorConformance } from '../testing/executor-conformance.js';
import { isProcessAlive } from './proc-stat.js';
import { signalGroup } from './process-group.js';
import { ProcessExecutor } from './process-executor.js';

/** Shell scripts that behave as the suite asks. */
function script(b: Behaviour) {
  switch (b.kind) {
    case 'exit':
      return shellTask(b.afterMs === undefined ? `exit ${b.code}` : `sleep ${b.afterMs / 1000}; exit ${b.code}`);
    case 'sleep':
      return shellTask('sleep 60');
    case 'ignore-term':
      return termIgnoringTask();
    case 'die':
      return shellTask('kill -KILL $$');
    case 'unlaunchable':
      return shellTask('', { args: ['/nope/missing'] });
  }
}

executorConformance('process', () => ({
  executor: () => new ProcessExecutor({ logger: silentLogger(), pollIntervalMs: 50, killPollIntervalMs: 20 }),
  spec: script,
  ignoresTerm: markerWritten,
  isRunning: (h) => isProcessAlive(h.pid, typeof h.details.startTime === 'number' ? h.details.startTime : undefined),
  cleanup: async (handles) => {
    for (const h of handles) signalGroup(h.pid, 'SIGKILL');
  },
}));
