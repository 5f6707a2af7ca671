import { newTaskId } from '@drover/common';
import { TaskSpec } from '@drover/proto';
import { type Behaviour, executorConformance } from '../testing/executor-conformance.js';
import { FakeExecutor, FakeHost } from './fake-executor.js';

/** Fake scripts (see fake-executor.ts) that behave as the suite asks. */
function script(b: Behaviour): TaskSpec {
  const cmd = {
    exit: b.kind === 'exit' ? `exit ${b.code}${b.afterMs === undefined ? '' : ` after ${b.afterMs}`}` : '',
    sleep: 'sleep',
    'ignore-term': 'ignore-term',
    die: 'die SIGKILL',
    unlaunchable: 'fail-launch no such program',
  }[b.kind];
  return TaskSpec.fromPartial({ taskId: newTaskId('/test/fake'), appId: '/test/fake', cmd });
}

for (const exitStatusAfterRecover of [false, true]) {
  executorConformance(`fake (exitStatusAfterRecover: ${exitStatusAfterRecover})`, () => {
    const host = new FakeHost();
    return {
      executor: () => new FakeExecutor({ host, exitStatusAfterRecover }),
      spec: script,
      isRunning: async (h) => host.isRunning(h.pid),
      cleanup: async () => host.killAll(),
    };
  });
}
