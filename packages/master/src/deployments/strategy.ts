/**
 * The numbers an upgrade strategy sets for an app of N instances, as in
 * Marathon: at least ceil(N x minimumHealthCapacity) instances stay healthy
 * and at most N + floor(N x maximumOverCapacity) are live at any moment
 * while old tasks are replaced.
 */
import type { AppSpec } from '@drover/proto';

/** Limits a deployment works within. */
export interface StrategyLimits {
  readonly minHealthy: number;
  readonly maxLive: number;
  readonly progressDeadlineMs: number;
}

/** The limits for the app's spec. */
export function strategyLimits(spec: AppSpec): StrategyLimits {
  const n = spec.instances ?? 0;
  const u = spec.upgradeStrategy;
  return {
    minHealthy: Math.ceil(n * (u?.minimumHealthCapacity ?? 1) - 1e-9),
    maxLive: n + Math.floor(n * (u?.maximumOverCapacity ?? 1) + 1e-9),
    progressDeadlineMs: (u?.progressDeadlineSeconds ?? 600) * 1000,
  };
}
