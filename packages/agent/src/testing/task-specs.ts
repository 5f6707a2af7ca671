/** TaskSpec builders for tests. Not exported from the package index. */
import { newTaskId } from '@drover/common';
import { TaskSpec } from '@drover/proto';

/** A spec running `cmd` through /bin/sh -c, with a fresh task id; `extra` overrides any field. */
export function shellTask(cmd: string, extra: Partial<TaskSpec> = {}): TaskSpec {
  return TaskSpec.fromPartial({
    taskId: newTaskId('/test/app'),
    appId: '/test/app',
    appVersion: '2025-01-01T00:00:00.000Z',
    cmd,
    killGracePeriodSeconds: 1,
    ...extra,
  });
}
