// The quota arithmetic on its own (shared/quota-usage.ts) and the ResourceQuota schema's rules: what
// a pod uses of a quota, which quotas a pod counts against, and Kubernetes' message wording.
import { expect } from 'chai';
import type { Pod } from '../../shared/api/core.js';
import { podsResource, resourceQuotasResource } from '../../shared/api/registry.js';
import type { ResourceQuota } from '../../shared/api/quota.js';
import { validateObject } from '../../shared/api/validation.js';
import { InvalidError } from '../../shared/errors.js';
import {
  countResourceName,
  delta,
  exceededMessage,
  exceededNames,
  governedNames,
  isBestEffort,
  isComputed,
  podConstraintViolation,
  podUsage,
  PODS_KIND,
  quotaMatches,
  usageOf,
  usedList,
} from '../../shared/quota-usage.js';
import { parseResourceList, toResourceList } from '../../shared/resources.js';

type Res = { requests?: Record<string, string>; limits?: Record<string, string> };

function pod(containers: Res[], extra: { init?: Res[]; phase?: string; activeDeadlineSeconds?: number; priorityClassName?: string } = {}): Pod {
  return validateObject(podsResource, {
    metadata: { name: 'p', namespace: 'default' },
    spec: {
      containers: containers.map((resources, i) => ({ name: `c${i}`, image: 'busybox', resources })),
      ...(extra.init ? { initContainers: extra.init.map((resources, i) => ({ name: `i${i}`, image: 'busybox', resources })) } : {}),
      ...(extra.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: extra.activeDeadlineSeconds } : {}),
      ...(extra.priorityClassName !== undefined ? { priorityClassName: extra.priorityClassName } : {}),
    },
    status: extra.phase ? { phase: extra.phase } : {},
  });
}

function quota(spec: ResourceQuota['spec'], status: ResourceQuota['status'] = {}): ResourceQuota {
  return validateObject(resourceQuotasResource, { metadata: { name: 'q', namespace: 'default' }, spec, status });
}

function causesOf(spec: unknown): string[] {
  try {
    validateObject(resourceQuotasResource, { metadata: { name: 'q', namespace: 'default' }, spec });
  } catch (err) {
    if (err instanceof InvalidError) return err.causes.map((c) => `${c.field}: ${c.message}`);
    throw err;
  }
  return [];
}

describe('quota usage arithmetic', () => {
  it('a pod uses its requests and limits under every quota name, plus pods and count/pods', () => {
    const p = pod([{ requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } }, { requests: { cpu: '250m', 'example.com/gpu': '1' } }]);
    expect(toResourceList(podUsage(p))).to.deep.equal({
      'count/pods': '1',
      pods: '1',
      cpu: '500m',
      'requests.cpu': '500m',
      'limits.cpu': '500m',
      memory: '64Mi',
      'requests.memory': '64Mi',
      'limits.memory': '128Mi',
      'requests.example.com/gpu': '1',
    });
  });

  it('init containers count by the larger of their largest and the containers sum', () => {
    const p = pod([{ requests: { cpu: '100m' } }, { requests: { cpu: '100m' } }], { init: [{ requests: { cpu: '300m', memory: '1Gi' } }] });
    const u = podUsage(p);
    expect(u.quantity('requests.cpu').toString()).to.equal('300m');
    expect(u.quantity('requests.memory').toString()).to.equal('1Gi');
  });

  it('a finished pod keeps only count/pods', () => {
    for (const phase of ['Succeeded', 'Failed']) {
      expect(toResourceList(podUsage(pod([{ requests: { cpu: '1' } }], { phase })))).to.deep.equal({ 'count/pods': '1' });
    }
  });

  it('usage is masked to the names the quota limits; delta drops zeros', () => {
    const q = quota({ hard: { pods: '10', 'requests.cpu': '2' } });
    const p = pod([{ requests: { cpu: '500m', memory: '1Gi' } }]);
    expect(toResourceList(usageOf(q, PODS_KIND, p))).to.deep.equal({ pods: '1', 'requests.cpu': '500m' });
    expect(usageOf(q, PODS_KIND, undefined).size).to.equal(0);
    const finished = pod([{ requests: { cpu: '500m' } }], { phase: 'Succeeded' });
    expect(toResourceList(delta(usageOf(q, PODS_KIND, p), usageOf(q, PODS_KIND, finished)))).to.deep.equal({ pods: '-1', 'requests.cpu': '-500m' });
    expect(delta(usageOf(q, PODS_KIND, p), usageOf(q, PODS_KIND, p)).size).to.equal(0);
  });

  it('count/<resource>.<group> names, and which names a kind governs', () => {
    expect(countResourceName(PODS_KIND)).to.equal('count/pods');
    const pgs = { group: 'scheduling.x-k8s.io', resource: 'podgroups' };
    expect(countResourceName(pgs)).to.equal('count/podgroups.scheduling.x-k8s.io');
    const hard = { pods: '1', 'count/pods': '2', cpu: '1', 'count/podgroups.scheduling.x-k8s.io': '3', 'limits.memory': '1Gi' };
    expect(governedNames(hard, PODS_KIND)).to.deep.equal(['count/pods', 'cpu', 'limits.memory', 'pods']);
    expect(governedNames(hard, pgs)).to.deep.equal(['count/podgroups.scheduling.x-k8s.io']);
    const q = quota({ hard });
    expect(toResourceList(usageOf(q, pgs, { metadata: { name: 'g' } }))).to.deep.equal({ 'count/podgroups.scheduling.x-k8s.io': '1' });
  });

  it('QoS: best effort means no cpu or memory request or limit in any container', () => {
    expect(isBestEffort(pod([{}]))).to.equal(true);
    expect(isBestEffort(pod([{ requests: { 'example.com/gpu': '1' } }]))).to.equal(true);
    expect(isBestEffort(pod([{}], { init: [{ limits: { memory: '1Mi' } }] }))).to.equal(false);
    expect(isBestEffort(pod([{}, { requests: { cpu: '1m' } }]))).to.equal(false);
  });

  it('scopes decide which pods a quota counts', () => {
    const best = pod([{}]);
    const burst = pod([{ requests: { cpu: '1' } }], { activeDeadlineSeconds: 30, priorityClassName: 'high' });
    const m = (spec: ResourceQuota['spec'], p: Pod) => quotaMatches(quota(spec), PODS_KIND, p);
    expect(m({ scopes: ['BestEffort'] }, best)).to.equal(true);
    expect(m({ scopes: ['BestEffort'] }, burst)).to.equal(false);
    expect(m({ scopes: ['NotBestEffort'] }, burst)).to.equal(true);
    expect(m({ scopes: ['Terminating'] }, burst)).to.equal(true);
    expect(m({ scopes: ['Terminating'] }, best)).to.equal(false);
    expect(m({ scopes: ['NotTerminating'] }, best)).to.equal(true);
    expect(m({ scopes: ['PriorityClass'] }, burst)).to.equal(true);
    expect(m({ scopes: ['PriorityClass'] }, best)).to.equal(false);
    const sel = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', values?: string[]) => ({
      scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass' as const, operator, ...(values ? { values } : {}) }] },
    });
    expect(m(sel('In', ['high', 'mid']), burst)).to.equal(true);
    expect(m(sel('In', ['low']), burst)).to.equal(false);
    expect(m(sel('NotIn', ['low']), burst)).to.equal(true);
    expect(m(sel('DoesNotExist'), best)).to.equal(true);
    expect(m(sel('DoesNotExist'), burst)).to.equal(false);
    // Every requirement must hold.
    expect(m({ scopes: ['NotBestEffort', 'Terminating'], ...sel('In', ['high']) }, burst)).to.equal(true);
    expect(m({ scopes: ['NotBestEffort', 'NotTerminating'] }, burst)).to.equal(false);
    // A scoped quota counts nothing but pods.
    expect(quotaMatches(quota({ scopes: ['BestEffort'] }), { group: 'policy', resource: 'poddisruptionbudgets' }, {})).to.equal(false);
    expect(quotaMatches(quota({}), { group: 'policy', resource: 'poddisruptionbudgets' }, {})).to.equal(true);
  });

  it('exceeded quota: Kubernetes wording, only the resources that go over, names sorted', () => {
    const hard = parseResourceList({ 'requests.cpu': '3', pods: '10', 'requests.memory': '1Gi' });
    const used = parseResourceList({ 'requests.cpu': '1500m', pods: '2', 'requests.memory': '0' });
    const requested = parseResourceList({ 'requests.cpu': '2', pods: '1', 'requests.memory': '512Mi' });
    const over = exceededNames(hard, used, requested);
    expect(over).to.deep.equal(['requests.cpu']);
    expect(exceededMessage('compute', hard, used, requested, over)).to.equal('exceeded quota: compute, requested: requests.cpu=2, used: requests.cpu=1500m, limited: requests.cpu=3');
    const two = exceededNames(hard, parseResourceList({ 'requests.cpu': '2', pods: '10' }), requested);
    expect(exceededMessage('q', hard, parseResourceList({ 'requests.cpu': '2', pods: '10' }), requested, two)).to.equal(
      'exceeded quota: q, requested: pods=1,requests.cpu=2, used: pods=10,requests.cpu=2, limited: pods=10,requests.cpu=3',
    );
    // Exactly at the limit is allowed; a release is never refused.
    expect(exceededNames(hard, parseResourceList({ pods: '9' }), parseResourceList({ pods: '1' }))).to.deep.equal([]);
    expect(exceededNames(hard, parseResourceList({ pods: '12' }), delta(parseResourceList({ pods: '1' }), parseResourceList({})))).to.deep.equal([]);
  });

  it('failed quota: every container must state what a quota limits of cpu and memory', () => {
    const p = pod([{ requests: { cpu: '1' } }, { limits: { memory: '1Gi' } }, {}]);
    expect(podConstraintViolation(p, ['pods'])).to.equal(undefined);
    expect(podConstraintViolation(p, ['limits.cpu', 'pods'])).to.equal('must specify limits.cpu for: c0,c1,c2');
    // A limit defaults the request (c1 has requests.memory from its limit).
    expect(podConstraintViolation(p, ['limits.cpu', 'requests.memory'])).to.equal('must specify limits.cpu for: c0,c1,c2; requests.memory for: c0,c2');
    expect(podConstraintViolation(pod([{ requests: { cpu: '1' } }]), ['cpu', 'requests.cpu'])).to.equal(undefined);
  });

  it('a quota is counted once status.hard is spec.hard and status.used has every name', () => {
    expect(isComputed(quota({ hard: { pods: '2' } }))).to.equal(false);
    expect(isComputed(quota({ hard: { pods: '2' } }, { hard: { pods: '2' } }))).to.equal(false);
    expect(isComputed(quota({ hard: { pods: '2' } }, { hard: { pods: '2' }, used: { pods: '0' } }))).to.equal(true);
    expect(isComputed(quota({ hard: { pods: '3' } }, { hard: { pods: '2' }, used: { pods: '0' } }))).to.equal(false);
    expect(isComputed(quota({ hard: { cpu: '1' } }, { hard: { cpu: '1000m' }, used: { cpu: '0' } }))).to.equal(true);
    expect(usedList({ pods: '2', 'requests.memory': '1Gi' }, parseResourceList({ pods: '1', cpu: '1' }))).to.deep.equal({ pods: '1', 'requests.memory': '0' });
  });

  it('schema rules: resource names, negative amounts, scope consistency, selector operators', () => {
    expect(causesOf({ hard: { pods: '1', 'count/pods': '1', 'requests.example.com/gpu': '2' } })).to.deep.equal([]);
    expect(causesOf({ hard: { bogus: '1' } })).to.deep.equal(['spec.hard.bogus: Invalid value: "bogus": must be a standard resource for quota']);
    expect(causesOf({ hard: { pods: '-1' } })).to.deep.equal(['spec.hard.pods: Invalid value: "-1": must be greater than or equal to 0']);
    expect(causesOf({ hard: { cpu: '1' }, scopes: ['BestEffort'] })).to.deep.equal(['spec.hard.cpu: Invalid value: "cpu": unsupported scope applied to resource']);
    expect(causesOf({ scopes: ['Terminating', 'NotTerminating'] })[0]).to.match(/^spec\.scopes: .*conflicting scopes/);
    expect(causesOf({ scopes: ['Nope'] })).to.have.length(1);
    expect(causesOf({ scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In' }] } })[0]).to.match(/^spec\.scopeSelector\.matchExpressions\[0\]\.values: Required value/);
    expect(causesOf({ scopeSelector: { matchExpressions: [{ scopeName: 'BestEffort', operator: 'In', values: ['x'] }] } })[0]).to.match(/^spec\.scopeSelector\.matchExpressions\[0\]\.operator: Invalid value/);
  });
});
