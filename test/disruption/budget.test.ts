// The budget arithmetic on its own (shared/disruption-budget.ts) and the PodDisruptionBudget
// schema's validation: no store, no server.
import { expect } from 'chai';
import type { Pod } from '../../shared/api/core.js';
import { podDisruptionBudgetsResource } from '../../shared/api/registry.js';
import type { PodDisruptionBudget, PodDisruptionBudgetSpec } from '../../shared/api/policy.js';
import { validateObject } from '../../shared/api/validation.js';
import { InvalidError } from '../../shared/errors.js';
import { computeStatus, DELETION_TIMEOUT_MS, nextExpiry, scaled } from '../../shared/disruption-budget.js';
import { defaultClusterRoles } from '../../apiserver/auth/rbac-defaults.js';

function budget(spec: PodDisruptionBudgetSpec, status: Partial<PodDisruptionBudget['status']> = {}): PodDisruptionBudget {
  return validateObject(podDisruptionBudgetsResource, { metadata: { name: 'b', namespace: 'default', generation: 3 }, spec, status });
}

type PodState = 'ready' | 'unready' | 'pending' | 'succeeded' | 'deleting';

function pod(name: string, state: PodState, labels: Record<string, string> = { app: 'web' }, created = '2026-01-01T00:00:00Z'): Pod {
  const phase = state === 'ready' || state === 'unready' || state === 'deleting' ? 'Running' : state === 'pending' ? 'Pending' : 'Succeeded';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels, creationTimestamp: created, ...(state === 'deleting' ? { deletionTimestamp: '2026-01-01T00:01:00Z' } : {}) },
    spec: { containers: [], nodeName: 'n1', schedulerName: 'default-scheduler', restartPolicy: 'Always' },
    status: { phase, conditions: [{ type: 'Ready', status: state === 'unready' ? 'False' : 'True' }] },
  } as unknown as Pod;
}

function byName(...pods: Pod[]): Map<string, Pod> {
  return new Map(pods.map((p) => [p.metadata.name ?? '', p]));
}

function numbers(b: PodDisruptionBudget, pods: Map<string, Pod>, now = Date.parse('2026-01-01T00:02:00Z')) {
  const s = computeStatus(b, pods, now);
  return { expected: s.expectedPods, healthy: s.currentHealthy, desired: s.desiredHealthy, allowed: s.disruptionsAllowed };
}

function causesOf(spec: unknown): { field: string; message: string }[] {
  try {
    validateObject(podDisruptionBudgetsResource, { metadata: { name: 'b', namespace: 'default' }, spec });
  } catch (err) {
    if (err instanceof InvalidError) return err.causes;
    throw err;
  }
  return [];
}

describe('disruption budget arithmetic', () => {
  const web = { matchLabels: { app: 'web' } };
  // Four running pods: three ready, one not; one finished; one of another app.
  const pods = byName(pod('a', 'ready'), pod('b', 'ready'), pod('c', 'ready'), pod('d', 'unready'), pod('e', 'succeeded'), pod('x', 'ready', { app: 'db' }));

  it('minAvailable as a count: desired is the count, expected the unfinished selected pods', () => {
    expect(numbers(budget({ minAvailable: 2, selector: web }), pods)).to.deep.equal({ expected: 4, healthy: 3, desired: 2, allowed: 1 });
    expect(numbers(budget({ minAvailable: 3, selector: web }), pods)).to.deep.equal({ expected: 4, healthy: 3, desired: 3, allowed: 0 });
    expect(numbers(budget({ minAvailable: 5, selector: web }), pods).allowed).to.equal(0);
  });

  it('percentages round up, of the selected unfinished pods', () => {
    expect(scaled('50%', 3)).to.equal(2);
    expect(scaled('10%', 4)).to.equal(1);
    expect(scaled('0%', 4)).to.equal(0);
    expect(numbers(budget({ minAvailable: '50%', selector: web }), pods)).to.deep.equal({ expected: 4, healthy: 3, desired: 2, allowed: 1 });
    // maxUnavailable 30% of 4 = 1.2 → 2 may be unavailable → 2 must stay healthy.
    expect(numbers(budget({ maxUnavailable: '30%', selector: web }), pods)).to.deep.equal({ expected: 4, healthy: 3, desired: 2, allowed: 1 });
    expect(numbers(budget({ maxUnavailable: 1, selector: web }), pods)).to.deep.equal({ expected: 4, healthy: 3, desired: 3, allowed: 0 });
    expect(numbers(budget({ maxUnavailable: '100%', selector: web }), pods)).to.deep.equal({ expected: 4, healthy: 3, desired: 0, allowed: 3 });
  });

  it('an absent selector selects nothing; an empty one selects every pod of the namespace', () => {
    expect(numbers(budget({ minAvailable: 0 }), pods)).to.deep.equal({ expected: 0, healthy: 0, desired: 0, allowed: 0 });
    expect(numbers(budget({ minAvailable: 0, selector: {} }), pods)).to.deep.equal({ expected: 5, healthy: 4, desired: 0, allowed: 4 });
    const other = byName({ ...pod('z', 'ready'), metadata: { ...pod('z', 'ready').metadata, namespace: 'other' } });
    expect(numbers(budget({ minAvailable: 0, selector: {} }), other).expected).to.equal(0);
  });

  it('pods being deleted, not ready, or pending are not healthy; a Running pod without a Ready condition is', () => {
    const noReady = pod('f', 'ready');
    noReady.status = { phase: 'Running' } as Pod['status'];
    const set = byName(pod('a', 'deleting'), pod('b', 'pending'), pod('c', 'unready'), noReady);
    expect(numbers(budget({ minAvailable: 0, selector: web }), set)).to.deep.equal({ expected: 4, healthy: 1, desired: 0, allowed: 1 });
  });

  it('granted evictions count against the budget until the pod is gone or two minutes pass', () => {
    const now = Date.parse('2026-01-01T00:02:00Z');
    const granted = new Date(now - 30_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const old = new Date(now - DELETION_TIMEOUT_MS - 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    const b = budget({ minAvailable: 1, selector: web }, { disruptedPods: { a: granted, b: old, gone: granted } });
    const s = computeStatus(b, pods, now);
    // a: still there and recent → kept and not healthy; b: timed out → dropped, healthy again; gone: dropped.
    expect(s.disruptedPods).to.deep.equal({ a: granted });
    expect([s.currentHealthy, s.disruptionsAllowed]).to.deep.equal([2, 1]);
    expect(nextExpiry(s.disruptedPods)).to.equal(Date.parse(granted) + DELETION_TIMEOUT_MS);
    // A pod re-created under the same name after the grant is not the one evicted.
    const fresh = byName(pod('a', 'ready', { app: 'web' }, new Date(now - 1000).toISOString().replace(/\.\d+Z$/, 'Z')));
    expect(computeStatus(b, fresh, now).disruptedPods).to.equal(undefined);
  });

  it('keeps the generation it observed and a DisruptionAllowed condition', () => {
    const s = computeStatus(budget({ minAvailable: 2, selector: web }), pods, Date.parse('2026-01-01T00:02:00Z'));
    expect(s.observedGeneration).to.equal(3);
    expect(s.conditions).to.have.length(1);
    expect(s.conditions![0]).to.include({ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' });
    const none = computeStatus(budget({ minAvailable: 4, selector: web }), pods, Date.parse('2026-01-01T00:02:00Z'));
    expect(none.conditions![0]).to.include({ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' });
  });

  it('validation names the field: both or neither bound, a bad percent, a bad selector, a bad policy', () => {
    expect(causesOf({ minAvailable: 1, maxUnavailable: 1 })).to.deep.equal([
      { reason: 'FieldValueInvalid', field: 'spec', message: 'Invalid value: {"minAvailable":1,"maxUnavailable":1}: minAvailable and maxUnavailable cannot be both set' },
    ]);
    expect(causesOf({}).map((c) => c.field)).to.deep.equal(['spec.minAvailable']);
    expect(causesOf({ minAvailable: '50' }).map((c) => c.field)).to.deep.equal(['spec.minAvailable']);
    expect(causesOf({ maxUnavailable: '150%' })[0]!.message).to.include('must not be greater than 100%');
    expect(causesOf({ maxUnavailable: -1 })[0]!.message).to.include('must be greater than or equal to 0');
    expect(causesOf({ minAvailable: 1, selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }).map((c) => c.field)).to.deep.equal(['spec.selector.matchExpressions[0].values']);
    expect(causesOf({ minAvailable: 1, selector: { matchLabels: { 'bad key!': 'x' } } }).map((c) => c.field)).to.deep.equal(['spec.selector.matchLabels']);
    expect(causesOf({ minAvailable: 1, unhealthyPodEvictionPolicy: 'Sometimes' }).map((c) => c.field)).to.deep.equal(['spec.unhealthyPodEvictionPolicy']);
    expect(causesOf({ minAvailable: true }).map((c) => c.field)).to.deep.equal(['spec.minAvailable']);
    expect(causesOf({ minAvailable: '100%', unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: {} })).to.deep.equal([]);
  });

  it('the default roles: edit/admin manage budgets and evict, view and the scheduler read budgets', () => {
    const roles = new Map(defaultClusterRoles().map((r) => [r.metadata.name, r.rules ?? []]));
    const grants = (role: string, group: string, resource: string, verb: string) =>
      (roles.get(role) ?? []).some(
        (r) => (r.apiGroups ?? []).some((g) => g === group || g === '*') && (r.resources ?? []).some((x) => x === resource || x === '*') && r.verbs.some((v) => v === verb || v === '*'),
      );
    for (const role of ['edit', 'admin']) {
      for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) expect(grants(role, 'policy', 'poddisruptionbudgets', verb), `${role} ${verb}`).to.equal(true);
      expect(grants(role, '', 'pods/eviction', 'create'), `${role} evicts`).to.equal(true);
      expect(grants(role, 'policy', 'poddisruptionbudgets/status', 'update'), `${role} writes no budget status`).to.equal(false);
    }
    for (const role of ['view', 'system:cell-scheduler']) {
      for (const verb of ['get', 'list', 'watch']) expect(grants(role, 'policy', 'poddisruptionbudgets', verb), `${role} ${verb}`).to.equal(true);
      expect(grants(role, 'policy', 'poddisruptionbudgets', 'create'), `${role} does not create`).to.equal(false);
    }
    expect(grants('view', '', 'pods/eviction', 'create')).to.equal(false);
  });
});
