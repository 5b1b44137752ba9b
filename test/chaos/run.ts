// `npm run test:chaos` (the full form): node --import tsx test/chaos/run.ts [--seed=N] [--pods=N]
// [--duration=SECONDS] [--hollow-nodes=N] [--faults=N] [--tenant-rounds=N] [--verbose]. Prints the
// closing note on stdout and exits 1 on any violation. --tenant-rounds: rounds of queued Jobs the
// queue tenants submit (default one per minute of the window; 0: no tenants).
import { parseArgs } from 'node:util';
import { runChaos } from './runner.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: process.env.CELL_CHAOS_SEED ?? String(Date.now() % 100_000) },
    pods: { type: 'string', default: '5000' },
    duration: { type: 'string', default: '300' },
    'hollow-nodes': { type: 'string', default: '100' },
    faults: { type: 'string' },
    'tenant-rounds': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
  strict: true,
});
const int = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`chaos: --${name} must be a non-negative integer, not "${v}"`);
    process.exit(2);
  }
  return n;
};

let result: Awaited<ReturnType<typeof runChaos>>;
try {
  result = await runChaos({
    seed: int('seed', values.seed),
    pods: int('pods', values.pods),
    durationMs: int('duration', values.duration) * 1000,
    hollowNodes: int('hollow-nodes', values['hollow-nodes']),
    ...(values.faults !== undefined ? { faults: int('faults', values.faults) } : {}),
    ...(values['tenant-rounds'] !== undefined ? { tenants: { rounds: int('tenant-rounds', values['tenant-rounds']) } } : {}),
    verbose: values.verbose,
  });
} catch (err) {
  // The runner failed itself (not an invariant): it has stopped the cluster already.
  console.error(`chaos: the run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(2);
}
console.log(result.report);
process.exit(result.ok ? 0 : 1);
