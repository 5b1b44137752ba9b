import { expect } from 'chai';
import { Expectations, slowStartBatch } from '../../../controllers/pod-creation.js';
import { mayHaveTakenEffect, ResponseLostError, TimeoutError, TooLargeResourceVersionError, UnavailableError, UnreachableError } from '../../../shared/errors.js';

describe('controllers: slow-start pod creation', () => {
  it('creates in doubling batches, one at a time: 1, 2, 4, 8, then the rest', async () => {
    const batches: number[][] = [];
    const res = await slowStartBatch(20, async (indexes) => {
      batches.push(indexes);
      await new Promise((r) => setImmediate(r));
      return indexes.map(() => ({ ok: true as const }));
    });
    expect(res).to.deep.equal({ succeeded: 20, skipped: 0, unsure: 0 });
    expect(batches.map((b) => b.length)).to.deep.equal([1, 2, 4, 8, 5]);
    expect(batches.flat()).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
  });

  it('stops after the first batch with a failure, reporting what it skipped', async () => {
    const called: number[] = [];
    const res = await slowStartBatch(100, async (indexes) => {
      called.push(...indexes);
      return indexes.map((i) => (i === 4 ? { ok: false as const, error: new Error('exceeded quota') } : { ok: true as const }));
    });
    // Batches 0 | 1-2 | 3-6: index 4 fails inside the third, whose other items are still created.
    expect(called).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    expect(res.succeeded).to.equal(6);
    expect(res.skipped).to.equal(93);
    expect(String(res.error)).to.contain('exceeded quota');
  });

  it('counts a batch that throws as failed in every item', async () => {
    const res = await slowStartBatch(10, async (indexes) => {
      if (indexes.length > 1) throw new Error('connection refused');
      return [{ ok: true as const }];
    });
    expect(res.succeeded).to.equal(1);
    expect(res.skipped).to.equal(7);
    expect(String(res.error)).to.contain('connection refused');
  });

  it('counts the items whose answer was lost, or answered 504, as unsure, not as failed', async () => {
    const res = await slowStartBatch(10, async (indexes) => {
      if (indexes.length === 1) return [{ ok: true as const }];
      return indexes.map((i) =>
        i === 1 ? { ok: false as const, error: new ResponseLostError('timed out') } : { ok: false as const, error: new TimeoutError('deadline passed') },
      );
    });
    expect(res).to.deep.include({ succeeded: 1, skipped: 7, unsure: 2 });
    // A refusal or a 503 is certain: nothing was created.
    const certain = await slowStartBatch(3, async (indexes) => indexes.map(() => ({ ok: false as const, error: new UnavailableError('etcd unavailable') })));
    expect(certain).to.deep.include({ succeeded: 0, skipped: 2, unsure: 0 });
    // A read's 504 (a resourceVersion not reached yet) is no write at all.
    expect(mayHaveTakenEffect(new TooLargeResourceVersionError('9', '5'))).to.equal(false);
    expect(mayHaveTakenEffect(new UnreachableError('connection refused'))).to.equal(false);
  });

  it('does nothing for zero', async () => {
    expect(await slowStartBatch(0, () => Promise.reject(new Error('called')))).to.deep.equal({ succeeded: 0, skipped: 0, unsure: 0 });
  });
});

describe('controllers: expectations', () => {
  it('holds an owner until its creates and deletes are observed', () => {
    const e = new Expectations();
    expect(e.satisfied('ns/a')).to.equal(true);
    e.expect('ns/a', 2, 1);
    expect(e.satisfied('ns/a')).to.equal(false);
    e.creationObserved('ns/a');
    e.creationObserved('ns/a');
    expect(e.satisfied('ns/a')).to.equal(false);
    e.deletionObserved('ns/a');
    expect(e.satisfied('ns/a')).to.equal(true);
    expect(e.satisfied('ns/b')).to.equal(true);
  });

  it('keeps creates whose answer was lost expected, until they are seen or the wait is over', () => {
    let now = 1000;
    const e = new Expectations(300_000, () => now, 10_000);
    e.expect('ns/a', 4, 0);
    // One created, one refused, one lost, one never tried.
    e.creationObserved('ns/a');
    e.failed('ns/a', 2, 0, 1);
    expect(e.satisfied('ns/a')).to.equal(false);
    e.creationObserved('ns/a');
    expect(e.satisfied('ns/a')).to.equal(true);

    // Never seen: given up on after the wait, not after the five-minute timeout.
    e.expect('ns/b', 2, 0);
    e.failed('ns/b', 0, 0, 2);
    now += 9_999;
    expect(e.satisfied('ns/b')).to.equal(false);
    expect(e.unsureFor('ns/b')).to.equal(1);
    now += 1;
    expect(e.satisfied('ns/b')).to.equal(true);
    expect(e.unsureFor('ns/a'), 'nothing unsure once met').to.equal(undefined);
    // A new round is not cut short by the old wait.
    e.expect('ns/a', 1, 0);
    now += 20_000;
    expect(e.satisfied('ns/a')).to.equal(false);
  });

  it('expires expectations that were never met', () => {
    let now = 1000;
    const e = new Expectations(5000, () => now);
    e.expect('ns/a', 3, 0);
    now += 4999;
    expect(e.satisfied('ns/a')).to.equal(false);
    now += 2;
    expect(e.satisfied('ns/a')).to.equal(true);
  });
});
