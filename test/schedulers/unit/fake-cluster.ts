// An in-memory cluster for plugin unit tests: NodeInfos built from Node objects and pods bound to
// them, a ClusterView over them, and a framework running a profile's plugins — no processes.
import type { Node, Pod } from '../../../shared/api/core.js';
import type { PodGroup } from '../../../shared/api/scheduling.js';
import { ApiClient } from '../../../shared/client/http-client.js';
import { createLogger } from '../../../shared/logging.js';
import { NodeInfo } from '../../../schedulers/cache/node-info.js';
import { podInfoOf, type PodInfo } from '../../../schedulers/cache/pod-info.js';
import { commitGuard } from '../../../schedulers/commit/guard.js';
import { CycleContext } from '../../../schedulers/framework/cycle.js';
import { Diagnosis } from '../../../schedulers/framework/diagnosis.js';
import { Framework } from '../../../schedulers/framework/framework.js';
import type { ClusterView, PluginHandle } from '../../../schedulers/framework/plugin.js';
import type { QueuedPodInfo } from '../../../schedulers/queue/scheduling-queue.js';
import { createPlugins, parseProfile, type LoadedProfile } from '../../../schedulers/profile/profile.js';
import { nodeObject, podObject, type NodeOptions, type PodOptions } from '../helpers.js';

let uid = 0;

export function pod(name: string, o: PodOptions & { node?: string; namespace?: string } = {}): Pod {
  const obj = podObject(name, o) as unknown as Pod;
  obj.metadata = { ...obj.metadata, namespace: o.namespace ?? 'default', uid: `uid-${++uid}`, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, uid)).toISOString() };
  obj.status = {};
  if (o.node) obj.spec = { ...obj.spec, nodeName: o.node };
  obj.spec.restartPolicy ??= 'Always';
  obj.spec.terminationGracePeriodSeconds ??= 30;
  return obj;
}

export function queued(p: PodInfo): QueuedPodInfo {
  return { podInfo: p, timestamp: 0, initialTimestamp: 0, attempts: 1, cycle: 1, backoffExpiry: 0, unschedulableSince: 0, lastMessage: undefined, lastMessageAt: 0, rejectedBy: undefined };
}

export class FakeCluster implements ClusterView {
  readonly nodeList: NodeInfo[] = [];
  readonly groups = new Map<string, PodGroup>();
  readonly pending: Pod[] = [];
  framework!: Framework;

  addNode(name: string, o: NodeOptions = {}): NodeInfo {
    const n = new NodeInfo(name, nodeObject(name, o) as unknown as Node);
    this.nodeList.push(n);
    return n;
  }

  /** A pod bound to `node`, as the watch would show it (ledger and pod list). */
  bind(p: Pod, node: string): PodInfo {
    const n = this.node(node)!;
    const info = podInfoOf({ ...p, spec: { ...p.spec, nodeName: node } });
    n.assume(info);
    n.addBoundPod(info, 1);
    return info;
  }

  nodes(): readonly NodeInfo[] {
    return this.nodeList;
  }
  node(name: string): NodeInfo | undefined {
    return this.nodeList.find((n) => n.name === name);
  }
  podGroup(namespace: string, name: string): PodGroup | undefined {
    return this.groups.get(`${namespace}/${name}`);
  }
  groupMembers(namespace: string, group: string): readonly Pod[] {
    const bound = this.nodeList.flatMap((n) => [...n.pods.values()].map((p) => p.pod));
    return [...bound, ...this.pending].filter((p) => p.metadata.namespace === namespace && p.metadata.labels?.['scheduling.x-k8s.io/pod-group'] === group);
  }
  *podsWithRequiredAntiAffinity() {
    for (const n of this.nodeList) {
      for (const p of n.pods.values()) if (p.pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) yield { pod: p, nodeName: n.name };
    }
  }
  nominatedNode(): string | undefined {
    return undefined;
  }

  /** Plugins from a profile's text (module paths absolute), or from a loaded profile file. */
  async load(profile: string | LoadedProfile, mode: 'fine' | 'coarse' = 'fine'): Promise<this> {
    const loaded = typeof profile === 'string' ? { profile: parseProfile(profile, 'test.yaml'), file: '/tmp/test.yaml' } : profile;
    const handle: PluginHandle = {
      schedulerName: 'test',
      profileName: 'test',
      cluster: this,
      client: new ApiClient({ servers: ['http://127.0.0.1:9'], retries: 0, timeoutMs: 200 }),
      events: { record() {} },
      waiting: { count: () => 0, reject() {} },
      log: createLogger('test', 'silent'),
      now: Date.now,
      filter: (ctx, node) => this.framework.runFilters(ctx, node),
    };
    this.framework = new Framework(await createPlugins(loaded, handle), commitGuard(mode));
    return this;
  }

  /** One decision, as the scheduler makes it: the chosen node, or the diagnosis. */
  decide(p: Pod): { node?: string; diagnosis: Diagnosis; ctx: CycleContext } {
    const info = podInfoOf(p);
    const ctx = new CycleContext(info, queued(info), 1);
    const diagnosis = new Diagnosis(this.nodeList.length);
    const plan = this.framework.preFilter(ctx, diagnosis);
    if (!plan) return { diagnosis, ctx };
    const feasible = this.nodeList.filter((n) => (!plan.nodeNames || plan.nodeNames.has(n.name)) && this.framework.filterNode(ctx, n, plan.filters, diagnosis));
    if (feasible.length === 0) return { diagnosis, ctx };
    return { node: this.framework.selectHost(ctx, feasible).name, diagnosis, ctx };
  }
}
