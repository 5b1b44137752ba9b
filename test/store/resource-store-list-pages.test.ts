// A list that asks for everything is read from etcd in pages of about so many bytes (a million pods
// in one range would not come back within a request's deadline), and every page at the first one's
// revision: writes that land between the pages are not in it, objects they delete still are.
import { expect } from 'chai';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import type { ListOptions, ListResult } from '../../apiserver/storage/store.js';
import { ResourceStore } from '../../apiserver/registry/resource-store.js';
import { versionAfter } from '../../apiserver/storage/resource-version.js';
import type { KubeObject } from '../../apiserver/registry/object.js';
import { createLogger } from '../../shared/logging.js';
import { etcdEndpoints, randomPrefix } from './helpers.js';

const id = { group: '', kind: 'ConfigThing', resource: 'things', namespaced: true };

function thing(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigThing', metadata: { name, namespace: 'ns' }, spec: { data: name } } as KubeObject;
}

/** Records each list read; runs `afterFirstPage` once, between the first page and the next. */
class PagedStore extends EtcdStore {
  readonly reads: { limit: number | undefined; revision: number | undefined; items: number }[] = [];
  afterFirstPage: (() => Promise<void>) | undefined;

  override async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const page = await super.list(prefix, opts);
    this.reads.push({ limit: opts.limit, revision: opts.revision, items: page.items.length });
    const then = this.afterFirstPage;
    this.afterFirstPage = undefined;
    if (then) await then();
    return page;
  }
}

describe('resource store: a list without a limit, read in pages (etcd)', function () {
  this.timeout(20_000);
  let store: PagedStore;
  let objects: ResourceStore;
  /** Every test object is stored in this many bytes (equal-length names and data). */
  let size: number;

  beforeEach(async () => {
    store = new PagedStore({ endpoints: etcdEndpoints(), prefix: randomPrefix() });
    const plain = new ResourceStore(store, id, createLogger('test', 'error'), { watchCacheCapacity: 100 });
    size = plain.encode(thing('t00')).length;
    plain.cache.stop();
    // A first page of 5 objects, then pages of 8 objects' bytes (and a little).
    objects = new ResourceStore(store, id, createLogger('test', 'error'), { watchCacheCapacity: 100, listFirstPage: 5, listPageBytes: 8 * size + 3 });
  });
  afterEach(async () => {
    objects.cache.stop();
    await store.close();
  });

  it('returns every object at one revision, whatever is written between the pages', async () => {
    const names = Array.from({ length: 25 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    for (const n of names) await objects.create(thing(n));
    store.reads.length = 0;
    // Between the first page and the second: one object of a later page deleted, one added.
    store.afterFirstPage = async () => {
      await store.delete(objects.key('ns', 't20'));
      await objects.create(thing('t15b'));
    };
    const list = await objects.list({});
    expect(list.items.map((o) => o.metadata.name)).to.deep.equal(names);
    expect(list.continueToken).to.equal(undefined);
    expect(store.reads.map((r) => [r.limit, r.items])).to.deep.equal([[5, 5], [8, 8], [8, 8], [8, 4]]);
    const first = store.reads[0]!;
    expect(first.revision).to.equal(undefined); // the latest, then pinned
    const pinned = store.reads[1]!.revision;
    expect(pinned).to.be.a('number');
    for (const later of store.reads.slice(2)) expect(later.revision).to.equal(pinned);
    expect(list.resourceVersion).to.equal(String(versionAfter(pinned!)));

    // The next list sees the writes.
    const after = await objects.list({});
    expect(after.items.map((o) => o.metadata.name)).to.deep.equal([...names.slice(0, 16), 't15b', ...names.slice(16)].filter((n) => n !== 't20'));
  });
});
