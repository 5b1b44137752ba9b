// Lists over real HTTP and real etcd: label and field selectors, pagination on one revision while
// writes happen between pages, watch-cache lists (resourceVersion=0), continue-token errors, and
// the meta.k8s.io/v1 Table form kubectl asks for.
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import {
  causeFields,
  expectStatus,
  namespaceBody,
  nodeBody,
  podBody,
  raw,
  waitFor,
  type ListView,
  type Obj,
  type RawOptions,
} from './helpers.js';

interface TableView {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: { name: string; type: string; priority: number }[];
  rows: { cells: (string | number)[]; object?: { kind?: string; metadata?: { name?: string } } }[];
}

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const KUBECTL_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

describe('apiserver lists (etcd)', function () {
  this.timeout(60_000);
  let t: TestApiServer;
  const req = (method: string, path: string, opts?: RawOptions) => raw(t.url, method, path, opts);
  const ok = async <T = Obj>(method: string, path: string, opts?: RawOptions): Promise<T> => {
    const res = await req(method, path, opts);
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 400)}`).to.equal(method === 'POST' ? 201 : 200);
    return res.body as T;
  };
  const names = (l: ListView) => l.items.map((i) => i.metadata.name).sort();
  const sel = (ns: string, q: Record<string, string>) => `/api/v1/namespaces/${ns}/pods?${new URLSearchParams(q).toString()}`;

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd' });
    for (const ns of ['sel', 'page', 'other']) await ok('POST', '/api/v1/namespaces', { body: namespaceBody(ns) });
    await ok('POST', '/api/v1/nodes', { body: nodeBody('n1', { labels: { zone: 'a' }, kubeletVersion: 'v1.30.0' }) });
    await ok('POST', '/api/v1/nodes', { body: nodeBody('n2', { labels: { zone: 'b', 'node-role.kubernetes.io/control-plane': '' }, unschedulable: true, ready: false }) });
    // Label/field selector fixtures in namespace "sel".
    const fixtures: [string, Record<string, string>, string | undefined, string | undefined][] = [
      ['web-1', { app: 'web', tier: 'front' }, 'n1', undefined],
      ['web-2', { app: 'web', tier: 'front', canary: 'true' }, 'n2', undefined],
      ['api-1', { app: 'api', tier: 'back' }, 'n1', 'batch'],
      ['db-1', { app: 'db' }, undefined, 'batch'],
      ['plain', {}, undefined, undefined],
    ];
    for (const [name, labels, nodeName, schedulerName] of fixtures) {
      await ok('POST', '/api/v1/namespaces/sel/pods', {
        body: podBody(name, { labels, ...(nodeName ? { nodeName } : {}), ...(schedulerName ? { schedulerName } : {}) }),
      });
    }
    await ok('PATCH', '/api/v1/namespaces/sel/pods/web-1/status', { body: { status: { phase: 'Running' } }, contentType: 'application/merge-patch+json' });
    await ok('PATCH', '/api/v1/namespaces/sel/pods/api-1/status', { body: { status: { phase: 'Failed' } }, contentType: 'application/merge-patch+json' });
    await ok('POST', '/api/v1/namespaces/other/pods', { body: podBody('web-1', { labels: { app: 'web' }, nodeName: 'n1' }) });
  });
  after(async () => {
    await t?.close();
  });

  it('filters by label selectors: =, ==, !=, in, notin, exists, !exists, combinations', async () => {
    const cases: [string, string[]][] = [
      ['app=web', ['web-1', 'web-2']],
      ['app==web', ['web-1', 'web-2']],
      ['app!=web', ['api-1', 'db-1', 'plain']],
      ['app in (web,db)', ['db-1', 'web-1', 'web-2']],
      ['app notin (web,db)', ['api-1', 'plain']],
      ['canary', ['web-2']],
      ['!canary', ['api-1', 'db-1', 'plain', 'web-1']],
      ['tier', ['api-1', 'web-1', 'web-2']],
      ['app=web,!canary', ['web-1']],
      ['tier in (front),app=web,canary=true', ['web-2']],
      ['app=nothing', []],
      ['', ['api-1', 'db-1', 'plain', 'web-1', 'web-2']],
    ];
    for (const [s, want] of cases) {
      const list = await ok<ListView>('GET', sel('sel', { labelSelector: s }));
      expect(names(list), s).to.deep.equal(want);
    }
  });

  it('filters pods by field selectors: metadata.name/namespace, spec.nodeName, spec.schedulerName, status.phase', async () => {
    const cases: [string, string[]][] = [
      ['metadata.name=web-1', ['web-1']],
      ['metadata.name!=web-1', ['api-1', 'db-1', 'plain', 'web-2']],
      ['metadata.namespace=sel', ['api-1', 'db-1', 'plain', 'web-1', 'web-2']],
      ['metadata.namespace=other', []],
      ['spec.nodeName=n1', ['api-1', 'web-1']],
      ['spec.nodeName=', ['db-1', 'plain']],
      ['spec.nodeName!=', ['api-1', 'web-1', 'web-2']],
      ['spec.schedulerName=batch', ['api-1', 'db-1']],
      ['spec.schedulerName=default-scheduler', ['plain', 'web-1', 'web-2']],
      ['status.phase=Running', ['web-1']],
      ['status.phase!=Failed', ['db-1', 'plain', 'web-1', 'web-2']],
      ['status.phase=Pending,spec.nodeName=n2', ['web-2']],
    ];
    for (const [s, want] of cases) {
      const list = await ok<ListView>('GET', sel('sel', { fieldSelector: s }));
      expect(names(list), s).to.deep.equal(want);
    }
    // Across namespaces.
    const all = await ok<ListView>('GET', `/api/v1/pods?${new URLSearchParams({ fieldSelector: 'metadata.name=web-1' }).toString()}`);
    expect(all.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort()).to.deep.equal(['other/web-1', 'sel/web-1']);
    const ns = await ok<ListView>('GET', `/api/v1/pods?${new URLSearchParams({ fieldSelector: 'metadata.namespace=other' }).toString()}`);
    expect(ns.items.map((p) => p.metadata.namespace)).to.deep.equal(['other']);
    // Labels and fields together.
    const both = await ok<ListView>('GET', sel('sel', { labelSelector: 'app=web', fieldSelector: 'spec.nodeName=n2' }));
    expect(names(both)).to.deep.equal(['web-2']);
  });

  it('filters nodes by metadata.name and spec.unschedulable', async () => {
    const q = (s: string) => ok<ListView>('GET', `/api/v1/nodes?${new URLSearchParams({ fieldSelector: s }).toString()}`);
    expect(names(await q('metadata.name=n1'))).to.deep.equal(['n1']);
    expect(names(await q('spec.unschedulable=true'))).to.deep.equal(['n2']);
    expect(names(await q('spec.unschedulable=false'))).to.deep.equal(['n1']);
    expect(names(await q('spec.unschedulable!=true,metadata.name!=n2'))).to.deep.equal(['n1']);
    const byLabel = await ok<ListView>('GET', `/api/v1/nodes?labelSelector=${encodeURIComponent('zone in (b)')}`);
    expect(names(byLabel)).to.deep.equal(['n2']);
  });

  it('rejects unknown field selectors (and malformed ones) with 400', async () => {
    for (const s of ['spec.containers=x', 'metadata.labels=x', 'status.hostIP=1.2.3.4', 'foo']) {
      expectStatus(await req('GET', sel('sel', { fieldSelector: s })), 400, 'BadRequest');
    }
    expectStatus(await req('GET', `/api/v1/nodes?fieldSelector=${encodeURIComponent('spec.nodeName=n1')}`), 400, 'BadRequest');
    expectStatus(await req('GET', `/api/v1/nodes?fieldSelector=${encodeURIComponent('status.phase=Running')}`), 400, 'BadRequest');
    // Watches check them too.
    expectStatus(await req('GET', `${sel('sel', { fieldSelector: 'spec.bogus=1' })}&watch=true`), 400, 'BadRequest');
  });

  describe('pagination', () => {
    const COUNT = 100;
    const LIMIT = 7;
    before(async () => {
      // Create the 100 pods 10 at a time.
      for (let i = 0; i < COUNT; i += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, j) => ok('POST', '/api/v1/namespaces/page/pods', { body: podBody(`p-${String(i + j).padStart(3, '0')}`, { labels: { idx: String(i + j) } }) })),
        );
      }
    });

    /** Pages through `first`, doing `between(page)` after each page; returns the pages. */
    async function paginate(first: string, between: (page: number) => Promise<void>): Promise<ListView[]> {
      const pages: ListView[] = [];
      let path = first;
      for (let n = 0; n < 100; n++) {
        const page = await ok<ListView>('GET', path);
        pages.push(page);
        expect(page.items.length).to.be.at.most(LIMIT);
        if (!page.metadata.continue) return pages;
        expect(page.items.length).to.equal(LIMIT);
        await between(n);
        path = `/api/v1/namespaces/page/pods?limit=${LIMIT}&continue=${encodeURIComponent(page.metadata.continue)}`;
      }
      throw new Error('pagination did not end');
    }

    let writes = 0;
    /** Creates, updates and deletes in the paged namespace. */
    async function churn(page: number): Promise<void> {
      writes++;
      await ok('POST', '/api/v1/namespaces/page/pods', { body: podBody(`new-${page}-${writes}`) });
      await ok('POST', '/api/v1/namespaces/page/pods', { body: podBody(`a-new-${page}-${writes}`) });
      const victim = `p-${String((page * 7 + 50) % COUNT).padStart(3, '0')}`;
      const cur = await req('GET', `/api/v1/namespaces/page/pods/${victim}`);
      if (cur.status === 200) {
        if (page % 2 === 0) {
          const del = await req('DELETE', `/api/v1/namespaces/page/pods/${victim}`);
          expect(del.status).to.equal(200);
        } else {
          await ok('PATCH', `/api/v1/namespaces/page/pods/${victim}`, { body: { metadata: { labels: { touched: String(page) } } }, contentType: 'application/merge-patch+json' });
        }
      }
    }

    it('returns every object exactly once, on one revision, while writes happen between pages', async () => {
      const snapshot = await ok<ListView>('GET', '/api/v1/namespaces/page/pods');
      expect(snapshot.items.length).to.equal(COUNT);
      const rv = snapshot.metadata.resourceVersion;
      const pages = await paginate(`/api/v1/namespaces/page/pods?limit=${LIMIT}&resourceVersion=${rv}&resourceVersionMatch=Exact`, churn);
      expect(pages.length).to.equal(Math.ceil(COUNT / LIMIT));
      for (const p of pages) expect(p.metadata.resourceVersion).to.equal(rv);
      const items = pages.flatMap((p) => p.items);
      expect(items).to.deep.equal(snapshot.items);
      expect(writes).to.be.greaterThan(10);
      // The first page says how many remain.
      expect(pages[0]!.metadata.remainingItemCount).to.equal(COUNT - LIMIT);
    });

    it('a list without resourceVersion stays on its first page\'s revision', async () => {
      const pages = await paginate(`/api/v1/namespaces/page/pods?limit=${LIMIT}`, churn);
      const rv = pages[0]!.metadata.resourceVersion;
      for (const p of pages) expect(p.metadata.resourceVersion).to.equal(rv);
      // The same revision read in one go (store history) is what the pages add up to.
      const exact = await ok<ListView>('GET', `/api/v1/namespaces/page/pods?resourceVersion=${rv}&resourceVersionMatch=Exact`);
      expect(exact.metadata.resourceVersion).to.equal(rv);
      const items = pages.flatMap((p) => p.items);
      expect(items).to.deep.equal(exact.items);
      const keys = items.map((i) => i.metadata.name);
      expect(new Set(keys).size).to.equal(keys.length);
      // And the world did move on meanwhile.
      const now = await ok<ListView>('GET', '/api/v1/namespaces/page/pods');
      expect(names(now)).to.not.deep.equal([...keys].sort());
    });

    it('paginates with a selector and with limit larger than the list', async () => {
      const selected: string[] = [];
      let path = `/api/v1/namespaces/page/pods?limit=3&labelSelector=${encodeURIComponent('idx in (1,2,3,4,5,6,7,8,9,10)')}`;
      for (let n = 0; n < 20; n++) {
        const page = await ok<ListView>('GET', path);
        selected.push(...page.items.map((i) => i.metadata.labels?.idx ?? ''));
        if (!page.metadata.continue) break;
        path = `/api/v1/namespaces/page/pods?limit=3&labelSelector=${encodeURIComponent('idx in (1,2,3,4,5,6,7,8,9,10)')}&continue=${encodeURIComponent(page.metadata.continue)}`;
      }
      const alive = (await ok<ListView>('GET', `/api/v1/namespaces/page/pods?labelSelector=${encodeURIComponent('idx in (1,2,3,4,5,6,7,8,9,10)')}`)).items.map((i) => i.metadata.labels?.idx);
      expect(selected.sort()).to.deep.equal(alive.sort());
      const big = await ok<ListView>('GET', '/api/v1/namespaces/page/pods?limit=100000');
      expect(big.metadata.continue).to.equal(undefined);
      expect(big.items.length).to.be.greaterThan(COUNT - 20);
      // limit=0 means no limit.
      const zero = await ok<ListView>('GET', '/api/v1/namespaces/page/pods?limit=0');
      expect(zero.items.length).to.equal(big.items.length);
    });

    it('rejects a garbage continue token, and one from another list, with 400', async () => {
      for (const token of ['garbage', '!!!', 'eyJmb28iOjF9', Buffer.from('{"rv":"x","start":1}').toString('base64url')]) {
        expectStatus(await req('GET', `/api/v1/namespaces/page/pods?limit=5&continue=${encodeURIComponent(token)}`), 400, 'BadRequest');
      }
      const page = await ok<ListView>('GET', '/api/v1/namespaces/page/pods?limit=5');
      expect(page.metadata.continue).to.be.a('string');
      // A pods token used on nodes, or on another namespace.
      expectStatus(await req('GET', `/api/v1/nodes?limit=5&continue=${encodeURIComponent(page.metadata.continue!)}`), 400, 'BadRequest');
      expectStatus(await req('GET', `/api/v1/namespaces/sel/pods?limit=5&continue=${encodeURIComponent(page.metadata.continue!)}`), 400, 'BadRequest');
    });
  });

  it('serves resourceVersion=0 lists (from the watch cache)', async () => {
    const consistent = await ok<ListView>('GET', '/api/v1/namespaces/sel/pods');
    await ok('POST', '/api/v1/namespaces/sel/pods', { body: podBody('late', { labels: { app: 'late' } }) });
    const list = await waitFor('the watch cache to show the new pod', async () => {
      const l = await ok<ListView>('GET', '/api/v1/namespaces/sel/pods?resourceVersion=0');
      return l.items.some((i) => i.metadata.name === 'late') ? l : undefined;
    });
    expect(list.kind).to.equal('PodList');
    expect(Number(list.metadata.resourceVersion)).to.be.greaterThan(Number(consistent.metadata.resourceVersion));
    expect(names(list)).to.deep.equal([...names(consistent), 'late'].sort());
    // Selectors apply.
    const filtered = await ok<ListView>('GET', `/api/v1/namespaces/sel/pods?resourceVersion=0&labelSelector=${encodeURIComponent('app=late')}`);
    expect(names(filtered)).to.deep.equal(['late']);
    // Items match what a consistent read gives, field for field.
    const fresh = await ok<ListView>('GET', '/api/v1/namespaces/sel/pods');
    const cached = await ok<ListView>('GET', '/api/v1/namespaces/sel/pods?resourceVersion=0');
    if (cached.metadata.resourceVersion === fresh.metadata.resourceVersion) expect(cached.items).to.deep.equal(fresh.items);
    await ok('DELETE', '/api/v1/namespaces/sel/pods/late');
  });

  it('rejects a malformed resourceVersion with 400, and the ListOptions Kubernetes forbids with 422 naming the field', async () => {
    expectStatus(await req('GET', '/api/v1/namespaces/sel/pods?resourceVersion=abc'), 400, 'BadRequest');
    expectStatus(await req('GET', '/api/v1/namespaces/sel/pods?resourceVersion=-1'), 400, 'BadRequest');
    const invalid = (path: string, field: string, message: RegExp) => async () => {
      const status = expectStatus(await req('GET', path), 422, 'Invalid');
      expect(status.details?.kind).to.equal('ListOptions');
      expect(causeFields(status)).to.include(field);
      expect(status.message).to.match(message);
    };
    await invalid('/api/v1/namespaces/sel/pods?resourceVersionMatch=Exact', 'resourceVersionMatch', /resourceVersionMatch is forbidden unless resourceVersion is provided/)();
    await invalid('/api/v1/namespaces/sel/pods?resourceVersion=1&resourceVersionMatch=Sometimes', 'resourceVersionMatch', /Unsupported value: "Sometimes"/)();
    await invalid('/api/v1/namespaces/sel/pods?resourceVersion=0&resourceVersionMatch=Exact', 'resourceVersionMatch', /forbidden for resourceVersion "0"/)();
    await invalid('/api/v1/namespaces/sel/pods?resourceVersion=1&resourceVersionMatch=NotOlderThan&continue=abc', 'resourceVersionMatch', /forbidden when continue is provided/)();
    await invalid('/api/v1/namespaces/sel/pods?sendInitialEvents=true', 'sendInitialEvents', /sendInitialEvents is forbidden for list/)();
  });

  describe('Table form', () => {
    it('renders pods with kubectl\'s columns (wide ones at priority 1)', async () => {
      const table = await ok<TableView>('GET', '/api/v1/namespaces/sel/pods', { accept: TABLE_ACCEPT });
      expect(table.kind).to.equal('Table');
      expect(table.apiVersion).to.equal('meta.k8s.io/v1');
      expect(table.metadata.resourceVersion).to.match(/^\d+$/);
      const cols = table.columnDefinitions;
      expect(cols.filter((c) => c.priority === 0).map((c) => c.name)).to.deep.equal(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
      const wide = cols.filter((c) => c.priority === 1).map((c) => c.name);
      expect(wide).to.include.members(['IP', 'Node']);
      expect(cols.find((c) => c.name === 'Restarts')?.type).to.equal('integer');
      expect(table.rows.length).to.equal(5);
      const byName = new Map(table.rows.map((r) => [r.cells[0], r]));
      const web1 = byName.get('web-1')!;
      expect(web1.cells.length).to.equal(cols.length);
      expect(web1.cells[1]).to.equal('0/1');
      expect(web1.cells[2]).to.equal('Running');
      expect(web1.cells[3]).to.equal(0);
      expect(String(web1.cells[4])).to.match(/^\d+[smhd]/);
      expect(web1.cells[cols.findIndex((c) => c.name === 'Node')]).to.equal('n1');
      expect(byName.get('db-1')!.cells[2]).to.equal('Pending');
      expect(byName.get('db-1')!.cells[cols.findIndex((c) => c.name === 'Node')]).to.equal('<none>');
      // Rows carry the object's metadata by default (what kubectl uses for names and sorting).
      expect(web1.object?.kind).to.equal('PartialObjectMetadata');
      expect(web1.object?.metadata?.name).to.equal('web-1');
    });

    it('renders nodes with Name/Status/Roles/Age/Version', async () => {
      const table = await ok<TableView>('GET', '/api/v1/nodes', { accept: KUBECTL_ACCEPT });
      expect(table.kind).to.equal('Table');
      expect(table.columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name)).to.deep.equal(['Name', 'Status', 'Roles', 'Age', 'Version']);
      const rows = new Map(table.rows.map((r) => [r.cells[0], r.cells]));
      expect(rows.get('n1')!.slice(1, 3)).to.deep.equal(['Ready', '<none>']);
      expect(rows.get('n1')![4]).to.equal('v1.30.0');
      expect(rows.get('n2')!.slice(1, 3)).to.deep.equal(['NotReady,SchedulingDisabled', 'control-plane']);
    });

    it("renders events with kubectl's columns, the wide ones (subobject, source, first seen, count, name) at priority 1", async () => {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await ok('POST', '/api/v1/namespaces/sel/events', {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: 'web-1.probe' },
          involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'sel', fieldPath: 'spec.containers{main}' },
          reason: 'Unhealthy',
          message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
          type: 'Warning',
          source: { component: 'kubelet', host: 'n1' },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 3,
        },
      });
      const table = await ok<TableView>('GET', '/api/v1/namespaces/sel/events', { accept: KUBECTL_ACCEPT });
      const cols = table.columnDefinitions;
      expect(cols.filter((c) => c.priority === 0).map((c) => c.name)).to.deep.equal(['Last Seen', 'Type', 'Reason', 'Object', 'Message']);
      expect(cols.filter((c) => c.priority === 1).map((c) => c.name)).to.deep.equal(['Subobject', 'Source', 'First Seen', 'Count', 'Name']);
      const row = table.rows.find((r) => r.cells[cols.findIndex((c) => c.name === 'Name')] === 'web-1.probe')!;
      const cell = (name: string) => row.cells[cols.findIndex((c) => c.name === name)];
      expect([cell('Type'), cell('Reason'), cell('Object'), cell('Subobject'), cell('Source'), cell('Count')]).to.deep.equal(['Warning', 'Unhealthy', 'pod/web-1', 'spec.containers{main}', 'kubelet, n1', 3]);
      await ok('DELETE', '/api/v1/namespaces/sel/events/web-1.probe');
    });

    it('renders a single object, honours includeObject, and pages', async () => {
      const one = await ok<TableView>('GET', '/api/v1/namespaces/sel/pods/web-2', { accept: TABLE_ACCEPT });
      expect(one.kind).to.equal('Table');
      expect(one.rows.length).to.equal(1);
      expect(one.rows[0]!.cells[0]).to.equal('web-2');
      const none = await ok<TableView>('GET', '/api/v1/namespaces/sel/pods?includeObject=None', { accept: TABLE_ACCEPT });
      expect(none.rows.every((r) => r.object === undefined)).to.equal(true);
      const full = await ok<TableView>('GET', '/api/v1/namespaces/sel/pods?includeObject=Object', { accept: TABLE_ACCEPT });
      expect(full.rows.every((r) => r.object?.kind === 'Pod')).to.equal(true);
      const paged = await ok<TableView>('GET', '/api/v1/namespaces/sel/pods?limit=2', { accept: TABLE_ACCEPT });
      expect(paged.rows.length).to.equal(2);
      expect(paged.metadata.continue).to.be.a('string');
      // Plain JSON without the Table parameters.
      const plain = await ok<ListView>('GET', '/api/v1/namespaces/sel/pods', { accept: 'application/json' });
      expect(plain.kind).to.equal('PodList');
      // Errors stay Status objects even when a Table was asked for.
      expectStatus(await req('GET', '/api/v1/namespaces/sel/pods/nope', { accept: TABLE_ACCEPT }), 404, 'NotFound');
    });
  });
});
