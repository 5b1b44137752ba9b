// The own-write overlay holds a written object only until the watch cache has it: a commit whose
// event was applied first, a delete's event, and a re-list each end an entry at once.
import { expect } from 'chai';
import { OwnWrites } from '../../apiserver/registry/own-writes.js';
import type { KubeObject } from '../../apiserver/registry/object.js';
import { versionOf } from '../../apiserver/storage/resource-version.js';

function obj(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Thing', metadata: { name }, spec: {} } as KubeObject;
}

describe('own writes: nothing kept once the cache has it', () => {
  let applied: number;
  let own: OwnWrites;
  beforeEach(() => {
    applied = 0;
    own = new OwnWrites(() => applied, 100);
  });

  it('keeps nothing for a commit whose event the cache applied before the answer came', () => {
    own.sending('/a', 'bytes', obj('a'));
    expect(own.watched('/a', 'bytes', versionOf(5, 0))).to.not.equal(undefined);
    applied = 5;
    const at = own.committed('/a', obj('a'), versionOf(5, 0));
    expect(at?.metadata.resourceVersion).to.equal(String(versionOf(5, 0)));
    expect(own.size).to.equal(0);
    expect(own.unapplied('/a')).to.equal(undefined);
  });

  it('lets a delete\'s event end the committed delete', () => {
    own.committed('/a', undefined, versionOf(7, 0));
    expect(own.unapplied('/a')).to.deep.equal({ obj: undefined, modRevision: 7 });
    expect(own.watched('/a', undefined, versionOf(7, 0))).to.equal(undefined);
    expect(own.size).to.equal(0);
  });

  it('ends the commits a re-list covers, and keeps later ones and writes in flight', () => {
    own.committed('/old', obj('old'), versionOf(10, 0));
    own.committed('/new', obj('new'), versionOf(20, 0));
    own.sending('/flying', 'bytes', obj('flying'));
    applied = 15;
    own.reloaded();
    expect(own.size).to.equal(2);
    expect(own.unapplied('/new')?.modRevision).to.equal(20);
    expect(own.watched('/flying', 'bytes', versionOf(21, 0))).to.not.equal(undefined);
  });

  it('keeps the later of two commits to one key whatever order their answers come in', () => {
    own.committed('/a', obj('a'), versionOf(30, 0));
    own.committed('/a', obj('a'), versionOf(29, 0));
    expect(own.unapplied('/a')?.modRevision).to.equal(30);
  });
});
