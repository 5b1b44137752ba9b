// The short form of the chaos run, for CI (`npm test`): the same runner with a smaller workload —
// every fault kind still happens once, the etcd leader kill included, a controller-manager-kill
// meets a rolling update and a Job under way, and the queue tenants play one round (tenants.ts).
// The seed is CELL_CHAOS_SEED or a fixed one, so a failure reproduces; `npm run test:chaos` is the
// full form.
import { expect } from 'chai';
import { runChaos } from './runner.js';

describe('chaos (short form)', function () {
  this.timeout(400_000);

  it('keeps every invariant, no queue over quota included, while etcd members, API servers, the controller manager, schedulers and agents are killed, paused and cut off', async () => {
    const seed = Number(process.env.CELL_CHAOS_SEED ?? 4242);
    const result = await runChaos({ seed, pods: 600, durationMs: 60_000, hollowNodes: 20, realPods: 4, faults: 10, settleMs: 60_000,
      // Fewer, smaller Deployments and Jobs than the full form, to stay within the CI time.
      controllers: { deployments: 2, replicas: 3, daemonSets: 1, statefulSets: 1, jobs: 2, completions: 4, parallelism: 2 },
      log: () => undefined });
    console.log(result.report);
    expect(result.summary.violations.map((v) => `[${v.invariant}] ${v.message}`), result.report).to.deep.equal([]);
  });
});
