// Deleting a namespace deletes what is in it first (pods gracefully), then the namespace itself;
// the namespaces a cluster needs cannot be deleted.
import { expect } from 'chai';
import type { Pod } from '../../shared/api/core.js';
import { ForbiddenError, NotFoundError } from '../../shared/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { bind, createNamespace, nodeObject, podObject } from '../placement/fixtures.js';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('namespace lifecycle (etcd)', function () {
  this.timeout(60_000);
  let t: TestApiServer;
  before(async () => {
    t = await startTestApiServer({ backend: 'etcd' });
  });
  after(async () => t.close());

  it('refuses to delete default, kube-system and kube-node-lease', async () => {
    const client = t.client();
    for (const name of ['default', 'kube-system', 'kube-node-lease']) {
      try {
        await client.delete({ resource: 'namespaces', name });
        expect.fail(`${name} was deleted`);
      } catch (err) {
        expect(err).to.be.instanceOf(ForbiddenError);
      }
    }
  });

  it('empties a deleted namespace, waiting for bound pods to be confirmed, then removes it', async () => {
    const client = t.client();
    await createNamespace(client, 'doomed');
    await client.create({ resource: 'nodes' }, nodeObject('ns-node', '4'));
    await client.create({ namespace: 'doomed', resource: 'pods' }, podObject('loose', '100m'));
    await client.create({ namespace: 'doomed', resource: 'pods' }, podObject('bound', '100m'));
    await bind(client, 'doomed', 'bound', 'ns-node');

    const res = await client.delete<{ status: { phase: string } }>({ resource: 'namespaces', name: 'doomed' });
    expect(res.status.phase).to.equal('Terminating');
    // No new content in a terminating namespace.
    try {
      await client.create({ namespace: 'doomed', resource: 'pods' }, podObject('late', '100m'));
      expect.fail('created in a terminating namespace');
    } catch (err) {
      expect(err).to.be.instanceOf(ForbiddenError);
    }
    // The unbound pod goes at once; the bound one waits for its agent (here: the test) to confirm.
    // One sweep deletes them one after the other, so wait for both outcomes, not the first.
    await until('the unbound pod to go and the bound one to be marked for deletion', async () => {
      const pods = await client.list<{ items: Pod[] }>({ namespace: 'doomed', resource: 'pods' });
      return pods.items.length === 1 && pods.items[0]!.metadata.name === 'bound' && pods.items[0]!.metadata.deletionTimestamp !== undefined;
    });
    // The namespace stays, Terminating, while its bound pod waits for the agent to confirm.
    expect((await client.get<{ status: { phase: string } }>({ resource: 'namespaces', name: 'doomed' })).status.phase).to.equal('Terminating');
    await client.delete({ namespace: 'doomed', resource: 'pods', name: 'bound' }, { gracePeriodSeconds: 0 });
    await until('the namespace to go', async () => {
      try {
        await client.get({ resource: 'namespaces', name: 'doomed' });
        return false;
      } catch (err) {
        if (err instanceof NotFoundError) return true;
        throw err;
      }
    });
  });
});
