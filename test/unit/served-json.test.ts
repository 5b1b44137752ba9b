// Served JSON from stored strings: the same JSON value as serialising the decoded object, for every
// shape it accepts, and JSON.stringify's own output for every shape it does not.
import { expect } from 'chai';
import { rememberStoredForm, responseJson, servedJson } from '../../apiserver/registry/served-json.js';
import { ResourceStore } from '../../apiserver/registry/resource-store.js';
import type { KubeObject } from '../../apiserver/registry/object.js';
import { MemoryStore } from '../../apiserver/storage/memory.js';
import { createLogger } from '../../shared/logging.js';

function pod(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'u', controller: true }] },
    spec: { containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo "quoted" \\ done → ✓'] }], nodeName: '' },
    status: { phase: 'Pending' },
  } as KubeObject;
}

/** Encodes and decodes as every resource does (the object less its resourceVersion, and back). */
const store = new ResourceStore(new MemoryStore(), { resource: 'pods', group: '', kind: 'Pod', namespaced: true }, createLogger('test', 'error'), { watchCacheCapacity: 10 });

describe('served JSON from stored strings', () => {
  it('is the object the stored string decodes to at its version, made without serialising it', () => {
    const value = store.encode({ ...pod('a'), metadata: { ...pod('a').metadata, resourceVersion: '7' } });
    const decoded = store.decode(value, 42);
    const json = servedJson(decoded, { value, version: 42 });
    expect(JSON.parse(json)).to.deep.equal(JSON.parse(JSON.stringify(decoded)));
    expect(JSON.parse(json).metadata.resourceVersion).to.equal('42');
    expect(json).to.not.equal(JSON.stringify(decoded), 'made from the stored string');
  });

  it('puts the resourceVersion into empty metadata without a stray comma', () => {
    const value = JSON.stringify({ apiVersion: 'v1', kind: 'Thing', metadata: {} });
    const json = servedJson(store.decode(value, 3), { value, version: 3 });
    expect(JSON.parse(json)).to.deep.equal({ apiVersion: 'v1', kind: 'Thing', metadata: { resourceVersion: '3' } });
  });

  it('serialises the object when the stored string is not of the shape that makes this safe', () => {
    const cases: [string, string][] = [
      // metadata after another object: its first "metadata":{ may be a nested one
      ['spec first', JSON.stringify({ spec: { template: { metadata: { name: 'inner' } } }, metadata: { name: 'x' } })],
      // a resourceVersion already in it (an Event's involvedObject): a second key could win
      ['a resourceVersion inside', JSON.stringify({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' }, involvedObject: { resourceVersion: '5' } })],
      ['an escaped quote before metadata', JSON.stringify({ apiVersion: 'v"1', metadata: { name: 'x' } })],
      ['no metadata', JSON.stringify({ apiVersion: 'v1', kind: 'Thing', data: { metadata: {} } })],
    ];
    for (const [what, value] of cases) {
      const decoded = JSON.parse(value) as KubeObject;
      expect(servedJson(decoded, { value, version: 11 }), what).to.equal(JSON.stringify(decoded));
    }
  });

  it('serialises the object when its stored form is not known', () => {
    const plain = pod('c');
    expect(servedJson(plain, undefined)).to.equal(JSON.stringify(plain));
  });

  it('answers a write, and a list of outcomes, from the stored strings of the objects written', () => {
    const value = store.encode(pod('d'));
    const written = rememberStoredForm(store.decode(value, 5), { value, version: 5 });
    const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 409 };
    expect(JSON.parse(responseJson(written))).to.deep.equal(JSON.parse(JSON.stringify(written)));
    expect(responseJson(written)).to.not.equal(JSON.stringify(written), 'made from the stored string');
    const envelope = { apiVersion: 'v1', kind: 'List', metadata: {} };
    const list = responseJson({ ...envelope, items: [written, status, pod('e')] });
    expect(JSON.parse(list)).to.deep.equal(JSON.parse(JSON.stringify({ ...envelope, items: [written, status, pod('e')] })));
    expect(JSON.parse(responseJson({ ...envelope, items: [] }))).to.deep.equal({ ...envelope, items: [] });
    expect(JSON.parse(responseJson({ items: [status] }))).to.deep.equal({ items: [status] });
    expect(responseJson(status)).to.equal(JSON.stringify(status));
    expect(responseJson('text')).to.equal('"text"');
  });
});
