// Cluster IPs and node ports, each held by at most one Service however many API servers create
// Services at once. Every value a Service holds is a claim key in the store
// (/serviceclaims/clusterips/<ip>, /serviceclaims/nodeports/<port>), created — guarded by "the key
// does not exist" — and deleted in the Service's own transaction, by this write hook. Two creates
// that pick the same value cannot both commit: the loser's transaction fails its compare and is
// decided again on the store's state, where a value this server picked is picked afresh from the
// free ones, and a value the client asked for is refused (422, as Kubernetes words it).
//
// A first pick is random and unchecked (a cluster has far fewer Services than addresses); a pick
// decided again reads the claims in use, so a nearly full range still converges, and a full one is
// an error rather than a loop.
import type { Service } from '../../shared/api/service.js';
import { hasNodePorts, needsClusterIP, serviceType } from '../../shared/api/service.js';
import { cause } from '../../shared/api/field-errors.js';
import { InternalError, InvalidError } from '../../shared/errors.js';
import type { KubeObject } from '../registry/object.js';
import type { WriteHook } from '../registry/resource-store.js';
import type { Compare, Store, TxnOp } from '../storage/store.js';
import { ClusterIPRange, type ServiceRanges } from './ranges.js';

export const SERVICE_CLAIMS_PREFIX = '/serviceclaims/';
const IP_CLAIMS = `${SERVICE_CLAIMS_PREFIX}clusterips/`;
const PORT_CLAIMS = `${SERVICE_CLAIMS_PREFIX}nodeports/`;

/** Who holds a claim (the claim key's value). */
interface ClaimOwner {
  namespace: string;
  name: string;
  uid: string;
}

/** The claim keys a Service holds. */
export function claimKeysOf(svc: Service | undefined): Set<string> {
  const keys = new Set<string>();
  if (!svc) return keys;
  if (needsClusterIP(svc) && svc.spec.clusterIP) keys.add(IP_CLAIMS + svc.spec.clusterIP);
  if (hasNodePorts(serviceType(svc))) for (const p of svc.spec.ports ?? []) if (p.nodePort) keys.add(PORT_CLAIMS + String(p.nodePort));
  return keys;
}

function owner(svc: Service): ClaimOwner {
  return { namespace: svc.metadata.namespace ?? '', name: svc.metadata.name ?? '', uid: svc.metadata.uid ?? '' };
}

function refuse(svc: Service, field: string, value: string | number, why: string): InvalidError {
  const c = cause.invalid(field, value, why);
  return new InvalidError(`Service "${svc.metadata.name ?? ''}" is invalid: ${c.field}: ${c.message}`, { name: svc.metadata.name, kind: 'Service' }, [c]);
}

/** One value the Service needs: where it goes, and whether this server chose it. */
interface Slot {
  field: string;
  get(): string | number | undefined;
  set(v: string | number | undefined): void;
  claimPrefix: string;
}

function slotsOf(svc: Service): Slot[] {
  const slots: Slot[] = [];
  if (needsClusterIP(svc)) {
    slots.push({
      field: 'spec.clusterIPs[0]',
      claimPrefix: IP_CLAIMS,
      get: () => svc.spec.clusterIP || undefined,
      set: (v) => {
        if (v === undefined) {
          delete svc.spec.clusterIP;
          delete svc.spec.clusterIPs;
        } else {
          svc.spec.clusterIP = String(v);
          svc.spec.clusterIPs = [String(v)];
        }
      },
    });
  }
  const type = serviceType(svc);
  if (hasNodePorts(type) && !(type === 'LoadBalancer' && svc.spec.allocateLoadBalancerNodePorts === false)) {
    (svc.spec.ports ?? []).forEach((p, i) => {
      slots.push({
        field: `spec.ports[${i}].nodePort`,
        claimPrefix: PORT_CLAIMS,
        get: () => p.nodePort || undefined,
        set: (v) => {
          if (v === undefined) delete p.nodePort;
          else p.nodePort = Number(v);
        },
      });
    });
  }
  return slots;
}

export function serviceAllocationHook(store: Store, ranges: ServiceRanges): WriteHook {
  const ips = new ClusterIPRange(ranges.clusterIPRange);
  const ports = ranges.nodePorts;
  const portCount = ports.last - ports.first + 1;
  /** The claim keys this server picked for an object being written (picked again when decided again). */
  const picked = new WeakMap<KubeObject, Set<string>>();

  const inRange = (slot: Slot, v: string | number) => (slot.claimPrefix === IP_CLAIMS ? ips.contains(String(v)) : Number(v) >= ports.first && Number(v) <= ports.last);
  const rangeText = (slot: Slot) =>
    slot.claimPrefix === IP_CLAIMS ? `provided IP is not in the valid range. The range of valid IPs is ${ips.cidr}` : `provided port is not in the valid range. The range of valid ports is ${ports.first}-${ports.last}`;

  async function claimsInUse(prefix: string): Promise<Set<string>> {
    const used = new Set<string>();
    for (let start: string | undefined = prefix; start !== undefined; ) {
      const page = await store.list(prefix, { startKey: start, limit: 5000 });
      for (const item of page.items) used.add(item.key);
      const last = page.items[page.items.length - 1];
      start = page.more && last ? `${last.key}\0` : undefined;
    }
    return used;
  }

  function randomValue(prefix: string): string {
    return prefix === IP_CLAIMS ? ips.at(Math.floor(Math.random() * ips.size)) : String(ports.first + Math.floor(Math.random() * portCount));
  }

  /** A free value from a fresh read of the claims (none: the range is full). */
  function freeValue(prefix: string, used: Set<string>): string {
    const size = prefix === IP_CLAIMS ? ips.size : portCount;
    if (used.size < size / 2) {
      for (;;) {
        const v = randomValue(prefix);
        if (!used.has(prefix + v)) return v;
      }
    }
    const offset = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const n = (offset + i) % size;
      const v = prefix === IP_CLAIMS ? ips.at(n) : String(ports.first + n);
      if (!used.has(prefix + v)) return v;
    }
    throw new InternalError(`failed to allocate a ${prefix === IP_CLAIMS ? 'serviceIP' : 'nodePort'}: range is full`);
  }

  async function ownerOf(key: string): Promise<ClaimOwner | undefined> {
    const stored = await store.get(key);
    return stored ? (JSON.parse(stored.value) as ClaimOwner) : undefined;
  }

  /** Fill and check `svc`'s values; `held` are the claims its stored state already has. */
  async function allocate(svc: Service, held: Set<string>, retry: boolean): Promise<void> {
    const mine = picked.get(svc) ?? new Set<string>();
    picked.set(svc, mine);
    const slots = slotsOf(svc);
    // Decided again: what this server picked may have been taken meanwhile; pick it afresh.
    if (retry) for (const slot of slots) if (mine.has(slot.claimPrefix + String(slot.get()))) slot.set(undefined);
    const inUse = new Map<string, Set<string>>();
    const used = async (prefix: string) => {
      if (!inUse.has(prefix)) inUse.set(prefix, retry ? await claimsInUse(prefix) : new Set());
      return inUse.get(prefix)!;
    };
    for (const slot of slots) {
      const v = slot.get();
      if (v === undefined) continue;
      const key = slot.claimPrefix + String(v);
      if (held.has(key)) continue;
      if (!inRange(slot, v)) throw refuse(svc, slot.field, v, rangeText(slot));
      if (retry) {
        const holder = await ownerOf(key);
        if (holder && holder.uid !== svc.metadata.uid) {
          throw refuse(svc, slot.field, v, `provided ${slot.claimPrefix === IP_CLAIMS ? 'IP' : 'port'} is already allocated`);
        }
      }
    }
    mine.clear();
    for (const slot of slots) {
      if (slot.get() !== undefined) continue;
      // Two ports of one Service share a node port only when the client asks for it.
      const unavailable = new Set([...(await used(slot.claimPrefix)), ...slots.map((s) => s.claimPrefix + String(s.get()))]);
      const v = freeValue(slot.claimPrefix, unavailable);
      slot.set(v);
      mine.add(slot.claimPrefix + v);
    }
  }

  return async (prev, next, retry) => {
    const before = claimKeysOf(prev as Service | undefined);
    if (next) await allocate(next as Service, before, retry);
    const after = claimKeysOf(next as Service | undefined);
    const compares: Compare[] = [];
    const ops: TxnOp[] = [];
    for (const key of after) {
      if (before.has(key)) continue;
      compares.push({ key, modRevision: 0 });
      ops.push({ type: 'put', key, value: JSON.stringify(owner(next as Service)) });
    }
    for (const key of before) if (!after.has(key)) ops.push({ type: 'delete', key });
    return { compares, ops };
  };
}
