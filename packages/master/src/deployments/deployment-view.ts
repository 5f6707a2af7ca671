/** Deployment records -> the proto messages clients receive. */
import { type Deployment, deploymentKindCodec, deploymentStateCodec } from '@drover/proto';
import type { DeploymentRecord, ProgressRecord } from '../model/records.js';

const ACTIONS: Record<DeploymentRecord['kind'], string> = {
  CREATE: 'StartApplication',
  UPDATE: 'RestartApplication',
  RESTART: 'RestartApplication',
  ROLLBACK: 'RestartApplication',
  SCALE: 'ScaleApplication',
};

/** A deployment with its current progress, for clients. */
export function deploymentToProto(d: DeploymentRecord, p: ProgressRecord): Deployment {
  return {
    id: d.id,
    appId: d.appId,
    version: d.version,
    fromVersion: d.fromVersion,
    kind: deploymentKindCodec.value(d.kind),
    state: deploymentStateCodec.value(d.state),
    steps: [{ action: ACTIONS[d.kind], appId: d.appId }],
    currentStep: 1,
    progress: {
      targetInstances: d.targetInstances,
      newLive: p.newLive,
      newHealthy: p.newHealthy,
      oldRemaining: p.oldRemaining,
      healthyTotal: p.healthyTotal,
      surplusRemaining: p.surplusRemaining,
    },
    startedAt: new Date(d.startedAt),
    lastProgressAt: new Date(d.lastProgressAt),
    endedAt: d.endedAt !== undefined ? new Date(d.endedAt) : undefined,
    progressDeadlineSeconds: d.progressDeadlineMs / 1000,
    message: d.message ?? '',
    rollbackId: d.rollbackId ?? '',
    rollsBack: d.rollsBack ?? '',
    minHealthy: d.minHealthy,
    maxLive: d.maxLive,
  };
}
