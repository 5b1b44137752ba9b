// What the dashboard says about a HorizontalPodAutoscaler (dashboard/src/autoscaler-summary.ts), on
// objects shaped the way the API server serves them (parsed through the real schema, so a spec
// without metrics has the default CPU target): `kubectl get hpa`'s columns, the conditions in
// `kubectl describe`'s order with how each reads, which autoscalers scale a workload, and whether a
// new list changed anything.
import { expect } from 'chai';
import { HorizontalPodAutoscalerSchema, type HorizontalPodAutoscaler } from '../../shared/api/autoscaling.js';
import { autoscalerSummary, autoscalersOf, sameAutoscalers, scaleTarget } from '../../dashboard/src/autoscaler-summary.js';

function hpa(o: { name?: string; namespace?: string; target?: Record<string, unknown>; spec?: Record<string, unknown>; status?: Record<string, unknown>; uid?: string; rv?: string } = {}): HorizontalPodAutoscaler {
  return HorizontalPodAutoscalerSchema.parse({
    metadata: { name: o.name ?? 'web', namespace: o.namespace ?? 'shop', uid: o.uid ?? `uid-${o.name ?? 'web'}`, resourceVersion: o.rv ?? '1' },
    spec: { scaleTargetRef: o.target ?? { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 10, ...o.spec },
    status: o.status ?? {},
  });
}

const cpuAt = (pct: number) => ({ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: pct } } });

describe('dashboard: autoscaler summaries', () => {
  it("gives kubectl get hpa's columns: REFERENCE, TARGETS, MINPODS, MAXPODS, REPLICAS", () => {
    const s = autoscalerSummary(hpa({ spec: { minReplicas: 2 }, status: { currentReplicas: 3, desiredReplicas: 4, currentMetrics: [cpuAt(45)] } }));
    expect(s).to.include({ reference: 'Deployment/web', targets: 'cpu: 45%/80%', minPods: 2, maxPods: 10, currentReplicas: 3, desiredReplicas: 4 });
    // Before the first measurement; two metrics and a third.
    expect(autoscalerSummary(hpa()).targets).to.equal('cpu: <unknown>/80%');
    const memory = { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '200Mi' } } };
    const three = hpa({ spec: { metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }, memory, memory] } });
    expect(autoscalerSummary(three).targets).to.equal('cpu: <unknown>/60%, memory: <unknown>/200Mi + 1 more...');
    expect(autoscalerSummary(hpa({ target: { kind: 'StatefulSet', name: 'db' } })).reference).to.equal('StatefulSet/db');
  });

  it("lists the conditions in kubectl describe's order, each with how it reads", () => {
    const s = autoscalerSummary(
      hpa({
        status: {
          conditions: [
            { type: 'ScalingLimited', status: 'True', reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' },
            { type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' },
            { type: 'ScalingActive', status: 'False', reason: 'FailedGetResourceMetric', message: 'the HPA was unable to compute the replica count: no metrics' },
          ],
        },
      }),
    );
    expect(s.conditions).to.deep.equal([
      { type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size', tone: 'ok' },
      { type: 'ScalingActive', status: 'False', reason: 'FailedGetResourceMetric', message: 'the HPA was unable to compute the replica count: no metrics', tone: 'bad' },
      { type: 'ScalingLimited', status: 'True', reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count', tone: 'progress' },
    ]);
    const tones = (conditions: { type: string; status: string; reason?: string }[]) => autoscalerSummary(hpa({ status: { conditions } })).conditions.map((c) => `${c.type}:${c.tone}`);
    expect(tones([{ type: 'AbleToScale', status: 'False', reason: 'FailedGetScale' }, { type: 'ScalingLimited', status: 'False', reason: 'DesiredWithinRange' }])).to.deep.equal(['AbleToScale:bad', 'ScalingLimited:ok']);
    // Scaled to zero by hand: autoscaling is off by someone's choice, not broken.
    expect(tones([{ type: 'ScalingActive', status: 'False', reason: 'ScalingDisabled' }, { type: 'ScalingLimited', status: 'Unknown' }])).to.deep.equal(['ScalingActive:progress', 'ScalingLimited:progress']);
    expect(autoscalerSummary(hpa()).conditions).to.deep.equal([]);
  });

  it('finds the autoscalers of one workload: same namespace, kind and name, in the apps group', () => {
    const mine = hpa({ name: 'b-web' });
    const rival = hpa({ name: 'a-web', target: { kind: 'Deployment', name: 'web' } });
    const all = [
      mine,
      rival,
      hpa({ name: 'other-ns', namespace: 'default' }),
      hpa({ name: 'rs', target: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web' } }),
      hpa({ name: 'core', target: { apiVersion: 'v1', kind: 'Deployment', name: 'web' } }),
      hpa({ name: 'elsewhere', target: { apiVersion: 'example.com/v1', kind: 'Deployment', name: 'web' } }),
    ];
    // Two autoscalers of one Deployment: both shown (their conditions say AmbiguousSelector), by name.
    expect(autoscalersOf(all, 'Deployment', 'shop', 'web').map((h) => h.metadata.name)).to.deep.equal(['a-web', 'b-web']);
    expect(autoscalersOf(all, 'ReplicaSet', 'shop', 'web').map((h) => h.metadata.name)).to.deep.equal(['rs']);
    expect(autoscalersOf(all, 'StatefulSet', 'shop', 'web')).to.deep.equal([]);
    expect(scaleTarget(rival)).to.deep.equal({ kind: 'Deployment', namespace: 'shop', name: 'web' });
    expect(scaleTarget(hpa({ target: { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'logs' } }))).to.equal(undefined);
    expect(scaleTarget(hpa({ target: { apiVersion: 'v1', kind: 'Deployment', name: 'web' } }))).to.equal(undefined);
  });

  it('tells a list that changed nothing from one that did, by uid and resourceVersion', () => {
    const a = [hpa({ name: 'a' }), hpa({ name: 'b' })];
    expect(sameAutoscalers(undefined, a)).to.equal(false);
    expect(sameAutoscalers(a, [hpa({ name: 'a' }), hpa({ name: 'b' })])).to.equal(true);
    expect(sameAutoscalers(a, [hpa({ name: 'a' }), hpa({ name: 'b', rv: '2' })])).to.equal(false);
    expect(sameAutoscalers(a, [hpa({ name: 'a' })])).to.equal(false);
    expect(sameAutoscalers(a, [hpa({ name: 'a' }), hpa({ name: 'b', uid: 'recreated' })])).to.equal(false);
    expect(sameAutoscalers([], [])).to.equal(true);
  });
});
