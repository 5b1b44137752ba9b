// The leader elector's renew deadline holds even when the lease store stops answering: a leader
// whose renewal hangs steps down at the deadline, not when the call finally returns — by then
// another replica may have taken the expired lease. (With the API: test/controllers/manager.test.ts.)
import { expect } from 'chai';
import { LeaderElector, type LeaseBackend, type LeaseState } from '../../shared/leader-election.js';

/** A lease kept in memory whose calls can be made to hang. */
class HangingBackend implements LeaseBackend {
  lease: { spec: LeaseState; resourceVersion: string } | undefined;
  private version = 0;
  hang = false;

  private gate(): Promise<void> {
    return this.hang ? new Promise<void>(() => undefined) : Promise.resolve();
  }

  async get() {
    await this.gate();
    return this.lease;
  }

  async create(spec: LeaseState) {
    await this.gate();
    this.lease = { spec, resourceVersion: String(++this.version) };
  }

  async update(spec: LeaseState) {
    await this.gate();
    this.lease = { spec, resourceVersion: String(++this.version) };
  }
}

describe('leader election', () => {
  it('a leader whose renewal hangs steps down at its renew deadline, before its lease can expire', async () => {
    const backend = new HangingBackend();
    const events: { what: string; at: number }[] = [];
    const elector = new LeaderElector(backend, {
      identity: 'a',
      leaseDurationMs: 1_500,
      renewDeadlineMs: 600,
      retryPeriodMs: 100,
      onStartedLeading: () => events.push({ what: 'started', at: Date.now() }),
      onStoppedLeading: () => events.push({ what: 'stopped', at: Date.now() }),
    });
    const running = elector.run();
    try {
      const deadline = Date.now() + 5_000;
      while (!elector.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(elector.isLeader).to.equal(true);
      // Renewing for a while, then the store goes silent.
      await new Promise((r) => setTimeout(r, 300));
      const lastRenewal = Date.parse(backend.lease?.spec.renewTime ?? '');
      backend.hang = true;
      while (elector.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const stopped = events.find((e) => e.what === 'stopped');
      expect(stopped, 'stepped down').to.not.equal(undefined);
      // At the renew deadline after its last renewal (600 ms), well before the lease (1,500 ms) lapses.
      expect(stopped!.at - lastRenewal).to.be.within(500, 1_200);
    } finally {
      void elector.stop();
      backend.hang = false;
      void running;
    }
  });
});
