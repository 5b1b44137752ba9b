// DaemonSets end to end: four hollow nodes, a real scheduler process placing every daemon pod, the
// DaemonSet controller with the garbage collector and the pod GC in-process, and real kubectl for
// each kubectl verb. One pod per node; nodes gaining and losing the selector's label, a NoSchedule
// and a NoExecute taint, a node appearing and going; a rolling update held to maxUnavailable (and
// with maxSurge, to never a node without a ready pod), sampled after every pod event; `kubectl
// rollout history|undo` over ControllerRevisions; OnDelete; a failed pod replaced; cascade delete.
import { expect } from 'chai';
import { CONTROLLER_REVISION_HASH_LABEL, type ControllerRevision, type DaemonSet } from '../../shared/api/apps.js';
import type { Node, Pod } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { InvalidError } from '../../shared/errors.js';
import { daemonSetControllerDefinition, DAEMONSETS } from '../../controllers/daemonset/controller.js';
import { CONTROLLER_REVISIONS } from '../../controllers/controller-history.js';
import { targetNode } from '../../controllers/daemonset/daemon-pod.js';
import { garbageCollectorDefinition } from '../../controllers/garbage-collector/controller.js';
import { podGcController } from '../../controllers/pod-gc/controller.js';
import { expectOk, tempDir, waitFor } from '../clients/helpers.js';
import { cellctl, isolatedEnv } from '../cli/helpers.js';
import { startControllers } from '../controllers/helpers.js';
import { PodWatchSampler } from './apps-helpers.js';
import { createNamespace, workloadSuite } from './cluster.js';

const startDaemonSetControllers = (client: ApiClient) => startControllers(client, [daemonSetControllerDefinition, garbageCollectorDefinition, podGcController], { podGcIntervalMs: 500 }, 'daemonset-test');

function manifest(name: string, o: { nodeSelector?: Record<string, string>; updateStrategy?: Record<string, unknown>; image?: string; tolerations?: unknown[]; cpu?: string } = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      ...(o.updateStrategy ? { updateStrategy: o.updateStrategy } : {}),
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'agent', image: o.image ?? 'busybox:1', command: ['sleep', '3600'], resources: { requests: { cpu: o.cpu ?? '100m', memory: '64Mi' } } }],
          ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
          ...(o.tolerations ? { tolerations: o.tolerations } : {}),
        },
      },
    },
  };
}

const isLive = (p: Pod) => p.metadata.deletionTimestamp === undefined && p.status.phase !== 'Failed' && p.status.phase !== 'Succeeded';
const isReady = (p: Pod) => isLive(p) && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

async function daemonPods(client: ApiClient, ns: string, app: string): Promise<Pod[]> {
  return (await client.list<{ items: Pod[] }>({ resource: 'pods', namespace: ns }, { labelSelector: `app=${app}` })).items;
}

async function getDs(client: ApiClient, ns: string, name: string): Promise<DaemonSet> {
  return client.get<DaemonSet>({ ...DAEMONSETS, namespace: ns, name });
}

async function revisions(client: ApiClient, ns: string): Promise<ControllerRevision[]> {
  return (await client.list<{ items: ControllerRevision[] }>({ ...CONTROLLER_REVISIONS, namespace: ns })).items;
}

/** Live pods by the node they are bound to; waits until exactly `nodes` have one each, all Running and ready. */
async function waitOnePerNode(client: ApiClient, ns: string, app: string, nodes: string[], image?: string): Promise<Map<string, Pod>> {
  let last: Pod[] = [];
  try {
    return await waitFor(async () => {
      last = (await daemonPods(client, ns, app)).filter((p) => p.metadata.deletionTimestamp === undefined);
      const bound = new Map(last.filter(isReady).map((p) => [p.spec.nodeName ?? '', p]));
      const ok =
        last.length === nodes.length &&
        bound.size === nodes.length &&
        nodes.every((n) => bound.has(n)) &&
        (image === undefined || last.every((p) => p.spec.containers[0]?.image === image));
      return ok ? bound : undefined;
    }, `one ready ${app} pod on each of ${nodes.join(', ')}`, 60_000, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast: ${JSON.stringify(last.map((p) => [p.metadata.name, p.spec.nodeName, p.status.phase, p.spec.containers[0]?.image]))}`);
  }
}

/** Waits until the DaemonSet's status has caught up with its generation and reads `want`. */
async function waitStatus(client: ApiClient, ns: string, name: string, want: Partial<DaemonSet['status']>): Promise<DaemonSet> {
  let last: DaemonSet | undefined;
  try {
    return await waitFor(async () => {
      last = await getDs(client, ns, name);
      const s = last.status as Record<string, unknown>;
      const caughtUp = (last.status.observedGeneration ?? 0) >= (last.metadata.generation ?? 1);
      return caughtUp && Object.entries(want).every(([k, v]) => s[k] === v) ? last : undefined;
    }, `daemonset ${ns}/${name} status ${JSON.stringify(want)}`, 60_000, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status)}`);
  }
}

/** Samples, after every pod event, how many of `nodes` lack a ready pod, the most live pods on one node and in all. */
class NodeSampler extends PodWatchSampler {
  maxNodesWithoutReady = 0;
  maxPodsOnANode = 0;
  maxLive = 0;

  constructor(client: ApiClient, ns: string, app: string, private readonly nodes: string[]) {
    super(client, ns, `app=${app}`);
  }

  protected sample(): void {
    const live = this.informer.list().filter(isLive);
    this.maxLive = Math.max(this.maxLive, live.length);
    let without = 0;
    for (const n of this.nodes) {
      const here = live.filter((p) => targetNode(p) === n);
      this.maxPodsOnANode = Math.max(this.maxPodsOnANode, here.length);
      if (!here.some(isReady)) without++;
    }
    this.maxNodesWithoutReady = Math.max(this.maxNodesWithoutReady, without);
  }
}

describe('DaemonSets on real nodes, placed by a real scheduler, driven by kubectl', function () {
  this.timeout(180_000);
  const cluster = workloadSuite({ name: 'ds', hollowNodes: 4, startControllers: startDaemonSetControllers });
  let nodes: string[] = [];

  before(async () => {
    nodes = (await cluster.client.list<{ items: Node[] }>({ resource: 'nodes' })).items.map((n) => n.metadata.name ?? '').sort();
  });

  const apply = (ns: string, obj: unknown) => cluster.apply(ns, obj);

  it('runs one pod on every node, each pinned by node affinity and bound there by the scheduler; kubectl shows its columns and rollout status', async () => {
    const ns = 'ds-basic';
    await createNamespace(cluster.client, ns);
    await apply(ns, manifest('agent'));
    const byNode = await waitOnePerNode(cluster.client, ns, 'agent', nodes);
    const ds = await waitStatus(cluster.client, ns, 'agent', { desiredNumberScheduled: 4, currentNumberScheduled: 4, numberReady: 4, updatedNumberScheduled: 4, numberAvailable: 4, numberMisscheduled: 0 });
    expect(ds.spec.updateStrategy).to.deep.equal({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    expect(ds.status.numberUnavailable).to.equal(0);

    const revs = await revisions(cluster.client, ns);
    expect(revs).to.have.length(1);
    const hash = revs[0]!.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
    expect(revs[0]).to.deep.include({ revision: 1 });
    expect(revs[0]!.metadata.name).to.equal(`agent-${hash}`);
    expect(revs[0]!.metadata.ownerReferences?.[0]).to.include({ kind: 'DaemonSet', name: 'agent', uid: ds.metadata.uid, controller: true });

    for (const [node, pod] of byNode) {
      expect(pod.metadata.labels).to.include({ app: 'agent', [CONTROLLER_REVISION_HASH_LABEL]: hash });
      expect(pod.metadata.ownerReferences?.[0]).to.include({ kind: 'DaemonSet', name: 'agent', controller: true });
      // Pinned by affinity (so the scheduler places it and checks it fits), not by spec.nodeName.
      expect(pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).to.deep.equal([
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] },
      ]);
      const tolerated = (pod.spec.tolerations ?? []).map((t) => `${t.key}:${t.effect}`);
      expect(tolerated).to.include.members(['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unschedulable:NoSchedule']);
    }

    const table = expectOk(await cluster.kubectl(['-n', ns, 'get', 'ds']), 'kubectl get ds').stdout.split('\n');
    expect(table[0]?.split(/\s+/)).to.deep.equal(['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE', 'SELECTOR', 'AGE']);
    expect(table[1]?.split(/\s+/).slice(0, 7)).to.deep.equal(['agent', '4', '4', '4', '4', '4', '<none>']);
    const status = expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'status', 'ds/agent', '--timeout=30s'], 40_000), 'kubectl rollout status').stdout;
    expect(status).to.include('daemon set "agent" successfully rolled out');
    const crTable = expectOk(await cluster.kubectl(['-n', ns, 'get', 'controllerrevisions']), 'kubectl get controllerrevisions').stdout.split('\n');
    expect(crTable[1]?.split(/\s+/).slice(0, 3)).to.deep.equal([`agent-${hash}`, 'daemonset.apps/agent', '1']);
  });

  it('follows the nodes: a label gained and lost, a NoSchedule taint (keeps its pod), a NoExecute taint (loses it), a node added and removed', async () => {
    const ns = 'ds-nodes';
    await createNamespace(cluster.client, ns);
    await apply(ns, manifest('edge', { nodeSelector: { role: 'edge' } }));
    await waitStatus(cluster.client, ns, 'edge', { desiredNumberScheduled: 0, currentNumberScheduled: 0 });
    expect(await daemonPods(cluster.client, ns, 'edge')).to.have.length(0);
    const [a, b] = [nodes[0]!, nodes[1]!];
    const label = (node: string, value: string | null) => cluster.client.patch({ resource: 'nodes', name: node }, { metadata: { labels: { role: value } } }, 'merge');
    const taint = (node: string, taints: unknown[]) => cluster.client.patch({ resource: 'nodes', name: node }, { spec: { taints } }, 'merge');
    try {
      await label(a, 'edge');
      await label(b, 'edge');
      await waitOnePerNode(cluster.client, ns, 'edge', [a, b]);
      await waitStatus(cluster.client, ns, 'edge', { desiredNumberScheduled: 2, numberReady: 2 });

      await label(b, null);
      await waitOnePerNode(cluster.client, ns, 'edge', [a]);
      await waitStatus(cluster.client, ns, 'edge', { desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 0 });

      // NoSchedule: no new pod would go there, but the one running stays (counted as misscheduled).
      const before = (await daemonPods(cluster.client, ns, 'edge'))[0]!;
      await taint(a, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
      await waitStatus(cluster.client, ns, 'edge', { desiredNumberScheduled: 0, numberMisscheduled: 1 });
      const still = await daemonPods(cluster.client, ns, 'edge');
      expect(still.map((p) => p.metadata.uid)).to.deep.equal([before.metadata.uid]);
      expect(still[0]!.metadata.deletionTimestamp).to.equal(undefined);

      // NoExecute: the pod must go.
      await taint(a, [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }]);
      await waitFor(async () => (await daemonPods(cluster.client, ns, 'edge')).length === 0, 'the pod on the NoExecute node deleted', 30_000, 100);
      await waitStatus(cluster.client, ns, 'edge', { desiredNumberScheduled: 0, numberMisscheduled: 0 });
      await taint(a, []);
      await waitOnePerNode(cluster.client, ns, 'edge', [a]);

      // A new node with the label gets a pod pinned to it; when it goes, so does the pod.
      const extra = 'ds-extra-node';
      await cluster.client.create({ resource: 'nodes' }, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: extra, labels: { role: 'edge' } },
        status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '8Gi', pods: '110' } },
      });
      const pinned = await waitFor(async () => (await daemonPods(cluster.client, ns, 'edge')).find((p) => targetNode(p) === extra), 'a pod for the new node', 30_000, 100);
      expect(pinned.metadata.deletionTimestamp).to.equal(undefined);
      await waitStatus(cluster.client, ns, 'edge', { desiredNumberScheduled: 2, currentNumberScheduled: 2 });
      await cluster.client.delete({ resource: 'nodes', name: extra });
      await waitFor(async () => !(await daemonPods(cluster.client, ns, 'edge')).some((p) => targetNode(p) === extra), 'the new node’s pod gone with it', 30_000, 100);
      await waitStatus(cluster.client, ns, 'edge', { desiredNumberScheduled: 1, currentNumberScheduled: 1 });
    } finally {
      for (const n of [a, b]) {
        await label(n, null);
        await taint(n, []);
      }
    }
  });

  it('rolls `kubectl set image` out node by node within maxUnavailable=1; `rollout history` lists both revisions and `rollout undo` brings revision 1 back as 3', async () => {
    const ns = 'ds-rolling';
    await createNamespace(cluster.client, ns);
    await apply(ns, manifest('logs'));
    const first = await waitOnePerNode(cluster.client, ns, 'logs', nodes);
    const firstHash = [...first.values()][0]!.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];

    const sampler = new NodeSampler(cluster.client, ns, 'logs', nodes);
    await sampler.start();
    try {
      expectOk(await cluster.kubectl(['-n', ns, 'set', 'image', 'ds/logs', 'agent=busybox:1.36']), 'kubectl set image');
      expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'status', 'ds/logs', '--timeout=90s'], 100_000), 'kubectl rollout status');
      await waitOnePerNode(cluster.client, ns, 'logs', nodes, 'busybox:1.36');
    } finally {
      await sampler.stop();
    }
    expect(sampler.samples, 'pod events seen during the update').to.be.greaterThan(8);
    expect(sampler.maxNodesWithoutReady, 'never more than maxUnavailable nodes without a ready pod').to.equal(1);
    expect(sampler.maxPodsOnANode, 'never two pods on a node without surge').to.equal(1);

    const revs = (await revisions(cluster.client, ns)).sort((x, y) => x.revision - y.revision);
    expect(revs.map((r) => r.revision)).to.deep.equal([1, 2]);
    const history = expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'history', 'ds/logs']), 'kubectl rollout history').stdout;
    expect(history.split('\n').filter((l) => /^\d+\s/.test(l)).map((l) => l.split(/\s+/)[0])).to.deep.equal(['1', '2']);

    expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'undo', 'ds/logs']), 'kubectl rollout undo');
    const back = await waitOnePerNode(cluster.client, ns, 'logs', nodes, 'busybox:1');
    await waitStatus(cluster.client, ns, 'logs', { updatedNumberScheduled: 4, numberAvailable: 4 });
    for (const p of back.values()) expect(p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]).to.equal(firstHash);
    const after = await revisions(cluster.client, ns);
    expect(after.find((r) => r.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === firstHash)?.revision, 'the old revision renumbered').to.equal(3);
    expect(after).to.have.length(2);
  });

  it('with maxSurge=1, maxUnavailable=0 starts each new pod beside the old one: no node is ever without a ready pod', async () => {
    const ns = 'ds-surge';
    await createNamespace(cluster.client, ns);
    await apply(ns, manifest('net', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
    await waitOnePerNode(cluster.client, ns, 'net', nodes);
    const sampler = new NodeSampler(cluster.client, ns, 'net', nodes);
    await sampler.start();
    try {
      expectOk(await cluster.kubectl(['-n', ns, 'set', 'image', 'ds/net', 'agent=busybox:1.36']), 'kubectl set image');
      expectOk(await cluster.kubectl(['-n', ns, 'rollout', 'status', 'ds/net', '--timeout=90s'], 100_000), 'kubectl rollout status');
      await waitOnePerNode(cluster.client, ns, 'net', nodes, 'busybox:1.36');
    } finally {
      await sampler.stop();
    }
    expect(sampler.maxNodesWithoutReady, 'every node kept a ready pod').to.equal(0);
    expect(sampler.maxPodsOnANode, 'the new pod ran beside the old one').to.equal(2);
    expect(sampler.maxLive, 'at most maxSurge nodes with two pods').to.equal(5);
  });

  it('with OnDelete changes a node’s pod only when someone deletes it', async () => {
    const ns = 'ds-ondelete';
    await createNamespace(cluster.client, ns);
    await apply(ns, manifest('manual', { updateStrategy: { type: 'OnDelete' } }));
    const first = await waitOnePerNode(cluster.client, ns, 'manual', nodes);
    expectOk(await cluster.kubectl(['-n', ns, 'set', 'image', 'ds/manual', 'agent=busybox:1.36']), 'kubectl set image');
    await waitStatus(cluster.client, ns, 'manual', { updatedNumberScheduled: 0, numberAvailable: 4 });
    const victim = first.get(nodes[2]!)!;
    await cluster.client.delete({ resource: 'pods', namespace: ns, name: victim.metadata.name ?? '' });
    const replaced = await waitFor(async () => (await daemonPods(cluster.client, ns, 'manual')).find((p) => isReady(p) && p.spec.nodeName === nodes[2] && p.metadata.uid !== victim.metadata.uid), 'the deleted pod replaced', 30_000, 100);
    expect(replaced.spec.containers[0]?.image).to.equal('busybox:1.36');
    await waitStatus(cluster.client, ns, 'manual', { updatedNumberScheduled: 1, numberAvailable: 4 });
    const images = (await daemonPods(cluster.client, ns, 'manual')).filter(isLive).map((p) => p.spec.containers[0]?.image).sort();
    expect(images).to.deep.equal(['busybox:1', 'busybox:1', 'busybox:1', 'busybox:1.36']);
    const rollout = await cluster.kubectl(['-n', ns, 'rollout', 'status', 'ds/manual', '--timeout=5s']);
    expect(rollout.code).to.not.equal(0);
    expect(rollout.stderr).to.include('rollout status is only available for RollingUpdate strategy type');
  });

  it('replaces a failed daemon pod and records why; deleting the DaemonSet takes its pods and revisions', async () => {
    const ns = 'ds-failed';
    await createNamespace(cluster.client, ns);
    await apply(ns, manifest('fail'));
    const first = await waitOnePerNode(cluster.client, ns, 'fail', nodes);
    const victim = first.get(nodes[1]!)!;
    const ref = { resource: 'pods', namespace: ns, name: victim.metadata.name ?? '', subresource: 'status' };
    const fresh = await cluster.client.get<Pod>({ ...ref, subresource: undefined });
    await cluster.client.update(ref, { ...fresh, status: { ...fresh.status, phase: 'Failed', reason: 'Evicted', message: 'test' } });
    await waitFor(async () => (await daemonPods(cluster.client, ns, 'fail')).find((p) => isReady(p) && p.spec.nodeName === nodes[1] && p.metadata.uid !== victim.metadata.uid), 'the failed pod replaced', 30_000, 100);
    const events = await cluster.client.list<{ items: { reason?: string; message?: string }[] }>({ resource: 'events', namespace: ns });
    expect(events.items.some((e) => e.reason === 'FailedDaemonPod' && e.message?.includes(`${ns}/${victim.metadata.name ?? ''} on node ${nodes[1]}`))).to.equal(true);

    expectOk(await cluster.kubectl(['-n', ns, 'delete', 'ds', 'fail']), 'kubectl delete ds');
    await waitFor(async () => (await daemonPods(cluster.client, ns, 'fail')).length === 0 && (await revisions(cluster.client, ns)).length === 0, 'pods and revisions collected', 30_000, 100);
  });

  it('leaves a daemon pod that does not fit a full node waiting, never over-committing it, until a priority class lets it preempt', async () => {
    const ns = 'ds-full';
    await createNamespace(cluster.client, ns);
    const full = nodes[3]!;
    // A tenant's pod takes nearly every cpu of one node (the earlier tests' DaemonSets hold 100m each).
    await cluster.client.create({ resource: 'pods', namespace: ns }, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'filler' },
      spec: {
        containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: '7' } } }],
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [full] }] }] } } },
      },
    });
    await waitFor(async () => (await cluster.client.get<Pod>({ resource: 'pods', namespace: ns, name: 'filler' })).status.phase === 'Running', 'the filler running', 30_000, 100);

    await apply(ns, manifest('tight', { cpu: '1500m' }));
    const waiting = await waitStatus(cluster.client, ns, 'tight', { desiredNumberScheduled: 4, currentNumberScheduled: 4, numberReady: 3, numberAvailable: 3, numberUnavailable: 1 });
    expect(waiting.status.updatedNumberScheduled).to.equal(4);
    const pending = (await daemonPods(cluster.client, ns, 'tight')).find((p) => targetNode(p) === full)!;
    expect(pending.spec.nodeName, 'not bound to the full node').to.equal(undefined);
    await waitFor(async () => {
      const events = await cluster.client.list<{ items: { reason?: string; message?: string; involvedObject?: { name?: string } }[] }>({ resource: 'events', namespace: ns });
      return events.items.some((e) => e.reason === 'FailedScheduling' && e.involvedObject?.name === pending.metadata.name && e.message?.includes('Insufficient cpu'));
    }, 'a FailedScheduling event saying Insufficient cpu', 30_000, 100);

    // The same DaemonSet as node-critical: the update replaces the waiting pod, which preempts the filler.
    await cluster.client.patch({ ...DAEMONSETS, namespace: ns, name: 'tight' }, { spec: { template: { spec: { priorityClassName: 'system-node-critical' } } } }, 'merge');
    await waitOnePerNode(cluster.client, ns, 'tight', nodes);
    await waitStatus(cluster.client, ns, 'tight', { desiredNumberScheduled: 4, numberReady: 4, updatedNumberScheduled: 4, numberAvailable: 4 });
    const filler = await cluster.client.get<Pod>({ resource: 'pods', namespace: ns, name: 'filler' }).catch(() => undefined);
    expect(filler === undefined || filler.metadata.deletionTimestamp !== undefined || filler.status.phase === 'Failed', 'the filler preempted').to.equal(true);
    const onFull = (await daemonPods(cluster.client, ns, 'tight')).find((p) => p.spec.nodeName === full && isReady(p))!;
    expect(onFull.spec.priority).to.equal(2000001000);
  });

  it('answers cellctl rollout status, history and undo for a DaemonSet as kubectl does', async () => {
    const ns = 'ds-cellctl';
    await createNamespace(cluster.client, ns);
    await apply(ns, manifest('cli'));
    await waitOnePerNode(cluster.client, ns, 'cli', nodes);
    const home = tempDir('cell-ds-cellctl-');
    const run = (...args: string[]) => cellctl([`--server=${cluster.api.url}`, '-n', ns, ...args], { env: isolatedEnv(home), timeoutMs: 90_000 });
    expectOk(await cluster.kubectl(['-n', ns, 'set', 'image', 'ds/cli', 'agent=busybox:1.36']), 'kubectl set image');
    const status = await run('rollout', 'status', 'daemonset/cli', '--timeout=60s');
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout.trim().split('\n').at(-1)).to.equal('daemon set "cli" successfully rolled out');
    const history = await run('rollout', 'history', 'ds/cli');
    expect(history.stdout.split('\n').filter((l) => /^\d+\s/.test(l)).map((l) => l.split(/\s+/)[0])).to.deep.equal(['1', '2']);
    const one = await run('rollout', 'history', 'ds/cli', '--revision=1');
    expect(one.stdout).to.include('daemonset.apps/cli with revision #1').and.include('busybox:1').and.not.include('$patch');
    const undo = await run('rollout', 'undo', 'ds/cli');
    expect(undo.stdout).to.equal('daemonset.apps/cli rolled back\n');
    await waitOnePerNode(cluster.client, ns, 'cli', nodes, 'busybox:1');
    const again = await run('rollout', 'undo', 'ds/cli', '--to-revision=3');
    expect(again.stdout).to.include('skipped rollback (current template already matches revision 3)');
    const pause = await run('rollout', 'pause', 'ds/cli');
    expect(pause.code).to.not.equal(0);
    expect(pause.stderr).to.include('cannot rollout pause a daemonset: only deployments');
  });

  it('drain leaves daemon pods alone only with --ignore-daemonsets (kubectl and cellctl), evicting the rest', async () => {
    const ns = 'ds-drain';
    await createNamespace(cluster.client, ns);
    await apply(ns, manifest('keep'));
    await waitOnePerNode(cluster.client, ns, 'keep', nodes);
    const target = nodes[0]!;
    const plain = async (name: string) => {
      await cluster.client.create({ resource: 'pods', namespace: ns }, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: {
          containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }],
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [target] }] }] } } },
        },
      });
      await waitFor(async () => (await cluster.client.get<Pod>({ resource: 'pods', namespace: ns, name })).status.phase === 'Running', `${name} running`, 30_000, 100);
    };
    const daemonOnTarget = async () => (await daemonPods(cluster.client, ns, 'keep')).find((p) => p.spec.nodeName === target && isLive(p));
    const before = (await daemonOnTarget())!;
    const home = tempDir('cell-ds-drain-');
    try {
      await plain('tenant-1');
      const refused = await cellctl([`--server=${cluster.api.url}`, 'drain', target, '--timeout=20s'], { env: isolatedEnv(home), timeoutMs: 60_000 });
      expect(refused.code).to.not.equal(0);
      expect(refused.stderr).to.include('cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)').and.include(`${ns}/${before.metadata.name ?? ''}`);
      const drained = await cellctl([`--server=${cluster.api.url}`, 'drain', target, '--ignore-daemonsets', '--timeout=30s'], { env: isolatedEnv(home), timeoutMs: 60_000 });
      expect(drained.code, drained.stderr).to.equal(0);
      expect(drained.stderr).to.include('ignoring DaemonSet-managed Pods');
      expect(drained.stdout).to.include(`node/${target} drained: 1 pod evicted`);
      await waitFor(async () => (await cluster.client.list<{ items: Pod[] }>({ resource: 'pods', namespace: ns }, { fieldSelector: 'metadata.name=tenant-1' })).items.length === 0, 'tenant-1 gone', 30_000, 100);
      expect((await daemonOnTarget())?.metadata.uid, 'the daemon pod kept running').to.equal(before.metadata.uid);

      // The same with kubectl, which checks each pod's DaemonSet through apps/v1 (--force: the tenant pod has no controller).
      expectOk(await cluster.kubectl(['uncordon', target]), 'kubectl uncordon');
      await plain('tenant-2');
      const kRefused = await cluster.kubectl(['drain', target, '--force', '--timeout=20s'], 60_000);
      expect(kRefused.code).to.not.equal(0);
      expect(kRefused.stderr).to.include('cannot delete DaemonSet-managed Pods');
      const kDrained = await cluster.kubectl(['drain', target, '--ignore-daemonsets', '--force', '--timeout=30s'], 60_000);
      expect(kDrained.code, kDrained.stderr).to.equal(0);
      expect(kDrained.stdout).to.include(`node/${target} drained`);
      expect((await daemonOnTarget())?.metadata.uid).to.equal(before.metadata.uid);
    } finally {
      await cluster.kubectl(['uncordon', target]);
    }
  });

  it('refuses invalid DaemonSets field by field, and keeps a ControllerRevision’s data immutable', async () => {
    const ns = 'ds-invalid';
    await createNamespace(cluster.client, ns);
    const create = async (m: unknown): Promise<string> => {
      try {
        await cluster.client.create({ ...DAEMONSETS, namespace: ns }, m);
      } catch (err) {
        expect(err).to.be.instanceOf(InvalidError);
        return ((err as InvalidError).causes ?? []).map((c) => `${c.field ?? ''}: ${c.message}`).join('\n');
      }
      throw new Error('expected a 422');
    };
    const both = manifest('bad-1', { updateStrategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } });
    expect(await create(both)).to.include('spec.updateStrategy.rollingUpdate.maxSurge').and.include('may not be set when maxUnavailable is non-zero');
    const neither = manifest('bad-2', { updateStrategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } });
    expect(await create(neither)).to.include('spec.updateStrategy.rollingUpdate.maxUnavailable: Required value');
    const mismatch = manifest('bad-3');
    mismatch.spec.selector = { matchLabels: { app: 'other' } };
    expect(await create(mismatch)).to.include('`selector` does not match template `labels`');
    const never = manifest('bad-4');
    (never.spec.template.spec as Record<string, unknown>)['restartPolicy'] = 'Never';
    expect(await create(never)).to.include('spec.template.spec.restartPolicy: Unsupported value: "Never"');
    const onDelete = manifest('bad-5', { updateStrategy: { type: 'OnDelete', rollingUpdate: { maxUnavailable: 2 } } });
    expect(await create(onDelete)).to.include('spec.updateStrategy.rollingUpdate: Forbidden');

    const rev = await cluster.client.create<ControllerRevision>({ ...CONTROLLER_REVISIONS, namespace: ns }, { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'r1' }, data: { a: 1 }, revision: 1 });
    const renumbered = await cluster.client.update<ControllerRevision>({ ...CONTROLLER_REVISIONS, namespace: ns, name: 'r1' }, { ...rev, revision: 5 });
    expect(renumbered.revision).to.equal(5);
    let refused: unknown;
    try {
      await cluster.client.update({ ...CONTROLLER_REVISIONS, namespace: ns, name: 'r1' }, { ...renumbered, data: { a: 2 } });
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(InvalidError);
    expect((refused as InvalidError).causes?.map((c) => `${c.field}: ${c.message}`)).to.deep.equal(['data: Invalid value: {"a":2}: field is immutable']);
  });
});
