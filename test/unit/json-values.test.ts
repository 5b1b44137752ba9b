// Equality and copies of JSON values (shared/json-values.ts), against JSON's own round trip.
import { expect } from 'chai';
import { jsonCopy, jsonEqual } from '../../shared/json-values.js';

const pod = () => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', labels: { x: '1' } }, spec: { containers: [{ name: 'c', command: ['a', 'b'] }], n: 1.5, on: true, none: null } });

describe('JSON values', () => {
  it('equal: same keys in any order and equal values, at any depth', () => {
    expect(jsonEqual(pod(), pod())).to.equal(true);
    const reordered = { kind: 'Pod', apiVersion: 'v1', spec: pod().spec, metadata: { labels: { x: '1' }, name: 'a' } };
    expect(jsonEqual(pod(), reordered)).to.equal(true);
    for (const [a, b] of [[null, null], [1, 1], ['s', 's'], [[], []], [{}, {}]] as [unknown, unknown][]) expect(jsonEqual(a, b), JSON.stringify(a)).to.equal(true);
  });

  it('not equal: any value, key, length or type that differs', () => {
    const changes: ((p: ReturnType<typeof pod>) => unknown)[] = [
      (p) => ((p.metadata.labels.x = '2'), p),
      (p) => ({ ...p, extra: undefined }),
      (p) => ((p.spec.containers[0]!.command = ['a']), p),
      (p) => ((p.spec.containers[0]!.command = ['a', 'c']), p),
      (p) => ({ ...p, spec: { ...p.spec, none: undefined } }),
      (p) => ({ ...p, spec: { ...p.spec, n: '1.5' } }),
      (p) => ({ ...p, metadata: [p.metadata] }),
      (p) => ({ ...p, spec: { ...p.spec, containers: { 0: p.spec.containers[0] } } }),
    ];
    for (const change of changes) expect(jsonEqual(pod(), change(pod())), String(change)).to.equal(false);
    expect(jsonEqual({ a: 1 }, { b: 1 })).to.equal(false);
    expect(jsonEqual(null, {})).to.equal(false);
    expect(jsonEqual([], {})).to.equal(false);
    expect(jsonEqual({}, [])).to.equal(false);
  });

  it('copy: equal, shares nothing, and keeps key order', () => {
    const p = pod();
    const c = jsonCopy(p);
    expect(c).to.deep.equal(p);
    expect(JSON.stringify(c)).to.equal(JSON.stringify(p));
    c.metadata.labels.x = 'changed';
    c.spec.containers[0]!.command.push('more');
    expect(p).to.deep.equal(pod());
  });
});
