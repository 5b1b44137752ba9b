// Reading etcd directly (the etcd3 client, not the API server's store code): ranges at a fixed
// revision, and the complete history of the API server's key prefix between two revisions. The
// invariant checks are built on these, so they judge the server from the outside.
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import { positionDeletes, readStamp, versionOf } from '../../apiserver/storage/resource-version.js';
import type { Pod } from '../../shared/api/core.js';
import type { ClusterQueue, Workload } from '../../shared/api/kueue.js';
import { podRequests } from '../../shared/pod-resources.js';
import { parseResourceList, type ResourceList } from '../../shared/resources.js';

/** What the checks need of a pod. */
export interface PodRec {
  uid: string;
  node: string;
  phase: string;
  cpu: bigint;
  memory: bigint;
  /** PodScheduled=False with reason Unschedulable (the scheduler's FailedScheduling condition). */
  unschedulable: boolean;
  /** DisruptionTarget=True (PreemptionByScheduler): the scheduler preempted it. */
  preempted: boolean;
  deleting: boolean;
  /** The uid of its controlling owner (ReplicaSet, Job), '' for none. */
  owner: string;
}

export interface NodeRec {
  cpu: bigint;
  memory: bigint;
  pods: bigint;
}

export interface EventRec {
  uid: string;
  reason: string;
}

/** One key's value, decoded into what the checks need (undefined: a resource they ignore). */
export type Decoded =
  | { kind: 'pod'; pod: PodRec }
  | { kind: 'node'; node: NodeRec }
  | { kind: 'ledger'; uids: string[] }
  | { kind: 'event'; event: EventRec }
  /** Queue ledgers are judged by the API server's own declaration, which reads whole objects. */
  | { kind: 'clusterqueue'; cq: ClusterQueue }
  | { kind: 'workload'; wl: Workload }
  | { kind: 'other' };

export interface KvChange {
  type: 'put' | 'delete';
  /** The key without the API server's prefix: `/pods/chaos/p-1`. */
  key: string;
  revision: number;
  /** The resourceVersion a watcher of this change gets (apiserver/storage/resource-version.ts). */
  version: number;
  createRevision: number;
  /** Undefined for a delete. */
  value?: Decoded;
}

export function isTerminal(phase: string): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

export function decode(key: string, stored: Buffer): Decoded {
  const resource = key.split('/')[1];
  // The stored bytes may start with the write's position (resource-version.ts).
  const value = readStamp(stored).value;
  if (resource === 'pods') {
    const pod = JSON.parse(value) as Pod;
    const req = podRequests(pod);
    const cond = (type: string) => pod.status?.conditions?.find((c) => c.type === type);
    const scheduled = cond('PodScheduled');
    const disruption = cond('DisruptionTarget');
    return {
      kind: 'pod',
      pod: {
        uid: pod.metadata.uid ?? '',
        node: pod.spec.nodeName ?? '',
        phase: pod.status?.phase ?? 'Pending',
        cpu: req.get('cpu'),
        memory: req.get('memory'),
        unschedulable: scheduled?.status === 'False' && scheduled.reason === 'Unschedulable',
        preempted: disruption?.status === 'True' && disruption.reason === 'PreemptionByScheduler',
        deleting: pod.metadata.deletionTimestamp !== undefined,
        owner: pod.metadata.ownerReferences?.find((o) => o.controller === true)?.uid ?? '',
      },
    };
  }
  if (resource === 'nodes') {
    const node = JSON.parse(value) as { status?: { allocatable?: ResourceList; capacity?: ResourceList } };
    const a = parseResourceList(node.status?.allocatable ?? node.status?.capacity);
    return { kind: 'node', node: { cpu: a.get('cpu'), memory: a.get('memory'), pods: a.has('pods') ? a.get('pods') : 110_000n } };
  }
  if (resource === 'nodeallocations') {
    const alloc = JSON.parse(value) as { spec?: { pods?: { uid: string }[] } };
    return { kind: 'ledger', uids: (alloc.spec?.pods ?? []).map((p) => p.uid) };
  }
  if (resource === 'clusterqueues') return { kind: 'clusterqueue', cq: JSON.parse(value) as ClusterQueue };
  if (resource === 'workloads') return { kind: 'workload', wl: JSON.parse(value) as Workload };
  if (resource === 'events') {
    const ev = JSON.parse(value) as { reason?: string; involvedObject?: { uid?: string } };
    return { kind: 'event', event: { uid: ev.involvedObject?.uid ?? '', reason: ev.reason ?? '' } };
  }
  return { kind: 'other' };
}

export class EtcdReader {
  private readonly etcd: Etcd3;

  constructor(
    endpoints: string[],
    /** The API server's --etcd-prefix. */
    private readonly prefix: string,
  ) {
    // A range of thousands of pods exceeds gRPC's 4 MiB default receive limit.
    this.etcd = new Etcd3({ hosts: endpoints, grpcOptions: { 'grpc.max_receive_message_length': 2 ** 31 - 1 } });
  }

  close(): void {
    this.etcd.close();
  }

  private strip(key: Buffer): string {
    return key.toString('utf8').slice(this.prefix.length);
  }

  /** The store's current revision. */
  async revision(): Promise<number> {
    const res = await this.etcd.kv.range({ key: Buffer.from(`${this.prefix}/`), limit: 1, keys_only: true });
    return Number(res.header.revision);
  }

  /** Write a marker key under the prefix; its revision closes the history read. */
  async sentinel(): Promise<number> {
    const res = await this.etcd.put(`${this.prefix}/chaos-sentinel`).value(String(Date.now())).exec();
    return Number(res.header.revision);
  }

  /** Every key under `prefix + sub` at `revision`, decoded. */
  async rangeAt(sub: string, revision: number): Promise<{ key: string; value: Decoded; modRevision: number }[]> {
    const res = await this.etcd.getAll().prefix(`${this.prefix}${sub}`).revision(revision).exec();
    return res.kvs.map((kv: IKeyValue) => {
      const key = this.strip(kv.key);
      return { key, value: decode(key, kv.value), modRevision: Number(kv.mod_revision) };
    });
  }

  /** Every object under `prefix + sub` at `revision`, as the API server stored it (JSON). */
  async objectsAt<T>(sub: string, revision: number): Promise<T[]> {
    const res = await this.etcd.getAll().prefix(`${this.prefix}${sub}`).revision(revision).exec();
    return res.kvs.map((kv: IKeyValue) => JSON.parse(readStamp(kv.value).value) as T);
  }

  /**
   * Every change under the prefix with a revision in [from, to], in revision order, decoded as it
   * arrives (the raw values of a long run would not fit comfortably in memory). `to` must be the
   * revision of a write under the prefix (see sentinel()), which ends the read. A disconnected
   * watch fails the read rather than risk the etcd3 client's resume, which can skip events.
   */
  async history(from: number, to: number, timeoutMs = 300_000): Promise<KvChange[]> {
    const out: KvChange[] = [];
    const positions: number[] = [];
    let watcher: Watcher | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`etcd history ${from}..${to}: not complete after ${timeoutMs} ms (at ${out.at(-1)?.revision ?? from})`)), timeoutMs);
        const fail = (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        };
        this.etcd
          .watch()
          .prefix(`${this.prefix}/`)
          .startRevision(String(from))
          .create()
          .then((w) => {
            watcher = w;
            w.on('disconnected', (err) => fail(new Error(`etcd history watch disconnected: ${err.message}`)));
            w.on('error', (err) => fail(err));
            w.on('data', (res) => {
              for (const ev of res.events) {
                const revision = Number(ev.kv.mod_revision);
                if (revision > to) continue;
                const key = this.strip(ev.kv.key);
                const change: KvChange = { type: ev.type === 'Delete' ? 'delete' : 'put', key, revision, version: 0, createRevision: Number(ev.kv.create_revision) };
                if (change.type === 'put') change.value = decode(key, ev.kv.value);
                out.push(change);
                positions.push(change.type === 'put' ? readStamp(ev.kv.value).position : 0);
                if (revision === to) {
                  clearTimeout(timer);
                  resolve();
                }
              }
            });
          }, fail);
      });
    } finally {
      await watcher?.cancel();
    }
    // Whole revisions, in etcd's order: a delete's position follows from its neighbours.
    positionDeletes(out.map((c) => ({ type: c.type, modRevision: c.revision, key: c.key })), positions);
    out.forEach((c, i) => (c.version = versionOf(c.revision, positions[i]!)));
    return out;
  }
}
