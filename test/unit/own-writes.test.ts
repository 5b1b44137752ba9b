// The own-write overlay: a write's object reused by its own watch event, read-your-writes until the
// watch cache has applied a commit, and a bound that evicts what the cache has applied, then the
// oldest — never everything at once.
import { expect } from 'chai';
import { OwnWrites } from '../../apiserver/registry/own-writes.js';
import type { KubeObject } from '../../apiserver/registry/object.js';
import { versionOf } from '../../apiserver/storage/resource-version.js';

function obj(name: string, data = 'x'): KubeObject {
  return { apiVersion: 'v1', kind: 'Thing', metadata: { name }, spec: { data } } as KubeObject;
}

describe('own writes', () => {
  let applied: number;
  let own: OwnWrites;
  beforeEach(() => {
    applied = 0;
    own = new OwnWrites(() => applied, 10);
  });

  it('hands the sent object to the watch event that brings its bytes back, once, at the event\'s version', () => {
    const a = obj('a');
    own.sending('/a', 'bytes-a', a);
    expect(own.watched('/a', 'other-bytes', versionOf(5, 0))).to.equal(undefined);
    const seen = own.watched('/a', 'bytes-a', versionOf(6, 2));
    expect(seen).to.deep.equal({ ...a, metadata: { ...a.metadata, resourceVersion: String(versionOf(6, 2)) } });
    expect(seen).to.not.equal(a);
    expect(a.metadata.resourceVersion).to.equal(undefined);
    expect(own.watched('/a', 'bytes-a', versionOf(7, 0))).to.equal(undefined);
    expect(own.size).to.equal(0);
  });

  it('gives the watch event of a write answered first the very object read-your-writes held', () => {
    const a = obj('a');
    own.sending('/a', 'bytes-a', a);
    const at = own.committed('/a', a, versionOf(8, 1));
    expect(own.watched('/a', 'bytes-a', versionOf(8, 1))).to.equal(at);
    // An event of another revision (a later write by someone else, with equal bytes) gets its own copy.
    own.sending('/b', 'bytes-b', obj('b'));
    const atB = own.committed('/b', obj('b'), versionOf(9, 0));
    const seen = own.watched('/b', 'bytes-b', versionOf(12, 0));
    expect(seen).to.not.equal(atB);
    expect(seen?.metadata.resourceVersion).to.equal(String(versionOf(12, 0)));
    expect(own.size).to.equal(0);
  });

  it('forgets a write that did not commit, and only that write', () => {
    own.sending('/a', 'first', obj('a', '1'));
    own.sending('/a', 'second', obj('a', '2'));
    own.notCommitted('/a', 'first'); // an older attempt's bytes: the newer write stays
    expect(own.watched('/a', 'second', versionOf(3, 0))).to.not.equal(undefined);
    own.sending('/b', 'b', obj('b'));
    own.notCommitted('/b', 'b');
    expect(own.watched('/b', 'b', versionOf(4, 0))).to.equal(undefined);
    expect(own.size).to.equal(0);
  });

  it('answers a commit until the cache has applied its revision, deletes included', () => {
    const at = own.committed('/a', obj('a'), versionOf(10, 1));
    expect(at?.metadata.resourceVersion).to.equal(String(versionOf(10, 1)));
    own.committed('/gone', undefined, versionOf(11, 0));
    expect(own.unapplied('/a')).to.deep.equal({ obj: at, modRevision: 10 });
    expect(own.unapplied('/gone')).to.deep.equal({ obj: undefined, modRevision: 11 });
    applied = 10;
    expect(own.unapplied('/a')).to.equal(undefined);
    expect(own.unapplied('/gone')).to.not.equal(undefined);
    applied = 11;
    expect(own.unapplied('/gone')).to.equal(undefined);
    expect(own.size).to.equal(0);
  });

  it('lets the watch event of a commit (or a later one) end its read-your-writes', () => {
    own.sending('/a', 'v1', obj('a', '1'));
    own.committed('/a', obj('a', '1'), versionOf(20, 0));
    // Another writer's later event for the key: the cache is about to hold something newer.
    expect(own.watched('/a', 'someone-else', versionOf(21, 0))).to.equal(undefined);
    expect(own.unapplied('/a')).to.equal(undefined);
    // The sent bytes may still come back (equal bytes are an equal object).
    expect(own.watched('/a', 'v1', versionOf(22, 0))).to.not.equal(undefined);
    expect(own.size).to.equal(0);
  });

  it('when full, drops what the cache has applied and keeps every commit it has not', () => {
    for (let i = 0; i < 10; i++) own.committed(`/k${i}`, obj(`k${i}`), versionOf(100 + i, 0));
    applied = 104; // k0..k4 are in the cache now
    own.committed('/new', obj('new'), versionOf(200, 0));
    expect(own.size).to.equal(6);
    for (let i = 5; i < 10; i++) expect(own.unapplied(`/k${i}`), `k${i}`).to.not.equal(undefined);
    expect(own.unapplied('/new')).to.not.equal(undefined);
  });

  it('when full of commits the cache has not applied, drops the oldest tenth, not everything', () => {
    for (let i = 0; i < 10; i++) own.committed(`/k${i}`, obj(`k${i}`), versionOf(100 + i, 0));
    own.committed('/k0', obj('k0', 'again'), versionOf(150, 0)); // rewritten: now the newest
    own.committed('/new', obj('new'), versionOf(200, 0));
    expect(own.size).to.equal(10);
    expect(own.unapplied('/k1'), 'the oldest').to.equal(undefined);
    for (const k of ['/k0', '/k2', '/k9', '/new']) expect(own.unapplied(k), k).to.not.equal(undefined);
  });
  it('counts the commits the cache has not applied, whichever way each one ends', () => {
    for (let i = 1; i <= 5; i++) own.committed(`/k${i}`, obj(`k${i}`), versionOf(10 + i, 0));
    own.committed('/k1', obj('k1', 'again'), versionOf(20, 0)); // one key, one entry
    expect(own.lag).to.equal(5);
    own.watched('/k2', 'bytes', versionOf(12, 0)); // its event
    applied = 13;
    expect(own.unapplied('/k3')).to.equal(undefined); // a read finds it applied
    own.committed('/k6', obj('k6'), versionOf(13, 0)); // answered after its event: never counted
    expect(own.lag).to.equal(3);
    applied = 20;
    own.reloaded(); // a re-list covers the rest
    expect(own.lag).to.equal(0);
    expect(own.size).to.equal(0);
  });

  it('makes writes wait while the cache lags the limit behind, and lets them go as it catches up', async () => {
    own = new OwnWrites(() => applied, 10, 3);
    for (let i = 1; i <= 2; i++) own.committed(`/k${i}`, obj(`k${i}`), versionOf(i, 0));
    expect(own.room(1_000), 'below the limit: no wait').to.equal(undefined);
    own.committed('/k3', obj('k3'), versionOf(3, 0));
    const waiting = [own.room(5_000), own.room(5_000)];
    expect(waiting.every((w) => w instanceof Promise)).to.equal(true);
    let woken = 0;
    for (const w of waiting) void w?.then(() => woken++);
    await new Promise((r) => setImmediate(r));
    expect(woken).to.equal(0);
    applied = 1;
    own.watched('/k1', undefined, versionOf(1, 0));
    expect(await Promise.all(waiting)).to.deep.equal([true, true]);
  });

  it('answers false when the cache has not caught up within the wait', async () => {
    own = new OwnWrites(() => applied, 10, 1);
    own.committed('/k1', obj('k1'), versionOf(1, 0));
    const started = Date.now();
    expect(await own.room(50)).to.equal(false);
    expect(Date.now() - started).to.be.at.least(45);
    // A limit of 0 is no limit.
    const unlimited = new OwnWrites(() => applied, 10, 0);
    unlimited.committed('/k1', obj('k1'), versionOf(1, 0));
    expect(unlimited.room(50)).to.equal(undefined);
  });
});
