// Hostile request bodies (issue #21): prototype keys (`__proto__`, `constructor`, `prototype`) in
// objects, maps and every patch type, and duplicate JSON keys under fieldValidation. Each refused
// request must get the right Status, write nothing, and pollute no prototype.
import { expect } from 'chai';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import {
  causeFields,
  expectStatus,
  nodeBody,
  podBody,
  raw,
  type Obj,
  type PodView,
  type RawResponse,
} from '../apiserver/helpers.js';

const PODS = '/api/v1/namespaces/default/pods';
const TARGET = `${PODS}/target`;
const NODES = '/api/v1/nodes';
const MERGE = 'application/merge-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';

interface Case {
  name: string;
  method: 'POST' | 'PUT' | 'PATCH';
  path: string;
  /** A string is sent verbatim (duplicate keys cannot be written any other way). */
  body: unknown;
  contentType?: string;
  code: number;
  reason: string;
  /** For 422: a `details.causes[].field` that must be present. */
  field?: string;
  /** Text the Status message must contain. */
  message?: string;
}

/** The target pod as a full object (for PUT), with `extra` spliced into its metadata as raw JSON. */
function targetWithMetadata(current: Obj, extra: string): string {
  const text = JSON.stringify(current);
  return text.replace('"metadata":{', `"metadata":{${extra},`);
}

/**
 * A pod body as JSON text with `extra` spliced in at the start of its metadata (a duplicate there
 * comes first, so the pod's own `name` is the last one).
 */
function podText(name: string, extra: string, query = ''): { path: string; body: string } {
  return { path: `${PODS}${query}`, body: JSON.stringify(podBody(name)).replace('"metadata":{', `"metadata":{${extra},`) };
}

function cases(current: Obj): Case[] {
  const strict = '?fieldValidation=Strict';
  return [
    // --- item 7: `__proto__` is a field like any other, which no kind has
    { name: 'merge patch metadata.__proto__.labels', method: 'PATCH', path: TARGET, contentType: MERGE, body: '{"metadata":{"__proto__":{"labels":{"x":"y"}}}}', code: 422, reason: 'Invalid', field: 'metadata.__proto__' },
    { name: 'strategic patch metadata.__proto__.labels', method: 'PATCH', path: TARGET, contentType: STRATEGIC, body: '{"metadata":{"__proto__":{"labels":{"x":"y"}}}}', code: 422, reason: 'Invalid', field: 'metadata.__proto__' },
    { name: 'merge patch top-level __proto__', method: 'PATCH', path: TARGET, contentType: MERGE, body: '{"__proto__":{"spec":{"nodeName":"n1"}}}', code: 422, reason: 'Invalid', field: '__proto__' },
    { name: 'strategic patch __proto__ inside a merged list item', method: 'PATCH', path: TARGET, contentType: STRATEGIC, body: '{"spec":{"containers":[{"name":"main","__proto__":{"image":"evil"}}]}}', code: 422, reason: 'Invalid', field: 'spec.containers[0].__proto__' },
    { name: 'merge patch __proto__ on the status subresource', method: 'PATCH', path: `${TARGET}/status`, contentType: MERGE, body: '{"status":{"__proto__":{"phase":"Running"}}}', code: 422, reason: 'Invalid', field: 'status.__proto__' },
    { name: 'JSON patch adding a value that holds __proto__', method: 'PATCH', path: TARGET, contentType: JSON_PATCH, body: '[{"op":"add","path":"/metadata/annotations","value":{"__proto__":{"a":"b"}}}]', code: 422, reason: 'Invalid', field: 'metadata.annotations' },
    { name: 'JSON patch replacing metadata with one that holds __proto__', method: 'PATCH', path: TARGET, contentType: JSON_PATCH, body: '[{"op":"add","path":"/metadata/__proto__","value":{"labels":{"x":"y"}}}]', code: 422, reason: 'Invalid' },
    // fast-json-patch finds Object.prototype's members: a path must name a field the object has.
    { name: 'JSON patch replacing a label toString that is not there', method: 'PATCH', path: TARGET, contentType: JSON_PATCH, body: '[{"op":"replace","path":"/metadata/labels/toString","value":"x"}]', code: 422, reason: 'Invalid', field: 'metadata.labels.toString' },
    { name: 'JSON patch copying from a label constructor that is not there', method: 'PATCH', path: TARGET, contentType: JSON_PATCH, body: '[{"op":"copy","from":"/metadata/labels/constructor","path":"/metadata/labels/x"}]', code: 422, reason: 'Invalid', field: 'metadata.labels.x' },
    { name: 'JSON patch adding under metadata.constructor', method: 'PATCH', path: TARGET, contentType: JSON_PATCH, body: '[{"op":"add","path":"/metadata/constructor/prototype/polluted","value":"yes"}]', code: 422, reason: 'Invalid' },
    { name: 'create with metadata.__proto__', method: 'POST', ...podText('proto-create', '"__proto__":{"labels":{"x":"y"}}'), code: 422, reason: 'Invalid', field: 'metadata.__proto__' },
    // A null member makes validation copy the object: the copy must not turn `__proto__` into its prototype.
    { name: 'create with metadata.__proto__ after a null member', method: 'POST', ...podText('proto-null', '"creationTimestamp":null,"__proto__":{"labels":{"x":"y"}}'), code: 422, reason: 'Invalid', field: 'metadata.__proto__' },
    { name: 'create with spec.__proto__ under Strict', method: 'POST', path: `${PODS}${strict}`, body: JSON.stringify(podBody('proto-strict')).replace('"spec":{', '"spec":{"__proto__":{"nodeName":"n1"},'), code: 400, reason: 'BadRequest', message: 'spec.__proto__' },
    { name: 'update with metadata.__proto__', method: 'PUT', path: TARGET, body: targetWithMetadata(current, '"__proto__":{"labels":{"x":"y"}}'), code: 422, reason: 'Invalid', field: 'metadata.__proto__' },
    { name: 'create a node with status.__proto__', method: 'POST', path: NODES, body: JSON.stringify(nodeBody('proto-node')).replace('"status":{', '"status":{"__proto__":{"phase":"x"},'), code: 422, reason: 'Invalid', field: 'status.__proto__' },
    { name: 'merge patch metadata.constructor.prototype under Strict', method: 'PATCH', path: `${TARGET}${strict}`, contentType: MERGE, body: '{"metadata":{"constructor":{"prototype":{"polluted":"yes"}}}}', code: 400, reason: 'BadRequest', message: 'metadata.constructor' },
    { name: 'patch with Content-Type "constructor"', method: 'PATCH', path: TARGET, contentType: 'constructor', body: '{"metadata":{"labels":{"x":"y"}}}', code: 415, reason: 'UnsupportedMediaType' },
    { name: 'patch with Content-Type "__proto__"', method: 'PATCH', path: TARGET, contentType: '__proto__', body: '{"metadata":{"labels":{"x":"y"}}}', code: 415, reason: 'UnsupportedMediaType' },

    // --- item 8: `__proto__` is no valid key of any map
    { name: 'create with label key __proto__', method: 'POST', ...podText('proto-label', '"labels":{"__proto__":"x"}'), code: 422, reason: 'Invalid', field: 'metadata.labels' },
    { name: 'create with annotation key __proto__', method: 'POST', ...podText('proto-annotation', '"annotations":{"__proto__":"x"}'), code: 422, reason: 'Invalid', field: 'metadata.annotations' },
    { name: 'create with nodeSelector key __proto__', method: 'POST', path: PODS, body: JSON.stringify(podBody('proto-selector')).replace('"spec":{', '"spec":{"nodeSelector":{"__proto__":"x"},'), code: 422, reason: 'Invalid', field: 'spec.nodeSelector' },
    { name: 'create with resource request __proto__', method: 'POST', path: PODS, body: JSON.stringify(podBody('proto-resource')).replace('"requests":{', '"requests":{"__proto__":"1",'), code: 422, reason: 'Invalid', field: 'spec.containers[0].resources.requests' },
    { name: 'create a node with label key __proto__', method: 'POST', path: NODES, body: JSON.stringify(nodeBody('proto-node-label')).replace('"metadata":{', '"metadata":{"labels":{"__proto__":"x"},'), code: 422, reason: 'Invalid', field: 'metadata.labels' },
    { name: 'create a node with capacity __proto__', method: 'POST', path: NODES, body: JSON.stringify(nodeBody('proto-capacity')).replace('"capacity":{', '"capacity":{"__proto__":"1",'), code: 422, reason: 'Invalid', field: 'status.capacity' },
    { name: 'merge patch label key __proto__', method: 'PATCH', path: TARGET, contentType: MERGE, body: '{"metadata":{"labels":{"__proto__":"y"}}}', code: 422, reason: 'Invalid', field: 'metadata.labels' },
    { name: 'strategic patch annotation key __proto__', method: 'PATCH', path: TARGET, contentType: STRATEGIC, body: '{"metadata":{"annotations":{"__proto__":"y"}}}', code: 422, reason: 'Invalid', field: 'metadata.annotations' },
    { name: 'JSON patch adding label __proto__', method: 'PATCH', path: TARGET, contentType: JSON_PATCH, body: '[{"op":"add","path":"/metadata/labels","value":{"__proto__":"y"}}]', code: 422, reason: 'Invalid', field: 'metadata.labels' },

    // --- item 9: duplicate keys under fieldValidation=Strict
    { name: 'Strict create with metadata.name twice', method: 'POST', ...podText('dup-a', '"name":"dup-b"', strict), code: 400, reason: 'BadRequest', message: 'duplicate field "metadata.name"' },
    { name: 'Strict create with an escaped duplicate key', method: 'POST', ...podText('dup-c', '"na\\u006de":"dup-d"', strict), code: 400, reason: 'BadRequest', message: 'duplicate field "metadata.name"' },
    { name: 'Strict create with a duplicate inside a list item', method: 'POST', path: `${PODS}${strict}`, body: JSON.stringify(podBody('dup-e')).replace('"image":"busybox"', '"image":"busybox","image":"evil"'), code: 400, reason: 'BadRequest', message: 'duplicate field "spec.containers[0].image"' },
    { name: 'Strict update with a duplicate', method: 'PUT', path: `${TARGET}${strict}`, body: targetWithMetadata(current, '"labels":{"a":"b"}'), code: 400, reason: 'BadRequest', message: 'duplicate field "metadata.labels"' },
    { name: 'Strict merge patch with a duplicate', method: 'PATCH', path: `${TARGET}${strict}`, contentType: MERGE, body: '{"metadata":{"labels":{"x":"1","x":"2"}}}', code: 400, reason: 'BadRequest', message: 'duplicate field "metadata.labels.x"' },
    { name: 'Strict strategic patch with a duplicate', method: 'PATCH', path: `${TARGET}${strict}`, contentType: STRATEGIC, body: '{"spec":{"activeDeadlineSeconds":5},"spec":{}}', code: 400, reason: 'BadRequest', message: 'duplicate field "spec"' },
    { name: 'Strict JSON patch with a duplicate', method: 'PATCH', path: `${TARGET}${strict}`, contentType: JSON_PATCH, body: '[{"op":"test","path":"/metadata/name","value":"target"},{"op":"add","op":"add","path":"/metadata/labels/x","value":"y"}]', code: 400, reason: 'BadRequest', message: 'duplicate field "[1].op"' },
  ];
}

describe('hostile bodies (etcd)', function () {
  this.timeout(60_000);
  let t: TestApiServer;
  let objectsBefore: number;
  let targetBefore: Obj;

  async function countObjects(): Promise<number> {
    return (await t.store.list('/')).items.length;
  }

  function send(c: Case): Promise<RawResponse> {
    return raw(t.url, c.method, c.path, { body: c.body, ...(c.contentType ? { contentType: c.contentType } : {}) });
  }

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd' });
    expect((await raw(t.url, 'POST', NODES, { body: nodeBody('n1') })).status).to.equal(201);
    expect((await raw(t.url, 'POST', PODS, { body: podBody('target', { labels: { app: 'target' } }) })).status).to.equal(201);
    targetBefore = (await raw(t.url, 'GET', TARGET)).body as Obj;
    objectsBefore = await countObjects();
  });
  after(async () => {
    await t?.close();
  });

  describe('refused, with nothing written', () => {
    // Built lazily: the update cases need the stored target.
    const names = cases({ apiVersion: 'v1', kind: 'Pod', metadata: { name: '', uid: '', resourceVersion: '', creationTimestamp: '' } });
    names.forEach((proto, i) => {
      it(`${proto.name} → ${proto.code} ${proto.reason}`, async () => {
        const c = cases(targetBefore)[i]!;
        const res = await send(c);
        const s = expectStatus(res, c.code, c.reason);
        if (c.field !== undefined) expect(causeFields(s), res.text.slice(0, 400)).to.include(c.field);
        if (c.code === 422) expect(s.details?.causes ?? [], 'a 422 names its fields').to.not.be.empty;
        if (c.message !== undefined) expect(s.message, res.text.slice(0, 400)).to.contain(c.message);
        // Nothing written: the target as it was, and no object more or less.
        const target = await raw(t.url, 'GET', TARGET);
        expect(target.body).to.deep.equal(targetBefore);
        expect(await countObjects()).to.equal(objectsBefore);
        expect(({} as Record<string, unknown>).polluted, 'Object.prototype polluted').to.equal(undefined);
        expect(({} as Record<string, unknown>).labels, 'Object.prototype polluted').to.equal(undefined);
      });
    });
  });

  describe('accepted as plain data', () => {
    it('label keys that name Object.prototype members are stored, read and removed like any other', async () => {
      const labels = { constructor: 'a', prototype: 'b', toString: 'c', hasOwnProperty: 'd' };
      const created = await raw(t.url, 'POST', PODS, { body: podBody('proto-names', { labels }) });
      expect(created.status, created.text).to.equal(201);
      const got = (await raw(t.url, 'GET', `${PODS}/proto-names`)).body as PodView;
      expect(got.metadata.labels).to.deep.equal(labels);
      const merged = await raw(t.url, 'PATCH', `${PODS}/proto-names`, { contentType: MERGE, body: '{"metadata":{"labels":{"constructor":null,"valueOf":"e"}}}' });
      expect(merged.status, merged.text).to.equal(200);
      expect((merged.body as PodView).metadata.labels).to.deep.equal({ prototype: 'b', toString: 'c', hasOwnProperty: 'd', valueOf: 'e' });
      const strategic = await raw(t.url, 'PATCH', `${PODS}/proto-names`, { contentType: STRATEGIC, body: '{"metadata":{"labels":{"constructor":"f"}}}' });
      expect(strategic.status, strategic.text).to.equal(200);
      expect((strategic.body as PodView).metadata.labels?.['constructor']).to.equal('f');
      const list = await raw(t.url, 'GET', `${PODS}?labelSelector=constructor%3Df`);
      expect((list.body as { items: Obj[] }).items.map((p) => p.metadata.name)).to.deep.equal(['proto-names']);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('fieldValidation=Warn takes the last of duplicate keys and names each in a Warning header', async () => {
      const { path, body } = podText('dup-warn', '"name":"dup-warn-dropped"', '?fieldValidation=Warn');
      const res = await raw(t.url, 'POST', path, { body });
      expect(res.status, res.text).to.equal(201);
      expect((res.body as Obj).metadata.name).to.equal('dup-warn');
      expect(res.headers.get('warning') ?? '').to.contain('duplicate field \\"metadata.name\\"');
      const patched = await raw(t.url, 'PATCH', `${PODS}/dup-warn?fieldValidation=Warn`, { contentType: MERGE, body: '{"metadata":{"labels":{"x":"1","x":"2","ключ":"1","ключ":"2"}}}' });
      expect(patched.status, patched.text).to.equal(422); // ключ is no label key; the warnings still come
      const warnings = patched.headers.get('warning') ?? '';
      expect(warnings).to.contain('duplicate field \\"metadata.labels.x\\"');
      expect(warnings).to.contain('\\u043a'); // non-ASCII escaped: header values carry only ASCII
    });

    it('without fieldValidation, or with Ignore, duplicates are not reported and the last one wins', async () => {
      for (const [i, query] of ['', '?fieldValidation=Ignore'].entries()) {
        const { path, body } = podText(`dup-quiet-${i}`, `"name":"dup-quiet-${i}-dropped"`, query);
        const res = await raw(t.url, 'POST', path, { body });
        expect(res.status, res.text).to.equal(201);
        expect((res.body as Obj).metadata.name).to.equal(`dup-quiet-${i}`);
        expect(res.headers.get('warning')).to.equal(null);
      }
    });

    it('Strict accepts the same key in different objects', async () => {
      const res = await raw(t.url, 'POST', `${PODS}?fieldValidation=Strict`, { body: podBody('same-key', { labels: { name: 'x' } }) });
      expect(res.status, res.text).to.equal(201);
    });
  });
});
