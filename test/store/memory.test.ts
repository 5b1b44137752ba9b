// Memory-backend specifics the conformance suite cannot see: the ordered key index, and that the
// store stays fast at the sizes the API server's default mode must handle.
import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { MemoryStore } from '../../apiserver/storage/memory.js';
import { SortedKeys } from '../../apiserver/storage/sorted-keys.js';

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('memory store internals', function () {
  describe('SortedKeys', function () {
    it('matches a sorted array under random inserts, scans and retains', function () {
      const rand = rng(42);
      const keys = new SortedKeys();
      const ref = new Set<string>();
      for (let i = 0; i < 20_000; i++) {
        const k = `/k/${Math.floor(rand() * 50_000)}`;
        expect(keys.insert(k)).to.equal(!ref.has(k));
        ref.add(k);
      }
      const sorted = [...ref].sort();
      expect([...keys]).to.deep.equal(sorted);
      expect(keys.size).to.equal(sorted.length);
      for (const start of ['', '/k/1', '/k/49999', '/k/5', '/k/55', '/z']) {
        const got: string[] = [];
        keys.scanFrom(start, (k) => got.push(k) < 100);
        expect(got).to.deep.equal(sorted.filter((k) => k >= start).slice(0, 100));
      }
      keys.retain((k) => k.endsWith('7'));
      expect([...keys]).to.deep.equal(sorted.filter((k) => k.endsWith('7')));
      keys.insert('/a');
      keys.insert('/zzz');
      expect([...keys][0]).to.equal('/a');
      expect([...keys].at(-1)).to.equal('/zzz');
      keys.retain(() => false);
      expect([...keys]).to.deep.equal([]);
      keys.scanFrom('', () => {
        throw new Error('empty set visited a key');
      });
    });
  });

  it('is comfortable at 50k random-order creates and 10k-key lists', async function () {
    this.timeout(60_000);
    const store = new MemoryStore();
    const rand = rng(7);
    const names = Array.from({ length: 50_000 }, (_, i) => `/pods/ns${i % 10}/p-${Math.floor(rand() * 1e9)}-${i}`);
    let t = performance.now();
    for (const n of names) await store.create(n, '{"kind":"Pod"}');
    const createMs = performance.now() - t;
    t = performance.now();
    const mods = new Map<string, number>();
    for (const item of (await store.list('/pods/ns3/')).items) mods.set(item.key, item.modRevision);
    let writes = 0;
    for (let round = 0; round < 10; round++) {
      for (const [k, m] of mods) {
        mods.set(k, (await store.update(k, `{"round":${round}}`, m)).modRevision);
        writes++;
      }
    }
    const updateMs = performance.now() - t;
    t = performance.now();
    const list = await store.list('/pods/');
    const listMs = performance.now() - t;
    t = performance.now();
    const pages = [];
    for (let page = await store.list('/pods/ns3/', { limit: 500 }); ; ) {
      pages.push(page);
      if (!page.more) break;
      const last = page.items[page.items.length - 1];
      page = await store.list('/pods/ns3/', { limit: 500, revision: page.revision, startKey: `${last?.key}\u0000` });
    }
    const pageMs = performance.now() - t;
    expect(list.items).to.have.length(50_000);
    expect(pages.flatMap((p) => p.items)).to.have.length(5_000);
    console.log(
      `      50k creates ${createMs.toFixed(0)} ms (${Math.round(50_000 / (createMs / 1000))}/s), ` +
        `${writes} CAS updates ${updateMs.toFixed(0)} ms (${Math.round(writes / (updateMs / 1000))}/s), ` +
        `list 50k ${listMs.toFixed(0)} ms, 10 pages of 500 ${pageMs.toFixed(0)} ms`,
    );
    // Loose bounds (shared CI machines): they catch an accidental O(n) or O(n log n) per write.
    expect(createMs).to.be.lessThan(10_000);
    expect(updateMs).to.be.lessThan(10_000);
    expect(listMs).to.be.lessThan(2_000);
    await store.compact(await store.currentRevision());
    expect((await store.list('/pods/')).items).to.have.length(50_000);
    await store.close();
  });
});
