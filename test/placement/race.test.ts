// The heart of cell: many binders racing for the same nodes never over-commit one. 400 pods of
// 250m onto 20 nodes of 2 cpu (room for exactly 160), 32 concurrent binders picking random nodes,
// each pod trying up to 3 nodes — repeated for many rounds, on real etcd and on the memory store.
import { expect } from 'chai';
import { ConflictError } from '../../shared/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { seededRandom } from '../harness/random.js';
import { audit, bind, createNamespace, listPods, nodeObject, podObject, pool } from './fixtures.js';

const NODES = 20;
const PODS = 400;
const BINDERS = 32;
const CAPACITY = NODES * 8; // 2 cpu / 250m

interface RoundResult {
  bound: number;
  conflicts: number;
  conflictMessages: string[];
}

async function round(t: TestApiServer, r: number, coarse: boolean): Promise<RoundResult> {
  const client = t.client();
  const ns = `race-${coarse ? 'coarse' : 'fine'}-${r}`;
  await createNamespace(client, ns);
  const nodes = Array.from({ length: NODES }, (_, i) => `${ns}-n${i}`);
  await pool(NODES, 8, (i) => client.create({ resource: 'nodes' }, nodeObject(nodes[i]!, '2')).then(() => undefined));
  await pool(PODS, 32, (i) => client.create({ namespace: ns, resource: 'pods' }, podObject(`p${i}`, '250m')).then(() => undefined));

  const random = seededRandom(1000 + r);
  let bound = 0;
  let conflicts = 0;
  const conflictMessages: string[] = [];
  await pool(PODS, BINDERS, async (i) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const node = nodes[Math.floor(random() * NODES)]!;
      try {
        let rv: string | undefined;
        if (coarse) {
          const alloc = await client.get<{ metadata: { resourceVersion: string } }>({
            group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations', name: node,
          });
          rv = alloc.metadata.resourceVersion;
        }
        await bind(client, ns, `p${i}`, node, rv);
        bound++;
        return;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        conflicts++;
        if (conflictMessages.length < 5) conflictMessages.push(err.message);
      }
    }
  });

  // Invariants: exactly the capacity bound when it is contended this hard, no node over its
  // allocatable, every pod bound at most once, and the ledger exact (the audit).
  const pods = await listPods(client, ns);
  const perNode = new Map<string, number>();
  for (const p of pods) {
    if (p.spec.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
  }
  const boundPods = pods.filter((p) => p.spec.nodeName).length;
  expect(boundPods, 'bound pods seen in the store').to.equal(bound);
  for (const [node, n] of perNode) expect(n, `pods on ${node}`).to.be.at.most(8);
  const report = await audit(client);
  expect(report.violations, JSON.stringify(report.violations.slice(0, 3))).to.deep.equal([]);
  return { bound, conflicts, conflictMessages };
}

for (const backend of ['etcd', 'memory'] as const) {
  describe(`placement race (${backend})`, function () {
    this.timeout(300_000);
    let t: TestApiServer;
    before(async () => {
      t = await startTestApiServer({ backend });
    });
    after(async () => {
      await t.close();
    });

    const rounds = backend === 'etcd' ? 20 : 10;
    it(`never over-commits: ${rounds} rounds of ${BINDERS} binders, ${PODS} pods, room for ${CAPACITY}`, async () => {
      for (let r = 0; r < rounds; r++) {
        const res = await round(t, r, false);
        // 240 surplus pods × 3 random tries leave a free slot unpicked with odds of about e^-37.
        expect(res.bound, `round ${r}`).to.equal(CAPACITY);
        for (const m of res.conflictMessages) expect(m).to.match(/insufficient cpu: requested 250m, free (0|[0-9]+m)|too many pods/);
        expect(res.conflicts).to.be.greaterThan(0);
      }
    });

    it('coarse-grained detection reports more conflicts than fine-grained', async () => {
      const fine = await round(t, 100, false);
      const coarse = await round(t, 101, true);
      expect(coarse.bound).to.be.at.most(CAPACITY);
      expect(coarse.conflicts, `coarse ${coarse.conflicts} vs fine ${fine.conflicts}`).to.be.greaterThan(fine.conflicts);
      // Coarse conflicts include "allocation changed" refusals that fine mode resolves server-side.
      expect(coarse.conflictMessages.join('\n') + fine.conflictMessages.join('\n')).to.not.equal('');
    });
  });
}
