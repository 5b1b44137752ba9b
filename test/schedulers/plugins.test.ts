// Each built-in filter and score plugin, end to end: real etcd, a real API server, the default
// profile in a real cell-scheduler process. Every test brings its own nodes and namespace and
// clears them afterwards, so FailedScheduling counts are exact.
import { expect } from 'chai';
import {
  clearCluster,
  createNamespace,
  createNodes,
  createPods,
  eventMessages,
  getPod,
  nodeObject,
  podObject,
  waitFor,
  waitForBound,
  schedulerSuite,
} from './helpers.js';

describe('scheduler plugins, end to end (default profile)', function () {
  this.timeout(60_000);
  const cluster = schedulerSuite();
  let ns = '';
  let seq = 0;

  beforeEach(async () => {
    ns = `plugins-${++seq}`;
    await createNamespace(cluster.client, ns);
  });
  afterEach(async () => {
    await clearCluster(cluster.client, ns);
  });

  const failedMessage = (pod: string) =>
    waitFor(`FailedScheduling for ${pod}`, async () => (await eventMessages(cluster.client, ns, pod, 'FailedScheduling'))[0]);

  it('NodeResourcesFit: cpu, memory and extended resources must fit; shortfalls are counted per node', async () => {
    await createNodes(cluster.client, [
      nodeObject(`${ns}-a`, { cpu: '1', memory: '8Gi' }),
      nodeObject(`${ns}-b`, { cpu: '8', memory: '1Gi' }),
      nodeObject(`${ns}-c`, { cpu: '8', memory: '8Gi', extra: { 'example.com/gpu': '2' } }),
    ]);
    await createPods(cluster.client, ns, [
      podObject('big', { cpu: '2', memory: '4Gi' }),
      podObject('gpu-1', { extra: { 'example.com/gpu': '1' } }),
      podObject('gpu-2', { extra: { 'example.com/gpu': '1' } }),
    ]);
    const bound = await waitForBound(cluster.client, ns, ['big', 'gpu-1', 'gpu-2']);
    expect([...bound.values()]).to.deep.equal([`${ns}-c`, `${ns}-c`, `${ns}-c`]);
    await createPods(cluster.client, ns, [podObject('gpu-3', { extra: { 'example.com/gpu': '1' } })]);
    expect(await failedMessage('gpu-3')).to.match(/^0\/3 nodes are available: 3 Insufficient example\.com\/gpu\./);
  });

  it('NodeUnschedulable: cordoned nodes take only pods that tolerate the cordon', async () => {
    await createNodes(cluster.client, [nodeObject(`${ns}-cordoned`, { unschedulable: true }), nodeObject(`${ns}-open`)]);
    await createPods(cluster.client, ns, [
      podObject('p1'),
      podObject('p2'),
      podObject('tolerant', {
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': `${ns}-cordoned` },
          tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
        },
      }),
    ]);
    const bound = await waitForBound(cluster.client, ns, ['p1', 'p2', 'tolerant']);
    expect(bound.get('p1')).to.equal(`${ns}-open`);
    expect(bound.get('p2')).to.equal(`${ns}-open`);
    expect(bound.get('tolerant')).to.equal(`${ns}-cordoned`);
  });

  it('NodeAffinity: nodeSelector, required In/NotIn/Gt/Lt, and preferred terms', async () => {
    await createNodes(cluster.client, [
      nodeObject(`${ns}-ssd-3`, { labels: { disk: 'ssd', gen: '3' } }),
      nodeObject(`${ns}-ssd-7`, { labels: { disk: 'ssd', gen: '7' } }),
      nodeObject(`${ns}-hdd-5`, { labels: { disk: 'hdd', gen: '5' } }),
      nodeObject(`${ns}-hdd-9`, { labels: { disk: 'hdd', gen: '9' } }),
    ]);
    const required = (exprs: unknown[]) => ({
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: exprs }] } } },
    });
    await createPods(cluster.client, ns, [
      podObject('ssd-newer-than-4', { spec: { nodeSelector: { disk: 'ssd' }, ...required([{ key: 'gen', operator: 'Gt', values: ['4'] }]) } }),
      podObject('not-ssd-older-than-8', { spec: required([{ key: 'disk', operator: 'NotIn', values: ['ssd'] }, { key: 'gen', operator: 'Lt', values: ['8'] }]) }),
      podObject('prefers-gen-9', {
        spec: {
          affinity: {
            nodeAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: 'gen', operator: 'In', values: ['9'] }] } }],
            },
          },
        },
      }),
      podObject('nowhere', { spec: required([{ key: 'disk', operator: 'In', values: ['nvme'] }]) }),
    ]);
    const bound = await waitForBound(cluster.client, ns, ['ssd-newer-than-4', 'not-ssd-older-than-8', 'prefers-gen-9']);
    expect(bound.get('ssd-newer-than-4')).to.equal(`${ns}-ssd-7`);
    expect(bound.get('not-ssd-older-than-8')).to.equal(`${ns}-hdd-5`);
    expect(bound.get('prefers-gen-9')).to.equal(`${ns}-hdd-9`);
    expect(await failedMessage('nowhere')).to.match(/^0\/4 nodes are available: 4 node\(s\) didn't match Pod's node affinity\/selector\./);
  });

  it('TaintToleration: NoSchedule and NoExecute keep pods out, PreferNoSchedule is avoided, tolerations let pods in', async () => {
    await createNodes(cluster.client, [
      nodeObject(`${ns}-gpu`, { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      nodeObject(`${ns}-evicting`, { taints: [{ key: 'maintenance', value: 'now', effect: 'NoExecute' }] }),
      nodeObject(`${ns}-soft`, { taints: [{ key: 'spot', value: 'true', effect: 'PreferNoSchedule' }] }),
      nodeObject(`${ns}-clean`),
    ]);
    await createPods(cluster.client, ns, [
      podObject('plain-1'),
      podObject('plain-2'),
      podObject('plain-3'),
      podObject('gpu-job', {
        spec: { nodeSelector: { 'kubernetes.io/hostname': `${ns}-gpu` }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] },
      }),
      // Tolerates the taint's key and value, but only for NoSchedule: NoExecute still keeps it out.
      podObject('wrong-effect', {
        spec: { nodeSelector: { 'kubernetes.io/hostname': `${ns}-evicting` }, tolerations: [{ key: 'maintenance', operator: 'Exists', effect: 'NoSchedule' }] },
      }),
    ]);
    const bound = await waitForBound(cluster.client, ns, ['plain-1', 'plain-2', 'plain-3', 'gpu-job']);
    for (const p of ['plain-1', 'plain-2', 'plain-3']) expect(bound.get(p), p).to.equal(`${ns}-clean`);
    expect(bound.get('gpu-job')).to.equal(`${ns}-gpu`);
    // Filters run in Kubernetes' order (taints before affinity): each node is counted under the first that refused it.
    const msg = await failedMessage('wrong-effect');
    expect(msg).to.match(/^0\/4 nodes are available: 2 node\(s\) didn't match Pod's node affinity\/selector, 1 node\(s\) had untolerated taint \{dedicated: gpu\}, 1 node\(s\) had untolerated taint \{maintenance: now\}\./);
  });

  it('NodePorts: a host port is taken once per node', async () => {
    await createNodes(cluster.client, [nodeObject(`${ns}-a`), nodeObject(`${ns}-b`)]);
    await createPods(cluster.client, ns, [podObject('web-1', { hostPort: 8080 }), podObject('web-2', { hostPort: 8080 })]);
    const bound = await waitForBound(cluster.client, ns, ['web-1', 'web-2']);
    expect(bound.get('web-1')).to.not.equal(bound.get('web-2'));
    await createPods(cluster.client, ns, [podObject('web-3', { hostPort: 8080 }), podObject('other-port', { hostPort: 9090 })]);
    await waitForBound(cluster.client, ns, ['other-port']);
    expect(await failedMessage('web-3')).to.match(/^0\/2 nodes are available: 2 node\(s\) didn't have free ports for the requested pod ports\./);
  });

  it('PodTopologySpread: maxSkew over zones holds even when one zone has more nodes', async () => {
    await createNodes(cluster.client, [
      nodeObject(`${ns}-a1`, { labels: { zone: 'a' } }),
      nodeObject(`${ns}-a2`, { labels: { zone: 'a' } }),
      nodeObject(`${ns}-a3`, { labels: { zone: 'a' } }),
      nodeObject(`${ns}-b1`, { labels: { zone: 'b' } }),
    ]);
    const spread = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }] };
    const names = ['web-0', 'web-1', 'web-2', 'web-3', 'web-4', 'web-5'];
    // All at once: decisions count the scheduler's own in-flight placements, not only what the watch shows.
    await createPods(cluster.client, ns, names.map((name) => podObject(name, { labels: { app: 'web' }, spec: spread })));
    const bound = await waitForBound(cluster.client, ns, names);
    const inB = [...bound.values()].filter((n) => n === `${ns}-b1`).length;
    expect(inB).to.equal(3);
  });

  it('InterPodAffinity: anti-affinity by hostname keeps replicas apart; affinity brings a pod next to another', async () => {
    await createNodes(cluster.client, [nodeObject(`${ns}-a`), nodeObject(`${ns}-b`), nodeObject(`${ns}-c`)]);
    const apart = {
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'db' } } }] } },
    };
    await createPods(cluster.client, ns, ['db-0', 'db-1', 'db-2'].map((n) => podObject(n, { labels: { app: 'db' }, spec: apart })));
    const bound = await waitForBound(cluster.client, ns, ['db-0', 'db-1', 'db-2']);
    expect(new Set(bound.values()).size).to.equal(3);
    await createPods(cluster.client, ns, [
      podObject('db-3', { labels: { app: 'db' }, spec: apart }),
      podObject('next-to-db-1', {
        spec: {
          affinity: {
            podAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] } },
              ],
            },
          },
          nodeSelector: { 'kubernetes.io/hostname': bound.get('db-1')! },
        },
      }),
    ]);
    const next = await waitForBound(cluster.client, ns, ['next-to-db-1']);
    expect(next.get('next-to-db-1')).to.equal(bound.get('db-1'));
    expect(await failedMessage('db-3')).to.match(/^0\/3 nodes are available: 3 node\(s\) didn't (satisfy existing pods anti-affinity rules|match pod anti-affinity rules)\./);
    expect((await getPod(cluster.client, ns, 'db-3'))?.spec.nodeName).to.equal(undefined);
  });
});
