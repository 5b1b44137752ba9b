// Tests run with frozen caches (test/harness/freeze-caches.ts): an object in a cache cannot change.
import { expect } from 'chai';
import { cachesFrozen, guardCached } from '../../shared/cache-mutation-guard.js';

describe('cache mutation guard', () => {
  it('is on in tests, and freezes an object to its leaves', () => {
    expect(cachesFrozen()).to.equal(true);
    const pod = guardCached({ metadata: { name: 'p', labels: { app: 'a' } }, spec: { containers: [{ name: 'c' }] } });
    expect(() => {
      pod.metadata.labels.app = 'b';
    }).to.throw(TypeError);
    expect(() => {
      pod.spec.containers.push({ name: 'd' });
    }).to.throw(TypeError);
    expect(() => {
      pod.spec.containers[0]!.name = 'x';
    }).to.throw(TypeError);
    expect(pod.metadata.labels.app).to.equal('a');
  });
});
