// The watchers of one watch cache, filed by what they select. A watcher whose selector requires a
// field to equal a value (an agent's `spec.nodeName=node-7`, a `metadata.name=` watch) can only be
// concerned by events of objects whose field had or has that value. So it is filed under the value,
// and an event goes to the watchers filed under its object's values before and after the change,
// plus those filed under nothing: with one agent per node, a pod event costs a few lookups instead
// of a selector test per node. Kubernetes' watch cache does the same for pods by node name.
import type { KubeObject } from './object.js';

/** A field the watcher's selector requires to equal `value`, and how to read it off an object. */
export interface ExactField {
  field: string;
  value: string;
  /** The field's value ("" when the object lacks it), as the selector reads it. */
  valueOf(obj: KubeObject): string;
}

export interface FiledWatcher {
  filter: { exact?: ExactField };
}

interface FieldIndex<W> {
  valueOf(obj: KubeObject): string;
  byValue: Map<string, Set<W>>;
}

export class WatcherIndex<W extends FiledWatcher> {
  /** Every watcher. */
  readonly all = new Set<W>();
  /** Watchers without an exact field: every event is theirs to test. */
  readonly unfiled = new Set<W>();
  private readonly fields = new Map<string, FieldIndex<W>>();

  get size(): number {
    return this.all.size;
  }

  /** Whether some watcher is filed under a field value. */
  get anyFiled(): boolean {
    return this.fields.size > 0;
  }

  add(w: W): void {
    this.all.add(w);
    const exact = w.filter.exact;
    if (exact === undefined) {
      this.unfiled.add(w);
      return;
    }
    let index = this.fields.get(exact.field);
    if (index === undefined) {
      // Every watcher of one field reads it the same way (the resource's field reader).
      index = { valueOf: exact.valueOf, byValue: new Map() };
      this.fields.set(exact.field, index);
    }
    let bucket = index.byValue.get(exact.value);
    if (bucket === undefined) index.byValue.set(exact.value, (bucket = new Set()));
    bucket.add(w);
  }

  delete(w: W): void {
    if (!this.all.delete(w)) return;
    const exact = w.filter.exact;
    if (exact === undefined) {
      this.unfiled.delete(w);
      return;
    }
    const index = this.fields.get(exact.field);
    const bucket = index?.byValue.get(exact.value);
    bucket?.delete(w);
    if (bucket?.size === 0) index!.byValue.delete(exact.value);
    if (index?.byValue.size === 0) this.fields.delete(exact.field);
  }

  /** Calls `visit` once for each filed watcher concerned by a change from `before` to `after` (either absent). */
  concerned(before: KubeObject | undefined, after: KubeObject | undefined, visit: (w: W) => void): void {
    for (const index of this.fields.values()) {
      const now = after === undefined ? undefined : index.valueOf(after);
      const was = before === undefined ? undefined : index.valueOf(before);
      if (now !== undefined) index.byValue.get(now)?.forEach((w) => visit(w));
      if (was !== undefined && was !== now) index.byValue.get(was)?.forEach((w) => visit(w));
    }
  }
}
