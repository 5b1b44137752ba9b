// An ordered set of strings for the memory store's key index: sorted chunks of bounded size (a
// two-level B-tree, in effect). Insert costs a binary search plus a splice within one chunk, so it
// stays cheap with millions of keys in any insertion order, where one flat sorted array would move
// half of itself on every random insert. Order is JavaScript string order (UTF-16 code units),
// which equals etcd's byte order for the ASCII keys Kubernetes names allow.

const MAX_CHUNK = 512;

/** Index of the first element of sorted `arr` that is ≥ `key`. */
export function lowerBound(arr: readonly string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arr[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SortedKeys {
  /** Non-empty sorted chunks; every key of chunk i is below every key of chunk i + 1. */
  private chunks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `key`; false when it was already there. */
  insert(key: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.count = 1;
      return true;
    }
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci] as string[];
    const i = lowerBound(chunk, key);
    if (chunk[i] === key) return false;
    chunk.splice(i, 0, key);
    this.count++;
    if (chunk.length > MAX_CHUNK) this.chunks.splice(ci + 1, 0, chunk.splice(chunk.length >>> 1));
    return true;
  }

  /** Keeps only the keys for which `keep` is true (one pass; used by compaction). */
  retain(keep: (key: string) => boolean): void {
    const all: string[] = [];
    for (const chunk of this.chunks) for (const k of chunk) if (keep(k)) all.push(k);
    this.chunks = [];
    for (let i = 0; i < all.length; i += MAX_CHUNK / 2) this.chunks.push(all.slice(i, i + MAX_CHUNK / 2));
    this.count = all.length;
  }

  /** Calls `visit` for each key ≥ `start` in order until it returns false. */
  scanFrom(start: string, visit: (key: string) => boolean): void {
    if (this.chunks.length === 0) return;
    let ci = this.chunkFor(start);
    let i = lowerBound(this.chunks[ci] as string[], start);
    for (; ci < this.chunks.length; ci++, i = 0) {
      const chunk = this.chunks[ci] as string[];
      for (; i < chunk.length; i++) if (!visit(chunk[i] as string)) return;
    }
  }

  /** Every key, in order. */
  *[Symbol.iterator](): Iterator<string> {
    for (const chunk of this.chunks) yield* chunk;
  }

  /** The chunk `key` belongs in: the last whose first key is ≤ key, or the first chunk. */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (((this.chunks[mid] as string[])[0] as string) <= key) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(0, lo - 1);
  }
}
