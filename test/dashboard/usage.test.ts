// When the node page asks the metrics API again (dashboard/src/usage-asks.ts, which usage.ts
// polls by): every 10 s, sooner while a running pod it shows has no figure yet — backing off, so
// a pod that never gets one costs a few asks per visit — and which pods those are. The browser
// suite (ui.test.ts) checks that the page does ask on this schedule.
import { expect } from 'chai';
import { lacksFigure, nextAskDelay, podUsageKey, REFRESH_MS } from '../../dashboard/src/usage-asks.js';

/** The delays a page visit asks with while `waiting` stays as given, counting its soon asks as usePolled does. */
function delays(waiting: boolean, asks: number): number[] {
  const out: number[] = [];
  let soon = 0;
  for (let i = 0; i < asks; i++) {
    out.push(nextAskDelay(waiting, soon));
    if (waiting) soon++;
  }
  return out;
}

describe('dashboard usage: when to ask the metrics API again', () => {
  it('asks every 10 s while every running pod shown has a figure', () => {
    expect(REFRESH_MS).to.equal(10_000);
    expect(delays(false, 4)).to.deep.equal([10_000, 10_000, 10_000, 10_000]);
  });

  it('asks again in 2 s while one has none, backing off to 4 s, 8 s, then every 10 s', () => {
    expect(delays(true, 6)).to.deep.equal([2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
  });

  it('spends the soon asks once per visit: a pod that starts later waits for what is left of them', () => {
    // Two soon asks spent on one pod; a second one starts waiting: one 8 s ask left, then 10 s.
    expect(nextAskDelay(true, 2)).to.equal(8_000);
    expect(nextAskDelay(true, 3)).to.equal(REFRESH_MS);
    expect(nextAskDelay(false, 0)).to.equal(REFRESH_MS);
  });

  it('never asks more often than every 2 s, nor less often than every 10 s', () => {
    for (let soon = 0; soon < 20; soon++) {
      for (const waiting of [true, false]) {
        expect(nextAskDelay(waiting, soon)).to.be.within(2_000, REFRESH_MS);
      }
    }
  });
});

describe('dashboard usage: which running pods lack a figure', () => {
  const figure = { cpu: 0.01, memory: 1 << 20 };

  it('keys a pod and its PodMetrics alike, by namespace/name (PodMetrics carries no uid)', () => {
    const pod = { namespace: 'default', name: 'talker', uid: '3f1c' };
    const podMetrics = { namespace: 'default', name: 'talker' };
    expect(podUsageKey(pod)).to.equal(podUsageKey(podMetrics));
    expect(podUsageKey(pod)).to.equal('default/talker');
    expect(podUsageKey({ namespace: 'other', name: 'talker' })).to.not.equal(podUsageKey(pod));
  });

  it('is waiting while any running pod shown has no figure, and not once all do (or none run)', () => {
    const figures = new Map([['default/talker', figure]]);
    expect(lacksFigure(['default/talker'], figures)).to.equal(false);
    expect(lacksFigure(['default/talker', 'default/fresh'], figures)).to.equal(true);
    expect(lacksFigure([], figures)).to.equal(false);
    expect(lacksFigure([], new Map())).to.equal(false);
    expect(lacksFigure(['default/talker'], new Map())).to.equal(true);
  });
});
