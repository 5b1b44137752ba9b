// The autoscaler's pure parts: the replica calculator (Kubernetes' rules for pods not ready or
// not measured), the behavior (stabilization windows, rate policies, bounds) and the
// autoscaling/v1 ↔ v2 conversion, which must lose nothing a v1 client cannot see.
import { expect } from 'chai';
import {
  HorizontalPodAutoscalerSchema,
  HorizontalPodAutoscalerV1Schema,
  horizontalPodAutoscalerFromV1,
  horizontalPodAutoscalerToV1,
  metricsSummary,
} from '../../shared/api/autoscaling.js';
import { PodSchema, type Pod } from '../../shared/api/core.js';
import { applyBehavior, recordScale, type ScalingHistory } from '../../controllers/podautoscaler/behavior.js';
import { MetricUnavailableError, resourceReplicas, type PodUsage } from '../../controllers/podautoscaler/replica-calculator.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const SETTINGS = { tolerance: { up: 0.1, down: 0.1 }, cpuInitializationPeriodMs: 300_000, initialReadinessDelayMs: 30_000 };

function pod(name: string, o: { phase?: string; ready?: boolean; startedAgoMs?: number; readyAgoMs?: number; cpu?: string; deleting?: boolean } = {}): Pod {
  const started = NOW - (o.startedAgoMs ?? 600_000);
  return PodSchema.parse({
    metadata: { name, namespace: 'default', ...(o.deleting ? { deletionTimestamp: '2026-12-07T11:59:00Z' } : {}) },
    spec: { containers: [{ name: 'main', image: 'x', resources: { requests: { cpu: o.cpu ?? '100m' } } }] },
    status: {
      phase: o.phase ?? 'Running',
      startTime: new Date(started).toISOString(),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: new Date(NOW - (o.readyAgoMs ?? 590_000)).toISOString() }],
    },
  });
}

/** Usage in cores, sampled over the second before NOW. */
function usage(cpuByPod: Record<string, number>): Map<string, PodUsage> {
  return new Map(Object.entries(cpuByPod).map(([name, cpu]) => [name, { timestamp: NOW, windowMs: 1000, containers: new Map([['main', { cpu, memory: 1 << 20 }]]) }]));
}

const cpu50 = { resource: 'cpu', targetUtilization: 50 };

describe('autoscaler: replica calculator', () => {
  it('asks for ceil(usage / target × pods), and nothing new within the tolerance', () => {
    const pods = [pod('a'), pod('b')];
    // 150% and 50% of 100m: average 100%, twice the target.
    expect(resourceReplicas(cpu50, 2, pods, usage({ a: 0.15, b: 0.05 }), SETTINGS, NOW)).to.deep.include({ replicas: 4, utilization: 100 });
    // 54% against 50%: within 10%.
    expect(resourceReplicas(cpu50, 2, pods, usage({ a: 0.054, b: 0.054 }), SETTINGS, NOW).replicas).to.equal(2);
    expect(resourceReplicas(cpu50, 2, pods, usage({ a: 0.01, b: 0.01 }), SETTINGS, NOW).replicas).to.equal(1);
  });

  it('takes a tolerance per direction', () => {
    const pods = [pod('a'), pod('b')];
    // 54% against 50%: 8% above. Within 10%, not within 5%.
    expect(resourceReplicas(cpu50, 2, pods, usage({ a: 0.054, b: 0.054 }), { ...SETTINGS, tolerance: { up: 0.05, down: 0.1 } }, NOW).replicas).to.equal(3);
    // 46%: 8% below. A 0.1 down-tolerance keeps 2 whatever the up one is.
    expect(resourceReplicas(cpu50, 2, pods, usage({ a: 0.046, b: 0.046 }), { ...SETTINGS, tolerance: { up: 0, down: 0.1 } }, NOW).replicas).to.equal(2);
  });

  it('averages values per pod for an AverageValue target', () => {
    const pods = [pod('a'), pod('b'), pod('c')];
    const r = resourceReplicas({ resource: 'cpu', targetAverageValue: 0.1 }, 3, pods, usage({ a: 0.3, b: 0.3, c: 0.3 }), SETTINGS, NOW);
    expect(r.replicas).to.equal(9);
    expect(r.averageValue).to.be.closeTo(0.3, 1e-9);
    expect(r.utilization).to.equal(undefined);
  });

  it('assumes unmeasured pods use their full request when scaling down and nothing when scaling up', () => {
    const pods = [pod('a'), pod('b'), pod('new')];
    // Down: a and b idle, new unmeasured (counted at 100%): (0 + 0 + 100) / 3 = 33% → ceil(0.67 × 3) = 2, not 1.
    expect(resourceReplicas(cpu50, 3, pods, usage({ a: 0, b: 0 }), SETTINGS, NOW).replicas).to.equal(2);
    // Up: a and b at 100%, new counted at 0: 67% → ceil(1.33 × 3) = 4, not 6.
    expect(resourceReplicas(cpu50, 3, pods, usage({ a: 0.1, b: 0.1 }), SETTINGS, NOW).replicas).to.equal(4);
    // Up, but the unmeasured pod's 0 brings it within the tolerance: no change.
    expect(resourceReplicas(cpu50, 3, pods, usage({ a: 0.08, b: 0.08 }), SETTINGS, NOW).replicas).to.equal(3);
  });

  it('does not scale up on CPU of pods still starting, and ignores pods being deleted or failed', () => {
    // Young and not ready: counted as 0 when scaling up.
    const pods = [pod('a'), pod('young', { startedAgoMs: 10_000, ready: false, readyAgoMs: 10_000 }), pod('gone', { deleting: true }), pod('failed', { phase: 'Failed' })];
    const r = resourceReplicas(cpu50, 2, pods, usage({ a: 0.1, young: 1, gone: 1, failed: 1 }), SETTINGS, NOW);
    // a alone is at 100% (2× the target); with young at 0 the average is 50%: no change.
    expect(r.replicas).to.equal(2);
    // Young but ready, measured only before it turned ready: still set aside.
    const justReady = pod('young', { startedAgoMs: 10_000, readyAgoMs: 500 });
    expect(resourceReplicas(cpu50, 2, [pod('a'), justReady], usage({ a: 0.1, young: 1 }), SETTINGS, NOW).replicas).to.equal(2);
    // Ready long enough: its CPU counts.
    const settled = pod('young', { startedAgoMs: 10_000, readyAgoMs: 5_000 });
    expect(resourceReplicas(cpu50, 2, [pod('a'), settled], usage({ a: 0.1, young: 0.1 }), SETTINGS, NOW).replicas).to.equal(4);
  });

  it('fails with Kubernetes\' reasons when there is nothing to measure or no request', () => {
    const fails = (f: () => unknown, text: string) => {
      expect(f).to.throw(MetricUnavailableError, text);
    };
    fails(() => resourceReplicas(cpu50, 1, [], usage({}), SETTINGS, NOW), 'no pods returned by selector');
    fails(() => resourceReplicas(cpu50, 1, [pod('a')], usage({}), SETTINGS, NOW), 'did not receive metrics for targeted pods');
    const noRequest = PodSchema.parse({ ...pod('a'), spec: { containers: [{ name: 'main', image: 'x' }] } });
    fails(() => resourceReplicas(cpu50, 1, [noRequest], usage({ a: 0.1 }), SETTINGS, NOW), 'missing request for cpu in container main of Pod a');
  });
});

describe('autoscaler: behavior', () => {
  const fresh = (): ScalingHistory => ({ recommendations: [], scaleUps: [], scaleDowns: [] });
  const input = { minReplicas: 1, maxReplicas: 20, behavior: undefined, defaultDownWindowMs: 300_000 };

  it('scales up by the default policies (4 pods or 100% per 15 s, the more) and within maxReplicas', () => {
    expect(applyBehavior({ ...input, current: 1, desired: 10, now: NOW }, fresh())).to.deep.include({ replicas: 5 });
    expect(applyBehavior({ ...input, current: 8, desired: 30, now: NOW }, fresh()).replicas).to.equal(16);
    const capped = applyBehavior({ ...input, maxReplicas: 6, current: 4, desired: 30, now: NOW }, fresh());
    expect(capped).to.deep.include({ replicas: 6, limited: { status: 'True', reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' } });
    expect(applyBehavior({ ...input, current: 1, desired: 10, now: NOW }, fresh()).limited.reason).to.equal('ScaleUpLimit');
  });

  it('counts rescales already made in a policy\'s period', () => {
    const h = fresh();
    const behavior = { scaleUp: { policies: [{ type: 'Pods' as const, value: 2, periodSeconds: 60 }] } };
    recordScale(h, 2, 4, NOW - 30_000);
    // Period start was 2: at most 4 until the minute has passed.
    expect(applyBehavior({ ...input, behavior, current: 4, desired: 10, now: NOW }, h).replicas).to.equal(4);
    expect(applyBehavior({ ...input, behavior, current: 4, desired: 10, now: NOW + 31_000 }, h).replicas).to.equal(6);
  });

  it('scales down to the highest recommendation of the window, then by the down policy', () => {
    const h = fresh();
    expect(applyBehavior({ ...input, current: 10, desired: 10, now: NOW - 60_000 }, h).replicas).to.equal(10);
    const held = applyBehavior({ ...input, current: 10, desired: 2, now: NOW }, h);
    expect(held.replicas).to.equal(10);
    expect(held.stabilized?.reason).to.equal('ScaleDownStabilized');
    // Once the high recommendation is out of the window: down (100% per 15 s allows it all).
    expect(applyBehavior({ ...input, current: 10, desired: 2, now: NOW + 300_000 }, h).replicas).to.equal(2);
    const slow = { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent' as const, value: 10, periodSeconds: 60 }] } };
    const limited = applyBehavior({ ...input, behavior: slow, current: 10, desired: 2, now: NOW }, fresh());
    expect(limited).to.deep.include({ replicas: 9 });
    expect(limited.limited.reason).to.equal('ScaleDownLimit');
    const disabled = { scaleDown: { selectPolicy: 'Disabled' as const } };
    expect(applyBehavior({ ...input, behavior: disabled, current: 10, desired: 2, now: NOW }, fresh()).replicas).to.equal(10);
  });

  it('keeps the count within minReplicas', () => {
    const r = applyBehavior({ ...input, minReplicas: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 0 } }, current: 5, desired: 1, now: NOW }, fresh());
    expect(r).to.deep.include({ replicas: 3 });
    expect(r.limited.reason).to.equal('TooFewReplicas');
  });
});

describe('autoscaler: autoscaling/v1 and v2', () => {
  const stored = HorizontalPodAutoscalerSchema.parse({
    metadata: { name: 'web', namespace: 'default', annotations: { team: 'a' } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      maxReplicas: 5,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 60 } },
    },
    status: {
      currentReplicas: 2,
      desiredReplicas: 3,
      currentMetrics: [
        { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 75, averageValue: '75m' } } },
        { type: 'Resource', resource: { name: 'memory', current: { averageValue: '50Mi' } } },
      ],
      conditions: [{ type: 'AbleToScale', status: 'True', reason: 'SucceededRescale' }],
    },
  });

  it('defaults a v2 autoscaler as Kubernetes does', () => {
    const min = HorizontalPodAutoscalerSchema.parse({ spec: { scaleTargetRef: { kind: 'Deployment', name: 'x' }, maxReplicas: 2 } });
    expect(min.spec.minReplicas).to.equal(1);
    expect(min.spec.metrics).to.deep.equal([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
    expect(min.spec).to.not.have.property('behavior');
    expect(stored.spec.behavior?.scaleUp).to.deep.equal({ stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] });
  });

  it('shows the CPU target in v1 and keeps the rest in annotations, and converts back to the same object', () => {
    const v1 = HorizontalPodAutoscalerV1Schema.parse(horizontalPodAutoscalerToV1(stored));
    expect(v1.spec).to.deep.equal({ scaleTargetRef: stored.spec.scaleTargetRef, minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 60 });
    expect(v1.status).to.deep.include({ currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 75 });
    expect(v1.metadata.annotations?.team).to.equal('a');
    const { object, causes } = horizontalPodAutoscalerFromV1(v1);
    expect(causes).to.deep.equal([]);
    const back = HorizontalPodAutoscalerSchema.parse(object);
    expect(back.spec).to.deep.equal(stored.spec);
    expect(back.metadata.annotations).to.deep.equal({ team: 'a' });
    expect(back.status.conditions).to.deep.equal(stored.status.conditions);
    expect(back.status.currentMetrics?.[1]).to.deep.equal(stored.status.currentMetrics?.[1]);
  });

  it('names a malformed annotation as the field that is wrong', () => {
    const v1 = HorizontalPodAutoscalerV1Schema.parse({ metadata: { annotations: { 'autoscaling.alpha.kubernetes.io/metrics': '{not json' } }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'x' }, maxReplicas: 2 } });
    expect(horizontalPodAutoscalerFromV1(v1).causes.map((c) => c.field)).to.deep.equal(['metadata.annotations[autoscaling.alpha.kubernetes.io/metrics]']);
  });

  it('prints TARGETS as kubectl does', () => {
    expect(metricsSummary(stored)).to.equal('cpu: 75%/60%, memory: 50Mi/100Mi');
    const unmeasured = HorizontalPodAutoscalerSchema.parse({ spec: { scaleTargetRef: { kind: 'Deployment', name: 'x' }, maxReplicas: 2 } });
    expect(metricsSummary(unmeasured)).to.equal('cpu: <unknown>/80%');
  });
});
