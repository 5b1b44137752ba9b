// The Workloads as this controller decides on them: the informer's cache, overlaid with the
// objects this controller has itself written and the informer has not shown yet — so the next
// cycle counts its own admissions (and writes against the resourceVersion it last got back)
// instead of deciding twice on a stale cache. An overlay entry goes as soon as the informer holds
// that write or a later one. Writes by anyone else arrive through the informer only; a decision
// made on a view that missed them is refused by the API server (409) and made again.
import type { Workload } from '../../shared/api/kueue.js';
import type { Informer } from '../../shared/client/informer.js';
import { objectKey } from '../../shared/client/informer.js';

/** A resourceVersion as a number (cell's are decimal and grow with every write). */
export function revision(rv: string | undefined): bigint {
  return rv !== undefined && /^\d+$/.test(rv) ? BigInt(rv) : -1n;
}

export class WorkloadView {
  private readonly written = new Map<string, Workload>();

  constructor(private readonly informer: Informer<Workload>) {}

  /** Called with every object the informer delivers: drops overlay entries it has caught up with. */
  observed(wl: Workload): void {
    const key = objectKey(wl);
    const mine = this.written.get(key);
    if (!mine) return;
    if (mine.metadata.uid !== wl.metadata.uid || revision(wl.metadata.resourceVersion) >= revision(mine.metadata.resourceVersion)) this.written.delete(key);
  }

  deleted(wl: Workload): void {
    const key = objectKey(wl);
    if (this.written.get(key)?.metadata.uid === wl.metadata.uid) this.written.delete(key);
  }

  /** Remember an object the API server returned for this controller's write. */
  wrote(wl: Workload): void {
    const cached = this.informer.get(wl.metadata.namespace, wl.metadata.name ?? '');
    if (cached && cached.metadata.uid === wl.metadata.uid && revision(cached.metadata.resourceVersion) >= revision(wl.metadata.resourceVersion)) return;
    this.written.set(objectKey(wl), wl);
  }

  private pick(cached: Workload | undefined, key: string): Workload | undefined {
    const mine = this.written.get(key);
    if (!mine) return cached;
    // Not in the cache: deleted since, or created and not listed yet; the cache decides either way.
    if (!cached) return undefined;
    if (cached.metadata.uid !== mine.metadata.uid) return cached;
    return revision(cached.metadata.resourceVersion) >= revision(mine.metadata.resourceVersion) ? cached : mine;
  }

  get(namespace: string | undefined, name: string): Workload | undefined {
    const cached = this.informer.get(namespace, name);
    return this.pick(cached, namespace ? `${namespace}/${name}` : name);
  }

  list(): Workload[] {
    return this.overlaid(this.informer.list());
  }

  byIndex(index: string, value: string): Workload[] {
    return this.overlaid(this.informer.byIndex(index, value));
  }

  private overlaid(cached: readonly Workload[]): Workload[] {
    return cached.flatMap((wl) => {
      const v = this.pick(wl, objectKey(wl));
      return v ? [v] : [];
    });
  }
}
