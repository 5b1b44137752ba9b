import { expect } from 'chai';
import { WorkQueue } from '../../../controllers/work-queue.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('controllers: work queue', () => {
  it('runs a key added many times while queued once', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({ sync: async (k) => void seen.push(k), workers: 1 });
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    q.start();
    await tick(10);
    await q.stop();
    expect(seen).to.deep.equal(['a', 'b']);
  });

  it('never runs one key on two workers, and reruns a key added during its run', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    let release: (() => void) | undefined;
    const q = new WorkQueue({
      workers: 4,
      sync: async () => {
        runs++;
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        if (runs === 1) await new Promise<void>((r) => (release = r));
        concurrent--;
      },
    });
    q.start();
    q.add('k');
    await tick(5);
    q.add('k'); // during the first run: must not start a second one now
    q.add('k');
    await tick(5);
    expect(runs).to.equal(1);
    release?.();
    await tick(10);
    await q.stop();
    expect(runs).to.equal(2);
    expect(maxConcurrent).to.equal(1);
  });

  it('addAfter: of two delays for a key the earlier wins; one past what a timer holds does not fire at once', async () => {
    const seen: [string, number][] = [];
    const t0 = Date.now();
    const q = new WorkQueue({ sync: async (k) => void seen.push([k, Date.now() - t0]), workers: 1 });
    q.start();
    q.addAfter('late-then-early', 10_000);
    q.addAfter('late-then-early', 30);
    q.addAfter('early-then-late', 30);
    q.addAfter('early-then-late', 10_000);
    // 30 days: a plain setTimeout would take it for 1 ms.
    q.addAfter('far', 30 * 24 * 3600_000);
    await tick(150);
    await q.stop();
    expect(seen.map(([k]) => k).sort()).to.deep.equal(['early-then-late', 'late-then-early']);
    for (const [, ms] of seen) expect(ms).to.be.at.least(25);
  });

  it('a stopped queue sets no timer: a late addAfter neither runs nor keeps the process alive', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({ sync: async (k) => void seen.push(k), workers: 1 });
    q.start();
    await q.stop();
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    q.addAfter('late', 600_000);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).to.equal(before);
    q.addAfter('now', 0);
    await tick(10);
    expect(seen).to.deep.equal([]);
  });

  it('retries a failing key with growing delays and forgets the failures once it succeeds', async () => {
    const at: number[] = [];
    const q = new WorkQueue({
      workers: 1,
      backoff: { initialMs: 10, maxMs: 1000, jitter: 0 },
      sync: async () => {
        at.push(performance.now());
        if (at.length < 4) throw new Error('conflict');
      },
    });
    q.start();
    q.add('k');
    // However slow the machine: wait for the fourth attempt, not for a fixed time.
    while (at.length < 4) await tick(5);
    await tick(20);
    await q.stop();
    expect(at).to.have.length(4);
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    // 10, 20, 40 ms: a timer never fires early (1 ms of slack for the clocks' rounding).
    expect(gaps[0]).to.be.at.least(9);
    expect(gaps[1]).to.be.at.least(19);
    expect(gaps[2]).to.be.at.least(39);
    expect(q.retries('k')).to.equal(0);
  });
});
