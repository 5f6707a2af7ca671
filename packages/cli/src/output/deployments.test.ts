import { Deployment, DeploymentKind, type DeploymentProgress } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { shopUpdate, shopUpdateAt } from '../testing/fixtures.js';
import { formatDeploymentProgress, progressBar, progressFraction, progressText } from './deployments.js';

const progress = (targetInstances: number, newHealthy: number, oldRemaining: number, surplusRemaining = 0): DeploymentProgress => ({
  targetInstances,
  newLive: newHealthy,
  newHealthy,
  oldRemaining,
  healthyTotal: newHealthy + oldRemaining,
  surplusRemaining,
});

describe('progressFraction', () => {
  it.each([
    { name: 'a rolling update half way: 4 new of 6, 2 old left', p: progress(6, 4, 2), want: 0.5 },
    { name: 'the start of an update: no new, all old', p: progress(6, 0, 6), want: 0 },
    { name: 'done', p: progress(6, 6, 0), want: 1 },
    { name: 'a new app part way', p: progress(4, 1, 0), want: 0.25 },
    { name: 'more healthy than wanted (from an older master) counts as the target', p: progress(2, 5, 0), want: 1 },
    { name: 'a scale down from 3 to 2 with one task still stopping is not done', p: progress(2, 2, 0, 1), want: 2 / 3 },
    { name: 'scale to zero with tasks left', p: progress(0, 0, 3), want: 0 },
    { name: 'scale to zero done', p: progress(0, 0, 0), want: 1 },
    { name: 'no progress reported', p: undefined, want: 0 },
  ])('$name', ({ p, want }) => {
    expect(progressFraction(p)).toBe(want);
  });
});

describe('progressBar', () => {
  it.each([
    { fraction: 0, width: 10, want: '[..........]' },
    { fraction: 0.5, width: 10, want: '[#####.....]' },
    { fraction: 0.99, width: 10, want: '[#########.]' },
    { fraction: 1, width: 10, want: '[##########]' },
    { fraction: 1.5, width: 4, want: '[####]' },
    { fraction: -1, width: 4, want: '[....]' },
    { fraction: Number.NaN, width: 4, want: '[....]' },
  ])('$fraction of $width is $want', ({ fraction, width, want }) => {
    expect(progressBar(fraction, width)).toBe(want);
  });

  it('is 20 wide by default', () => {
    expect(progressBar(0.5)).toBe('[##########..........]');
  });
});

describe('formatDeploymentProgress', () => {
  it.each([
    {
      name: 'one step, part way',
      d: shopUpdate,
      want: ['RestartApplication /shop  [##########..........]  4/6 new healthy, 2 old remaining'],
    },
    {
      name: 'one step, done',
      d: shopUpdateAt(6, 0),
      want: ['RestartApplication /shop  [####################]  6/6 new healthy, 0 old remaining'],
    },
    {
      name: 'steps before the current one are done, those after it wait; labels line up',
      d: Deployment.fromPartial({
        ...shopUpdate,
        steps: [
          { action: 'StartApplication', appId: '/db' },
          { action: 'RestartApplication', appId: '/shop' },
          { action: 'ScaleApplication', appId: '/web' },
        ],
        currentStep: 2,
      }),
      want: [
        'StartApplication /db      [####################]  done',
        'RestartApplication /shop  [##########..........]  4/6 new healthy, 2 old remaining',
        'ScaleApplication /web     [....................]  waiting',
      ],
    },
    {
      name: 'no steps listed: the kind names the action',
      d: Deployment.fromPartial({ ...shopUpdate, steps: [], currentStep: 0, kind: DeploymentKind.DEPLOYMENT_KIND_SCALE }),
      want: ['ScaleApplication /shop  [##########..........]  4/6 new healthy, 2 old remaining'],
    },
    {
      name: 'no steps and a kind newer than this CLI, without progress',
      d: Deployment.fromPartial({ ...shopUpdate, steps: [], kind: 99 as DeploymentKind, progress: undefined }),
      want: ['Deploy /shop  [....................]  no progress reported'],
    },
  ])('$name', ({ d, want }) => {
    expect(formatDeploymentProgress(d)).toEqual(want);
  });

  it.each([
    { name: 'a rolling update', p: progress(6, 4, 2), want: '4/6 new healthy, 2 old remaining' },
    { name: 'a scale down with a surplus task stopping', p: progress(2, 2, 0, 1), want: '2/2 new healthy, 0 old remaining, 1 surplus stopping' },
    { name: 'never more new healthy than the target, whatever the master says', p: progress(2, 3, 0), want: '2/2 new healthy, 0 old remaining' },
  ])('says the numbers in words: $name', ({ p, want }) => {
    expect(progressText(p)).toBe(want);
  });
});
