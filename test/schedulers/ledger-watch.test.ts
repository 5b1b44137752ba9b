// The schedulers read node ledgers off the watch without parsing their pod lists
// (schedulers/cache/ledger-line.ts). That is only fast if the API server lays ledgers out as the
// decoder expects: here every ledger line a real server (on etcd) sends through bindings, host
// ports and a release takes the fast path and decodes to exactly what JSON.parse gives.
import { expect } from 'chai';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import type { WatchEvent } from '../../shared/client/http-client.js';
import { ledgerPods, parseLedgerWatchLine } from '../../schedulers/cache/ledger-line.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { bind, createNamespace, nodeObject, podObject } from '../placement/fixtures.js';
import { waitFor } from './helpers.js';

describe('scheduler: ledger lines from a real API server', function () {
  this.timeout(60_000);
  const ns = 'ledger-lines';
  let api: TestApiServer;

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    await createNamespace(api.client(), ns);
  });
  after(async () => api?.close());

  it('decodes every ledger event on the fast path, equal to the whole parse, with the listed uids', async () => {
    const client = api.client();
    const ref = { group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations' };
    const list = await client.list<{ metadata: { resourceVersion?: string } }>(ref);
    const seen: { line: string; event: WatchEvent<NodeAllocation> }[] = [];
    const stop = new AbortController();
    const watching = client.watch<NodeAllocation>(ref, { resourceVersion: list.metadata.resourceVersion ?? '' }, () => undefined, stop.signal, {
      parse: (line) => {
        const event = parseLedgerWatchLine(line);
        seen.push({ line, event });
        return event;
      },
    });

    await client.create({ resource: 'nodes' }, nodeObject('ll-node', '8'));
    const uids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const pod = await client.create<{ metadata: { uid?: string } }>({ namespace: ns, resource: 'pods' }, podObject(`p${i}`, '100m', i % 2 === 0 ? { hostPort: 9000 + i } : {}));
      uids.push(pod.metadata.uid ?? '');
      await bind(client, ns, `p${i}`, 'll-node');
    }
    await client.delete({ namespace: ns, resource: 'pods', name: 'p1' }, { gracePeriodSeconds: 0 });
    // The last ledger lists every pod but p1.
    const last = () => seen.filter((s) => s.event.type !== 'BOOKMARK').at(-1)?.event.object;
    await waitFor('the ledger to release p1', async () => last()?.spec.pods.length === 5 && !ledgerPods(last()!).has(uids[1]!));
    stop.abort();
    await watching;

    const ledgerEvents = seen.filter((s) => s.event.type !== 'BOOKMARK');
    expect(ledgerEvents.length).to.be.at.least(7);
    for (const { line, event } of ledgerEvents) {
      expect(Object.getOwnPropertyDescriptor(event.object.spec, 'pods')?.get, `${event.type} ${line.slice(0, 120)}…`).to.be.a('function');
      expect(event).to.deep.equal(JSON.parse(line));
      const listed = ledgerPods(event.object);
      for (const uid of uids) expect(listed.has(uid)).to.equal(event.object.spec.pods.some((p) => p.uid === uid));
    }
    expect(last()!.spec.hostPorts.map((h) => h.port).sort()).to.deep.equal([9000, 9002, 9004]);
  });
});
