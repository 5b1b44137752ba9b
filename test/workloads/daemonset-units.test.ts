// The DaemonSet controller's decisions as pure functions, node by node: which nodes fit, the pod
// pinned to a node, what a sync creates and deletes, each step of a rolling update within its
// bounds, and the counted status.
import { expect } from 'chai';
import { CONTROLLER_REVISION_HASH_LABEL, DaemonSetSchema, type DaemonSet } from '../../shared/api/apps.js';
import { NodeSchema, PodSchema, type Node, type Pod } from '../../shared/api/core.js';
import { daemonPodFor, pinnedToNode, targetNode } from '../../controllers/daemonset/daemon-pod.js';
import { DaemonNodeFit, type NodeFit } from '../../controllers/daemonset/should-run.js';
import { managePlan, podsByNode, rollingUpdatePlan } from '../../controllers/daemonset/plan.js';
import { countStatus } from '../../controllers/daemonset/status.js';

function ds(o: { strategy?: Record<string, unknown>; nodeSelector?: Record<string, string>; tolerations?: unknown[]; minReadySeconds?: number } = {}): DaemonSet {
  return DaemonSetSchema.parse({
    metadata: { name: 'd', namespace: 'ns', uid: 'ds-uid', generation: 3 },
    spec: {
      selector: { matchLabels: { app: 'd' } },
      ...(o.strategy ? { updateStrategy: o.strategy } : {}),
      ...(o.minReadySeconds ? { minReadySeconds: o.minReadySeconds } : {}),
      template: {
        metadata: { labels: { app: 'd' } },
        spec: { containers: [{ name: 'c', image: 'i' }], ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}), ...(o.tolerations ? { tolerations: o.tolerations } : {}) },
      },
    },
  });
}

function node(name: string, o: { labels?: Record<string, string>; taints?: unknown[] } = {}): Node {
  return NodeSchema.parse({ metadata: { name, labels: o.labels ?? {} }, spec: { taints: o.taints ?? [] } });
}

let seq = 0;
/** A daemon pod bound to `nodeName`, of revision `hash`, ready unless said otherwise. */
function pod(nodeName: string, hash: string, o: { ready?: boolean; phase?: string; unbound?: boolean; deleting?: boolean; createdSecondsAgo?: number } = {}): Pod {
  seq++;
  const created = new Date(Date.now() - (o.createdSecondsAgo ?? 100) * 1000).toISOString();
  return PodSchema.parse({
    metadata: {
      name: `d-${seq}`,
      namespace: 'ns',
      uid: `uid-${seq}`,
      creationTimestamp: created,
      labels: { app: 'd', [CONTROLLER_REVISION_HASH_LABEL]: hash },
      ...(o.deleting ? { deletionTimestamp: created } : {}),
    },
    spec: {
      containers: [{ name: 'c', image: 'i' }],
      ...(o.unbound ? {} : { nodeName }),
      affinity: pinnedToNode(undefined, nodeName),
    },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: created }],
    },
  });
}

const fitsOf = (d: DaemonSet, nodes: Node[]) => new Map<string, NodeFit>(nodes.map((n) => [n.metadata.name ?? '', new DaemonNodeFit(d).of(n)]));
const names = (pods: Pod[]) => pods.map((p) => p.metadata.name);

describe('DaemonSet controller decisions', () => {
  describe('which nodes fit', () => {
    it('follows the node selector and required affinity, and lets untolerated NoSchedule keep a pod but NoExecute not', () => {
      const fit = new DaemonNodeFit(ds({ nodeSelector: { role: 'edge' } }));
      expect(fit.of(node('a', { labels: { role: 'edge' } }))).to.deep.equal({ shouldRun: true, shouldContinueRunning: true });
      expect(fit.of(node('b'))).to.deep.equal({ shouldRun: false, shouldContinueRunning: false });
      expect(fit.of(node('c', { labels: { role: 'edge' }, taints: [{ key: 'x', effect: 'NoSchedule' }] }))).to.deep.equal({ shouldRun: false, shouldContinueRunning: true });
      expect(fit.of(node('d', { labels: { role: 'edge' }, taints: [{ key: 'x', effect: 'NoExecute' }] }))).to.deep.equal({ shouldRun: false, shouldContinueRunning: false });
      expect(fit.of(node('e', { labels: { role: 'edge' }, taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }))).to.deep.equal({ shouldRun: true, shouldContinueRunning: true });
    });

    it('runs on unreachable, not-ready and cordoned nodes (the daemon tolerations), and where the template tolerates a taint', () => {
      const fit = new DaemonNodeFit(ds({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] }));
      for (const taint of [
        { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
        { key: 'dedicated', value: 'db', effect: 'NoSchedule' },
      ]) {
        expect(fit.of(node('n', { taints: [taint] })), taint.key).to.deep.equal({ shouldRun: true, shouldContinueRunning: true });
      }
      // The unreachable NoSchedule taint is not among them: no new pod, the old one stays.
      expect(fit.of(node('n', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }] }))).to.deep.equal({ shouldRun: false, shouldContinueRunning: true });
    });
  });

  it('pins a pod to its node in every required term, keeping the terms’ label expressions', () => {
    const affinity = pinnedToNode(
      { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }] } } },
      'n1',
    );
    const terms = affinity.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    expect(terms).to.have.length(2);
    for (const t of terms) expect(t.matchFields).to.deep.equal([{ key: 'metadata.name', operator: 'In', values: ['n1'] }]);
    expect(terms.map((t) => t.matchExpressions?.[0]?.values?.[0])).to.deep.equal(['a', 'b']);
    const body = daemonPodFor(ds(), 'n7', 'h1') as unknown as Pod;
    expect(targetNode(body)).to.equal('n7');
    expect(body.metadata.labels).to.deep.equal({ app: 'd', [CONTROLLER_REVISION_HASH_LABEL]: 'h1' });
    expect(body.spec.nodeName).to.equal(undefined);
  });

  describe('a sync', () => {
    it('creates on nodes without a pod, deletes where the pod may not stay, keeps the oldest of two, and deletes failed pods', () => {
      const d = ds({ nodeSelector: { role: 'edge' } });
      const edge = { labels: { role: 'edge' } };
      const nodes = [node('empty', edge), node('gone-label'), node('twice', edge), node('failed', edge), node('terminating', edge)];
      const old = pod('twice', 'h', { createdSecondsAgo: 300 });
      const young = pod('twice', 'h', { createdSecondsAgo: 10 });
      const misplaced = pod('gone-label', 'h');
      const failed = pod('failed', 'h', { phase: 'Failed' });
      const terminating = pod('terminating', 'h', { deleting: true });
      const orphanUnbound = pod('vanished', 'h', { unbound: true });
      const orphanBound = pod('vanished-bound', 'h');
      const orphanFailed = pod('vanished-bound', 'h', { phase: 'Failed' });
      const plan = managePlan(d, fitsOf(d, nodes), podsByNode([old, young, misplaced, failed, terminating, orphanUnbound, orphanBound, orphanFailed], targetNode), 'h');
      // `terminating` waits for its old pod to be gone; a running pod of a vanished node waits for the pod GC to fail it.
      expect(plan.create).to.deep.equal(['empty']);
      expect(names(plan.remove).sort()).to.deep.equal(names([young, misplaced, orphanUnbound, orphanFailed]).sort());
      expect(names(plan.failed)).to.deep.equal(names([failed]));
    });

    it('with surge keeps a node’s newest-revision pod beside its old one', () => {
      const d = ds({ strategy: { rollingUpdate: { maxSurge: '10%', maxUnavailable: 0 } } });
      const oldPod = pod('n', 'old', { createdSecondsAgo: 300 });
      const fresh = pod('n', 'new', { createdSecondsAgo: 10 });
      const extra = pod('n', 'new', { createdSecondsAgo: 5 });
      const plan = managePlan(d, fitsOf(d, [node('n')]), podsByNode([oldPod, fresh, extra], targetNode), 'new');
      expect(names(plan.remove)).to.deep.equal(names([extra]));
    });
  });

  describe('a rolling update', () => {
    const tenNodes = Array.from({ length: 10 }, (_, i) => node(`n${i}`));

    it('deletes old pods only while at most maxUnavailable nodes lack an available pod (25% of 10 rounds up to 3)', () => {
      const d = ds({ strategy: { rollingUpdate: { maxUnavailable: '25%' } } });
      const pods = tenNodes.map((n) => pod(n.metadata.name ?? '', 'old'));
      let plan = rollingUpdatePlan(d, fitsOf(d, tenNodes), podsByNode(pods, targetNode), 'new', Date.now());
      expect(plan.remove).to.have.length(3);
      expect(plan.create).to.deep.equal([]);
      // One node has a new pod not yet ready, one has none: one more old pod may go.
      const next = [pod('n0', 'new', { ready: false }), ...pods.slice(2)];
      plan = rollingUpdatePlan(d, fitsOf(d, tenNodes), podsByNode(next, targetNode), 'new', Date.now());
      expect(plan.remove).to.have.length(1);
    });

    it('replaces old pods that serve nothing at once, beyond the budget', () => {
      const d = ds();
      const pods = tenNodes.map((n, i) => pod(n.metadata.name ?? '', 'old', { ready: i >= 4 }));
      const plan = rollingUpdatePlan(d, fitsOf(d, tenNodes), podsByNode(pods, targetNode), 'new', Date.now());
      expect(names(plan.remove)).to.deep.equal(names(pods.slice(0, 4)));
    });

    it('counts a pod as available only after minReadySeconds', () => {
      const d = ds({ minReadySeconds: 60 });
      const pods = [pod('n0', 'new', { createdSecondsAgo: 10 }), ...tenNodes.slice(1).map((n) => pod(n.metadata.name ?? '', 'old'))];
      const plan = rollingUpdatePlan(d, fitsOf(d, tenNodes), podsByNode(pods, targetNode), 'new', Date.now());
      expect(plan.remove, 'the new pod, ready 10 s, is still unavailable: the budget of 1 is spent').to.deep.equal([]);
    });

    it('with maxSurge starts new pods beside old ones on at most maxSurge nodes, and removes each old pod once its new one is available', () => {
      const d = ds({ strategy: { rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } } });
      const olds = tenNodes.map((n) => pod(n.metadata.name ?? '', 'old'));
      let plan = rollingUpdatePlan(d, fitsOf(d, tenNodes), podsByNode(olds, targetNode), 'new', Date.now());
      expect(plan.create).to.deep.equal(['n0', 'n1']);
      expect(plan.remove).to.deep.equal([]);
      const surging = [...olds, pod('n0', 'new', { ready: false }), pod('n1', 'new')];
      plan = rollingUpdatePlan(d, fitsOf(d, tenNodes), podsByNode(surging, targetNode), 'new', Date.now());
      expect(names(plan.remove)).to.deep.equal(names([olds[1]!]));
      expect(plan.create).to.deep.equal(['n2']);
    });

    it('does nothing with OnDelete', () => {
      const d = ds({ strategy: { type: 'OnDelete' } });
      const plan = rollingUpdatePlan(d, fitsOf(d, tenNodes), podsByNode(tenNodes.map((n) => pod(n.metadata.name ?? '', 'old')), targetNode), 'new', Date.now());
      expect(plan).to.deep.equal({ create: [], remove: [], failed: [] });
    });
  });

  it('counts the status node by node', () => {
    const d = ds({ nodeSelector: { role: 'edge' } });
    const edge = { labels: { role: 'edge' } };
    const nodes = [node('a', edge), node('b', edge), node('c', edge), node('d')];
    const pods = [pod('a', 'new'), pod('b', 'old', { ready: false }), pod('d', 'new')];
    const s = countStatus(d, fitsOf(d, nodes), podsByNode(pods, targetNode), 'new', Date.now());
    expect(s).to.deep.equal({
      currentNumberScheduled: 2,
      numberMisscheduled: 1,
      desiredNumberScheduled: 3,
      numberReady: 1,
      observedGeneration: 3,
      updatedNumberScheduled: 1,
      numberAvailable: 1,
      numberUnavailable: 2,
    });
  });
});
