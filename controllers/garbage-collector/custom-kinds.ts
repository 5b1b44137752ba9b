// The custom kinds the garbage collector follows (../custom-kinds.ts says which a definition
// serves): a definition that is Established has its objects watched; one that is deleted, or no
// longer Established, is followed no longer. Bookkeeping only: the collector (controller.ts)
// starts and stops the informers.
import type { CustomResourceDefinition } from '../../shared/api/apiextensions.js';
import { customKindOf } from '../custom-kinds.js';
import { sameKind, type CollectedKind } from './kinds.js';

/** What the collector does as custom kinds come and go. */
export interface CustomKindHandlers {
  /** Watch the objects of `kind`. */
  follow(kind: CollectedKind): void;
  /**
   * Stop watching `kind`. `definitionDeleted`: its definition is gone, and the server deleted
   * every object of it first; otherwise its objects may still exist, only not served now.
   */
  unfollow(kind: CollectedKind, definitionDeleted: boolean): void;
}

export class CustomKinds {
  /** The kind each definition is followed as, by definition name. */
  private readonly followed = new Map<string, CollectedKind>();
  /**
   * Every custom kind followed since the collector started, by group and kind, the latest
   * definition's: an owner reference may name an object of a kind whose definition has just gone,
   * and its dependents must still be judged (one entry per kind ever defined: a handful).
   */
  private readonly known = new Map<string, CollectedKind>();
  private knownList: readonly CollectedKind[] = [];

  constructor(private readonly handlers: CustomKindHandlers) {}

  /** The custom kinds an owner reference may name (followed now, or whose definitions went). */
  kinds(): readonly CollectedKind[] {
    return this.knownList;
  }

  /** How many kinds are followed now. */
  get size(): number {
    return this.followed.size;
  }

  /** A definition added or changed. */
  observed(crd: CustomResourceDefinition): void {
    const name = crd.metadata.name ?? '';
    const want = customKindOf(crd);
    const have = this.followed.get(name);
    if (have && want && sameKind(have, want)) return;
    if (have) {
      this.followed.delete(name);
      this.handlers.unfollow(have, false);
    }
    if (want) {
      this.followed.set(name, want);
      this.known.set(`${want.group}/${want.kind}`, want);
      this.knownList = [...this.known.values()];
      this.handlers.follow(want);
    }
  }

  /** A definition deleted. */
  deleted(crd: CustomResourceDefinition): void {
    const name = crd.metadata.name ?? '';
    const have = this.followed.get(name);
    if (!have) return;
    this.followed.delete(name);
    this.handlers.unfollow(have, true);
  }
}
