// Namespace deletion, as Kubernetes' namespace controller does it: a deleted namespace is marked
// Terminating (no new content is admitted), everything in it is deleted — pods gracefully, so
// their agents stop them — and once nothing is left its finalizer is removed and it goes.
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { ServedResource } from '../http/resources.js';
import type { KubeObject } from '../registry/object.js';
import { NAMESPACE_FINALIZER } from '../registry/strategy.js';

export class NamespaceLifecycle {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly resources: Map<string, ServedResource>,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass over terminating namespaces. */
  async sweep(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const namespaces = this.resources.get('namespaces')!.rest;
      const { items } = await namespaces.objects.cache.list('/namespaces/');
      for (const ns of items) {
        if (ns.metadata.deletionTimestamp) await this.finalize(ns);
      }
    } catch (err) {
      this.log.warn('namespace sweep failed; will retry', { error: errorMessage(err) });
    } finally {
      this.busy = false;
    }
  }

  private async finalize(ns: KubeObject): Promise<void> {
    const name = ns.metadata.name ?? '';
    let remaining = 0;
    for (const served of this.resources.values()) {
      const rest = served.rest;
      if (!rest.def.namespaced || !served.verbs.includes('delete')) continue;
      const left = await rest.deleteCollection({ namespace: name }, {});
      // Objects still present after the delete are finishing gracefully (pods) or finalizing.
      remaining += left.filter((o) => o.metadata.deletionTimestamp !== undefined).length;
    }
    if (remaining > 0) return;
    const namespaces = this.resources.get('namespaces')!.rest;
    await namespaces.objects.update(undefined, name, (cur) => {
      const spec = (cur.spec ?? {}) as { finalizers?: string[] };
      if (!(spec.finalizers ?? []).includes(NAMESPACE_FINALIZER)) return cur;
      return { ...cur, spec: { ...spec, finalizers: (spec.finalizers ?? []).filter((f) => f !== NAMESPACE_FINALIZER) } };
    });
    await namespaces.delete(undefined, name, {});
    this.log.info('namespace deleted', { namespace: name });
  }
}
