// ResourceQuota admission committed with the write it admits (DESIGN §3). A write hook on every
// counted kind's store: inside each compare-and-swap attempt it reads the namespace's quotas fresh,
// decides, and adds to the object's own transaction a compare on each affected quota's revision
// and a put of its status.used moved by the object's usage change. Two admissions racing for the
// last unit both read the same ledger; the second fails its compare and is decided again on the
// ledger the first wrote — so no number of concurrent creates, on any number of API servers, can
// push a namespace past its quota. Releases (a pod finishing, any object deleted) commit the same way.
//
// A namespace whose quotas this server's cache does not show costs nothing but a compare: every
// new quota also writes its namespace's quota epoch key (quotaEpochKey) in its own transaction,
// and a create decided without quotas compares that key with the revision this server last saw
// it at. A replica whose quota cache lags behind a new quota therefore fails that compare, and
// its retry reads the namespace's quotas from the store (epoch first, then the quotas, so a quota
// created between the two reads moves the epoch it compares).
import type { ResourceQuota } from '../../shared/api/quota.js';
import { ForbiddenError } from '../../shared/errors.js';
import {
  delta,
  exceededMessage,
  nonZero,
  exceededNames,
  governedNames,
  isComputed,
  podConstraintViolation,
  quotaMatches,
  usageOf,
  type CountedKind,
} from '../../shared/quota-usage.js';
import { add, parseResourceList, ResourceAmounts, toResourceList } from '../../shared/resources.js';
import type { Pod } from '../../shared/api/core.js';
import type { KubeObject } from '../registry/object.js';
import { NO_EFFECTS, type ResourceStore, type WriteEffects, type WriteHook } from '../registry/resource-store.js';
import type { Compare, TxnOp } from '../storage/store.js';


function forbidden(kind: CountedKind, obj: KubeObject, message: string): ForbiddenError {
  const name = obj.metadata.name ?? '';
  const what = kind.group ? `${kind.resource}.${kind.group}` : kind.resource;
  // kube-apiserver's admission.NewForbidden wording: `pods "web" is forbidden: <reason>`.
  return new ForbiddenError(`${what} "${name}" is forbidden: ${message}`, { name, group: kind.group, kind: kind.resource });
}

/** The store key whose mod revision is the last creation of a quota in `namespace`. */
export function quotaEpochKey(namespace: string): string {
  return `/cell.dev/quota-epochs/${namespace}`;
}

/** The quota epoch revision this server last read, per namespace (0: no quota was ever created). */
export class QuotaEpochs {
  private readonly seen = new Map<string, number>();

  get(namespace: string): number {
    return this.seen.get(namespace) ?? 0;
  }

  set(namespace: string, modRevision: number): void {
    this.seen.set(namespace, modRevision);
  }
}

/** Whether the quota governs `kind` (Kubernetes takes limits from status.hard; spec.hard is what they are about to be). */
function governs(q: ResourceQuota, kind: CountedKind): boolean {
  return governedNames(q.spec.hard, kind).length > 0 || governedNames(q.status.hard, kind).length > 0;
}

/**
 * Whether this server's quota cache says `namespace` has no quota, and may be believed: it has
 * caught up with the namespace's last quota creation this server knows of. (One it does not know
 * of moves the epoch the create compares, which sends the retry to the store.)
 */
async function noneCached(quotas: ResourceStore, namespace: string, epochs: QuotaEpochs): Promise<boolean> {
  if (quotas.cache.currentRevision < epochs.get(namespace)) return false;
  return (await quotas.cache.list(quotas.keyPrefix(namespace))).items.length === 0;
}

/** One object's write: its state before and after (undefined = absent). */
export interface ObjectChange {
  prev: KubeObject | undefined;
  next: KubeObject | undefined;
}

export function quotaAdmissionHook(kind: CountedKind, quotas: ResourceStore, epochs: QuotaEpochs): WriteHook {
  return (prev, next, retry) => quotaEffects(quotas, kind, [{ prev, next }], { epochs, retry });
}

/** How quotaEffects reads: `retry` after a failed transaction (read the store, whatever the cache shows). */
export interface QuotaReading {
  epochs: QuotaEpochs;
  retry: boolean;
}

/**
 * The compares and quota puts that commit `changes` (objects of `kind`, all written in one
 * transaction) against their namespaces' quotas; throws 403 when a change is not admitted.
 */
export async function quotaEffects(quotas: ResourceStore, kind: CountedKind, changes: readonly ObjectChange[], reading: QuotaReading): Promise<WriteEffects> {
  const byNamespace = new Map<string, ObjectChange[]>();
  for (const c of changes) {
    const namespace = (c.next ?? c.prev)?.metadata.namespace;
    if (!namespace) continue;
    if (!byNamespace.has(namespace)) byNamespace.set(namespace, []);
    byNamespace.get(namespace)!.push(c);
  }
  const compares: Compare[] = [];
  const ops: TxnOp[] = [];
  for (const [namespace, list] of byNamespace) {
    // Only creates need the epoch's guard: nothing else adds to a namespace's usage unseen.
    const creates = list.some((c) => c.prev === undefined && c.next !== undefined);
    const epochKey = quotaEpochKey(namespace);
    if (!reading.retry && (await noneCached(quotas, namespace, reading.epochs))) {
      if (creates) compares.push({ key: epochKey, modRevision: reading.epochs.get(namespace) });
      continue;
    }
    // The store's view: the epoch first, then the quotas it covers.
    const epoch = (await quotas.store.get(epochKey))?.modRevision ?? 0;
    reading.epochs.set(namespace, epoch);
    if (creates) compares.push({ key: epochKey, modRevision: epoch });
    const { items } = await quotas.store.list(quotas.keyPrefix(namespace));
    for (const sv of items) {
      const q = quotas.decode(sv.value, sv.version) as unknown as ResourceQuota;
      if (!governs(q, kind)) continue;
      const updated = admitAgainst(q, kind, list);
      if (!updated) continue;
      compares.push({ key: sv.key, modRevision: sv.modRevision });
      ops.push({ type: 'put', key: sv.key, value: quotas.encode(updated as unknown as KubeObject) });
    }
  }
  return compares.length === 0 ? NO_EFFECTS : { compares, ops };
}

/** The quota with the changes' usage applied, undefined when they do not move it; throws when refused. */
function admitAgainst(q: ResourceQuota, kind: CountedKind, changes: readonly ObjectChange[]): ResourceQuota | undefined {
  const governed = governedNames(q.spec.hard, kind);
  if (governed.length === 0) return undefined;
  const name = q.metadata.name ?? '';
  const used = parseResourceList(q.status.used);
  let change = new ResourceAmounts();
  for (const { prev, next } of changes) {
    if (prev === undefined && next && quotaMatches(q, kind, next)) {
      if (kind.group === '' && kind.resource === 'pods') {
        const missing = podConstraintViolation(next as unknown as Pod, governed);
        if (missing) throw forbidden(kind, next, `failed quota: ${name}: ${missing}`);
      }
      if (!isComputed(q)) throw forbidden(kind, next, `status unknown for quota: ${name}, resources: ${governed.join(',')}`);
    }
    const one = delta(usageOf(q, kind, prev), usageOf(q, kind, next));
    if (one.size === 0) continue;
    const obj = (next ?? prev)!;
    if (!isComputed(q)) {
      if (one.names().some((n) => one.get(n) > 0n)) throw forbidden(kind, obj, `status unknown for quota: ${name}, resources: ${governed.join(',')}`);
    } else {
      const hard = parseResourceList(q.spec.hard);
      const before = add(used, change);
      const over = exceededNames(hard, before, one);
      if (over.length > 0) throw forbidden(kind, obj, exceededMessage(name, hard, before, one, over));
    }
    change = add(change, one);
  }
  if (nonZero(change).size === 0) return undefined;
  // Written even for a quota the controller has yet to count: the write moves the quota's
  // revision, so a count the controller took before this release cannot be stored after it.
  const sum = add(used, change);
  const total = toResourceList(sum);
  const moved: Record<string, string> = {};
  // Never below zero: a ledger that would go negative is already wrong (the audit says so), and a
  // negative status.used would make every later admission in the namespace fail to parse it.
  for (const n of Object.keys(q.status.used ?? {})) moved[n] = sum.get(n) < 0n ? '0' : (total[n] ?? '0');
  return { ...q, status: { ...q.status, used: moved } };
}
