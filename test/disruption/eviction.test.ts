// PodDisruptionBudgets and the pods/eviction subresource against a real API server on real etcd,
// over real HTTP: the disruption controller keeping budget status as pods come and go, and
// evictions that spend a budget in the same etcd transaction that marks the pod — checked on the
// store's own state, not only on the HTTP answers.
import { expect } from 'chai';
import type { Pod } from '../../shared/api/core.js';
import type { PodDisruptionBudget } from '../../shared/api/policy.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { BadRequestError, ForbiddenError, InvalidError, NotFoundError } from '../../shared/errors.js';
import { revisionOf } from '../../apiserver/storage/resource-version.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import {
  budgetManifest,
  counts,
  createBudget,
  createNode,
  getBudget,
  reportPhase,
  reportRunning,
  runningPod,
  sleep,
  startDisruptionServer,
  tryGetPod,
  waitForBudget,
} from './helpers.js';
import { ledgerPodNames } from '../placement/fixtures.js';

interface HttpAnswer {
  code: number;
  body: {
    kind?: string;
    status?: string;
    code?: number;
    reason?: string;
    message?: string;
    details?: { causes?: { reason?: string; message?: string; field?: string }[]; retryAfterSeconds?: number };
  };
}

describe('pod disruption budgets and evictions (etcd, HTTP)', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let client: ApiClient;
  let nsCounter = 0;

  /** POST an Eviction as a client would; the answer whatever its code. */
  async function evict(ns: string, name: string, body: unknown = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } }, query = ''): Promise<HttpAnswer> {
    const res = await fetch(`${api.url}/api/v1/namespaces/${ns}/pods/${name}/eviction${query}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { code: res.status, body: (await res.json()) as HttpAnswer['body'] };
  }

  /** A fresh namespace with a node and `n` running, ready pods labelled app=web. */
  async function setup(n: number, opts: { grace?: number } = {}): Promise<string> {
    const ns = `pdb-${++nsCounter}`;
    await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const node = `${ns}-node`;
    await createNode(client, node, { cpu: '100', memory: '100Gi', pods: '200' });
    await Promise.all(Array.from({ length: n }, (_, i) => runningPod(client, `web-${i}`, node, { namespace: ns, labels: { app: 'web' }, ...(opts.grace !== undefined ? { grace: opts.grace } : {}) })));
    return ns;
  }

  /** The pod and budget as etcd holds them, read in one store transaction. */
  async function stored(ns: string, pod: string, budget: string): Promise<{ pod: (Pod & { modRevision: number }) | undefined; budget: PodDisruptionBudget & { modRevision: number } }> {
    const pods = api.server.served('pods').rest.objects;
    const budgets = api.server.served('poddisruptionbudgets').rest.objects;
    const res = await api.store.txn({ compares: [], success: [{ type: 'get', key: pods.key(ns, pod) }, { type: 'get', key: budgets.key(ns, budget) }] });
    const [p, b] = res.reads;
    return {
      pod: p ? { ...(pods.decode(p.value, p.version) as unknown as Pod), modRevision: p.modRevision } : undefined,
      budget: { ...(budgets.decode(b!.value, b!.version) as unknown as PodDisruptionBudget), modRevision: b!.modRevision },
    };
  }

  before(async () => {
    api = await startDisruptionServer();
    client = api.client();
  });
  after(async () => api?.close());

  describe('budget status', () => {
    it('minAvailable as a count and a percentage follows pods as they come, turn ready, finish and go', async () => {
      const ns = await setup(3);
      await createBudget(client, 'count', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } }, ns);
      await createBudget(client, 'percent', { minAvailable: '50%', selector: { matchLabels: { app: 'web' } } }, ns);
      let b = await waitForBudget(client, 'count', (x) => x.status.expectedPods === 3, ns);
      expect(counts(b)).to.deep.equal({ expectedPods: 3, currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1 });
      expect(b.status.conditions?.find((c) => c.type === 'DisruptionAllowed')).to.include({ status: 'True', reason: 'SufficientPods' });
      b = await waitForBudget(client, 'percent', (x) => x.status.expectedPods === 3, ns);
      expect(counts(b)).to.deep.equal({ expectedPods: 3, currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1 });

      // A pod that is no longer ready stops counting as healthy.
      await reportRunning(client, ns, 'web-0', false);
      b = await waitForBudget(client, 'count', (x) => x.status.currentHealthy === 2, ns);
      expect(counts(b)).to.deep.equal({ expectedPods: 3, currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0 });
      expect(b.status.conditions?.find((c) => c.type === 'DisruptionAllowed')).to.include({ status: 'False', reason: 'InsufficientPods' });

      // Two more pods come: 5 expected, 50% of 5 rounds up to 3.
      await runningPod(client, 'web-3', `${ns}-node`, { namespace: ns, labels: { app: 'web' } });
      await runningPod(client, 'web-4', `${ns}-node`, { namespace: ns, labels: { app: 'web' } });
      b = await waitForBudget(client, 'percent', (x) => x.status.expectedPods === 5 && x.status.currentHealthy === 4, ns);
      expect(counts(b)).to.deep.equal({ expectedPods: 5, currentHealthy: 4, desiredHealthy: 3, disruptionsAllowed: 1 });

      // One finishes (no longer expected), one is deleted outright (gone).
      await reportPhase(client, ns, 'web-3', 'Succeeded');
      await client.delete({ resource: 'pods', namespace: ns, name: 'web-4' }, { gracePeriodSeconds: 0 });
      b = await waitForBudget(client, 'percent', (x) => x.status.expectedPods === 3, ns);
      expect(counts(b)).to.deep.equal({ expectedPods: 3, currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0 });
      // A pod of another app is no concern of these budgets, and a settled budget is not re-written.
      const settled = await getBudget(client, 'count', ns);
      await runningPod(client, 'db-0', `${ns}-node`, { namespace: ns, labels: { app: 'db' } });
      await sleep(500);
      const later = await getBudget(client, 'count', ns);
      expect(later.metadata.resourceVersion).to.equal(settled.metadata.resourceVersion);
      expect(counts(later).expectedPods).to.equal(3);
    });

    it('maxUnavailable as a count and a percentage; a spec change bumps the generation the status then observes', async () => {
      const ns = await setup(4);
      await createBudget(client, 'max', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } }, ns);
      let b = await waitForBudget(client, 'max', (x) => x.status.expectedPods === 4, ns);
      expect(counts(b)).to.deep.equal({ expectedPods: 4, currentHealthy: 4, desiredHealthy: 3, disruptionsAllowed: 1 });
      expect(b.status.observedGeneration).to.equal(1);
      await client.patch({ group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespace: ns, name: 'max' }, { spec: { maxUnavailable: '60%' } }, 'merge');
      // 60% of 4 = 2.4 → 3 may be unavailable → 1 must stay healthy.
      b = await waitForBudget(client, 'max', (x) => x.status.observedGeneration === 2, ns);
      expect(b.metadata.generation).to.equal(2);
      expect(counts(b)).to.deep.equal({ expectedPods: 4, currentHealthy: 4, desiredHealthy: 1, disruptionsAllowed: 3 });
    });

    it('malformed budgets are refused with 422 naming the field; a status sent by a client is replaced by the controller\'s', async () => {
      const ns = await setup(0);
      const ref = { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespace: ns };
      const refused = async (spec: unknown): Promise<string[]> => {
        try {
          await client.create(ref, budgetManifest('bad', spec as never, ns));
        } catch (err) {
          if (err instanceof InvalidError) return err.causes.map((c) => c.field);
          throw err;
        }
        throw new Error('a malformed budget was accepted');
      };
      expect(await refused({ minAvailable: 1, maxUnavailable: 1 })).to.deep.equal(['spec']);
      expect(await refused({ selector: {} })).to.deep.equal(['spec.minAvailable']);
      expect(await refused({ minAvailable: 'half' })).to.deep.equal(['spec.minAvailable']);
      expect(await refused({ maxUnavailable: '101%' })).to.deep.equal(['spec.maxUnavailable']);
      expect(await refused({ minAvailable: 1, selector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] } })).to.deep.equal(['spec.selector.matchExpressions[0].values']);
      // A status sent with the spec is dropped on create (the zero status, as Kubernetes stores),
      // and the controller computes its own at once.
      const created = await client.create<PodDisruptionBudget>(ref, { ...budgetManifest('ok', { minAvailable: 1, selector: {} }, ns), status: { disruptionsAllowed: 99, currentHealthy: 99 } });
      expect(counts(created)).to.deep.equal({ expectedPods: 0, currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0 });
      const ok = await waitForBudget(client, 'ok', (x) => x.status.disruptionsAllowed !== 99, ns);
      expect(counts(ok)).to.deep.equal({ expectedPods: 0, currentHealthy: 0, desiredHealthy: 1, disruptionsAllowed: 0 });
      // Main-resource writes leave the status alone; only the status subresource changes it.
      await client.patch({ ...ref, name: 'ok' }, { status: { disruptionsAllowed: 7 } }, 'merge');
      expect((await getBudget(client, 'ok', ns)).status.disruptionsAllowed).to.equal(0);
    });
  });

  describe('eviction', () => {
    it('allowed: 201, the pod marked for graceful deletion and the budget spent in the same store revision', async () => {
      const ns = await setup(3, { grace: 20 });
      await createBudget(client, 'web', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } }, ns);
      await waitForBudget(client, 'web', (x) => x.status.disruptionsAllowed === 1, ns);
      const r = await evict(ns, 'web-0');
      expect(r.code, JSON.stringify(r.body)).to.equal(201);
      expect(r.body).to.deep.include({ kind: 'Status', status: 'Success', code: 201 });
      const s = await stored(ns, 'web-0', 'web');
      expect(s.pod!.metadata.deletionTimestamp).to.be.a('string');
      expect(s.pod!.metadata.deletionGracePeriodSeconds).to.equal(20);
      const left = Date.parse(s.pod!.metadata.deletionTimestamp!) - Date.now();
      expect(left).to.be.within(15_000, 21_000);
      expect(s.budget.status.disruptedPods).to.have.property('web-0');
      expect(s.budget.status.disruptionsAllowed).to.equal(0);
      // One transaction: at the etcd revision that marked the pod, the budget was written too,
      // already spent (the controller may have re-written it since, from the spent state).
      const budgets = api.server.served('poddisruptionbudgets').rest.objects;
      const atMark = await api.store.list(budgets.keyPrefix(ns), { revision: s.pod!.modRevision });
      const spent = atMark.items.find((i) => i.key === budgets.key(ns, 'web'))!;
      expect(spent.modRevision).to.equal(s.pod!.modRevision);
      const spentBudget = budgets.decode(spent.value, spent.version) as unknown as PodDisruptionBudget;
      expect(spentBudget.status.disruptionsAllowed).to.equal(0);
      expect(Object.keys(spentBudget.status.disruptedPods ?? {})).to.deep.equal(['web-0']);
      expect(revisionOf(Number(s.pod!.metadata.resourceVersion))).to.equal(s.pod!.modRevision);
      // The controller settles on: web-0 terminating, so 2 healthy of 2 desired.
      const b = await waitForBudget(client, 'web', (x) => x.status.currentHealthy === 2, ns);
      expect(counts(b)).to.deep.equal({ expectedPods: 3, currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0 });
      expect(b.status.disruptedPods).to.have.property('web-0');
    });

    it('disallowed: 429 naming the budget, nothing written', async () => {
      const ns = await setup(2);
      await createBudget(client, 'tight', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } }, ns);
      await waitForBudget(client, 'tight', (x) => x.status.currentHealthy === 2, ns);
      const before = await stored(ns, 'web-1', 'tight');
      const r = await evict(ns, 'web-1');
      expect(r.code).to.equal(429);
      expect(r.body).to.deep.include({ kind: 'Status', status: 'Failure', reason: 'TooManyRequests', message: "Cannot evict pod as it would violate the pod's disruption budget." });
      expect(r.body.details?.causes).to.deep.equal([{ reason: 'DisruptionBudget', message: 'The disruption budget tight needs 2 healthy pods and has 2 currently', field: '' }]);
      const after = await stored(ns, 'web-1', 'tight');
      expect(after.pod!.modRevision).to.equal(before.pod!.modRevision);
      expect(after.budget.modRevision).to.equal(before.budget.modRevision);
      expect(after.pod!.metadata.deletionTimestamp).to.equal(undefined);
    });

    it('a budget whose status lags its spec (no controller has observed it) answers 429 "still being processed"', async () => {
      // A server of its own without the disruption controller: the budget's status never catches up.
      const bare = await startTestApiServer({ backend: 'etcd' });
      try {
        const c = bare.client();
        await createNode(c, 'n', { cpu: '4', memory: '4Gi', pods: '10' });
        await runningPod(c, 'web-0', 'n', { labels: { app: 'web' } });
        await createBudget(c, 'fresh', { maxUnavailable: '100%', selector: { matchLabels: { app: 'web' } } });
        const res = await fetch(`${bare.url}/api/v1/namespaces/default/pods/web-0/eviction`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-0' } }),
        });
        const body = (await res.json()) as HttpAnswer['body'];
        expect(res.status).to.equal(429);
        expect(res.headers.get('retry-after')).to.equal('10');
        expect(body.details?.causes).to.deep.equal([{ reason: 'DisruptionBudget', message: 'The disruption budget fresh is still being processed by the server.', field: '' }]);
        expect((await tryGetPod(c, 'web-0'))?.metadata.deletionTimestamp).to.equal(undefined);
      } finally {
        await bare.close();
      }
    });

    it('unbound, pending, finished and terminating pods are deleted without asking the budget', async () => {
      const ns = await setup(1);
      await createBudget(client, 'none', { maxUnavailable: 0, selector: { matchLabels: { app: 'web' } } }, ns);
      await waitForBudget(client, 'none', (x) => x.status.expectedPods === 1, ns);
      // Unbound (and Pending): deleted at once.
      await client.create({ resource: 'pods', namespace: ns }, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unbound', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
      expect((await evict(ns, 'unbound')).code).to.equal(201);
      expect(await tryGetPod(client, 'unbound', ns)).to.equal(undefined);
      // Finished.
      await runningPod(client, 'done', `${ns}-node`, { namespace: ns, labels: { app: 'web' } });
      await reportPhase(client, ns, 'done', 'Succeeded');
      expect((await evict(ns, 'done')).code).to.equal(201);
      expect(await tryGetPod(client, 'done', ns)).to.equal(undefined);
      // Bound but still Pending: a plain graceful delete.
      await runningPod(client, 'starting', `${ns}-node`, { namespace: ns, labels: { app: 'web' } });
      await client.patch({ resource: 'pods', namespace: ns, name: 'starting', subresource: 'status' }, { status: { phase: 'Pending', conditions: [] } }, 'merge');
      expect((await evict(ns, 'starting')).code).to.equal(201);
      expect((await tryGetPod(client, 'starting', ns))?.metadata.deletionTimestamp).to.be.a('string');
      // Already terminating: the eviction only shortens the grace period, as a delete would.
      await client.delete({ resource: 'pods', namespace: ns, name: 'web-0' });
      const r = await evict(ns, 'web-0', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-0' }, deleteOptions: { gracePeriodSeconds: 0 } });
      expect(r.code).to.equal(201);
      expect(await tryGetPod(client, 'web-0', ns)).to.equal(undefined);
      // The running pod the budget protects is still refused.
      await runningPod(client, 'kept', `${ns}-node`, { namespace: ns, labels: { app: 'web' } });
      await waitForBudget(client, 'none', (x) => x.status.currentHealthy === 1 && x.status.expectedPods === 2, ns);
      expect((await evict(ns, 'kept')).code).to.equal(429);
    });

    it('no budget: deleted; two budgets: 500 and nothing written', async () => {
      const ns = await setup(2);
      expect((await evict(ns, 'web-0')).code).to.equal(201);
      expect((await tryGetPod(client, 'web-0', ns))?.metadata.deletionTimestamp).to.be.a('string');
      await createBudget(client, 'one', { minAvailable: 0, selector: { matchLabels: { app: 'web' } } }, ns);
      await createBudget(client, 'two', { maxUnavailable: 1, selector: {} }, ns);
      await waitForBudget(client, 'two', (x) => x.status.expectedPods === 2, ns);
      const before = await stored(ns, 'web-1', 'one');
      const r = await evict(ns, 'web-1');
      expect(r.code).to.equal(500);
      expect(r.body.message).to.equal('Internal error occurred: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
      expect((await stored(ns, 'web-1', 'one')).pod!.modRevision).to.equal(before.pod!.modRevision);
    });

    it('dry run (query or deleteOptions) checks everything and writes nothing', async () => {
      const ns = await setup(2);
      await createBudget(client, 'dry', { minAvailable: 1, selector: { matchLabels: { app: 'web' } } }, ns);
      await waitForBudget(client, 'dry', (x) => x.status.disruptionsAllowed === 1, ns);
      const before = await stored(ns, 'web-0', 'dry');
      expect((await evict(ns, 'web-0', undefined, '?dryRun=All')).code).to.equal(201);
      expect((await evict(ns, 'web-0', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-0' }, deleteOptions: { dryRun: ['All'], gracePeriodSeconds: 0 } })).code).to.equal(201);
      const after = await stored(ns, 'web-0', 'dry');
      expect([after.pod!.modRevision, after.budget.modRevision]).to.deep.equal([before.pod!.modRevision, before.budget.modRevision]);
      // A dry run that the budget refuses is refused the same way.
      await reportRunning(client, ns, 'web-1', false);
      await waitForBudget(client, 'dry', (x) => x.status.disruptionsAllowed === 0, ns);
      expect((await evict(ns, 'web-0', undefined, '?dryRun=All')).code).to.equal(429);
    });

    it('a pod that is not ready may go while the budget is met (IfHealthyBudget), or always (AlwaysAllow), spending nothing', async () => {
      const ns = await setup(3);
      await createBudget(client, 'met', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } }, ns);
      await reportRunning(client, ns, 'web-2', false);
      await waitForBudget(client, 'met', (x) => x.status.currentHealthy === 2 && x.status.disruptionsAllowed === 0, ns);
      expect((await evict(ns, 'web-2')).code).to.equal(201);
      const s = await stored(ns, 'web-2', 'met');
      expect(s.pod!.metadata.deletionTimestamp).to.be.a('string');
      expect(s.budget.status.disruptedPods ?? {}).to.not.have.property('web-2');
      // Below the budget: a not-ready pod is refused under IfHealthyBudget, allowed under AlwaysAllow.
      await reportRunning(client, ns, 'web-1', false);
      await waitForBudget(client, 'met', (x) => x.status.currentHealthy === 1, ns);
      expect((await evict(ns, 'web-1')).code).to.equal(429);
      await client.patch({ group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespace: ns, name: 'met' }, { spec: { unhealthyPodEvictionPolicy: 'AlwaysAllow' } }, 'merge');
      await waitForBudget(client, 'met', (x) => x.status.observedGeneration === 2, ns);
      expect((await evict(ns, 'web-1')).code).to.equal(201);
      // The ready one is still protected.
      expect((await evict(ns, 'web-0')).code).to.equal(429);
    });

    it('bad requests: unknown pod 404, malformed body 400, names that differ 400, bad deleteOptions 422, preconditions 409', async () => {
      const ns = await setup(1);
      expect((await evict(ns, 'nope')).code).to.equal(404);
      expect((await evict(ns, 'web-0', '{"apiVersion": "policy/v1", ')).code).to.equal(400);
      expect((await evict(ns, 'web-0', { apiVersion: 'apps/v1', kind: 'Eviction', metadata: { name: 'web-0' } })).code).to.equal(400);
      const other = await evict(ns, 'web-0', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-9' } });
      expect(other.code).to.equal(400);
      expect(other.body.message).to.equal('name in URL does not match name in Eviction object');
      expect((await evict(ns, 'web-0', { apiVersion: 'policy/v1', kind: 'Eviction' })).code).to.equal(400);
      const grace = await evict(ns, 'web-0', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-0' }, deleteOptions: { gracePeriodSeconds: -1 } });
      expect(grace.code).to.equal(422);
      expect(grace.body.details?.causes?.[0]?.field).to.equal('deleteOptions.gracePeriodSeconds');
      const typed = await evict(ns, 'web-0', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-0' }, deleteOptions: { gracePeriodSeconds: 'soon' } });
      expect(typed.code).to.equal(422);
      // policy/v1beta1 is accepted; a uid precondition that does not hold is a 409 and writes nothing.
      await createBudget(client, 'b', { minAvailable: 0, selector: {} }, ns);
      await waitForBudget(client, 'b', (x) => x.status.disruptionsAllowed === 1, ns);
      const wrong = await evict(ns, 'web-0', { apiVersion: 'policy/v1beta1', kind: 'Eviction', metadata: { name: 'web-0' }, deleteOptions: { preconditions: { uid: 'not-the-uid' } } });
      expect(wrong.code).to.equal(409);
      expect((await tryGetPod(client, 'web-0', ns))?.metadata.deletionTimestamp).to.equal(undefined);
      const uid = (await tryGetPod(client, 'web-0', ns))!.metadata.uid;
      expect((await evict(ns, 'web-0', { apiVersion: 'policy/v1beta1', kind: 'Eviction', metadata: { name: 'web-0' }, deleteOptions: { preconditions: { uid } } })).code).to.equal(201);
      await expectErrorFromClient(client, ns);
    });

    it('gracePeriodSeconds=0: the pod is gone (allocation released) and the budget spent', async () => {
      const ns = await setup(2);
      await createBudget(client, 'zero', { minAvailable: 1, selector: { matchLabels: { app: 'web' } } }, ns);
      await waitForBudget(client, 'zero', (x) => x.status.disruptionsAllowed === 1, ns);
      const r = await evict(ns, 'web-0', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-0' }, deleteOptions: { gracePeriodSeconds: 0 } });
      expect(r.code).to.equal(201);
      expect(await tryGetPod(client, 'web-0', ns)).to.equal(undefined);
      expect(await ledgerPodNames(client, `${ns}-node`)).to.deep.equal(['web-1']);
      // Gone pods leave disruptedPods; the remaining one is the only healthy one.
      const b = await waitForBudget(client, 'zero', (x) => x.status.expectedPods === 1, ns);
      expect(b.status.disruptedPods).to.equal(undefined);
      expect(counts(b)).to.deep.equal({ expectedPods: 1, currentHealthy: 1, desiredHealthy: 1, disruptionsAllowed: 0 });
    });

    it('the race: 20 concurrent evictions under one allowed disruption — exactly one wins, every round', async () => {
      for (let round = 0; round < 4; round++) {
        const ns = await setup(21);
        await createBudget(client, 'race', { minAvailable: 20, selector: { matchLabels: { app: 'web' } } }, ns);
        await waitForBudget(client, 'race', (x) => x.status.disruptionsAllowed === 1 && x.status.currentHealthy === 21, ns);
        const names = Array.from({ length: 20 }, (_, i) => `web-${i}`);
        const answers = await Promise.all(names.map((n) => evict(ns, n)));
        const codes = answers.map((a) => a.code);
        expect(codes.filter((c) => c === 201), `round ${round}: ${codes.join(',')}`).to.have.length(1);
        expect(codes.filter((c) => c === 429), `round ${round}`).to.have.length(19);
        const winner = names[codes.indexOf(201)]!;
        // The store: exactly the winner is marked, and the budget shows it as the one disrupted pod.
        const pods = (await client.list<{ items: Pod[] }>({ resource: 'pods', namespace: ns })).items;
        expect(pods.filter((p) => p.metadata.deletionTimestamp).map((p) => p.metadata.name)).to.deep.equal([winner]);
        const s = await stored(ns, winner, 'race');
        expect(Object.keys(s.budget.status.disruptedPods ?? {})).to.deep.equal([winner]);
        expect(s.budget.status.disruptionsAllowed).to.equal(0);
        const settled = await waitForBudget(client, 'race', (x) => x.status.currentHealthy === 20, ns);
        expect(counts(settled)).to.deep.equal({ expectedPods: 21, currentHealthy: 20, desiredHealthy: 20, disruptionsAllowed: 0 });
      }
    });
  });
});

/** The typed client sees the refusals as the project's errors (cellctl and the schedulers use it). */
async function expectErrorFromClient(client: ApiClient, ns: string): Promise<void> {
  const ref = { resource: 'pods', namespace: ns, name: 'missing', subresource: 'eviction' };
  try {
    await client.create(ref, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'missing' } });
    expect.fail('evicting a missing pod succeeded');
  } catch (err) {
    expect(err).to.be.instanceOf(NotFoundError);
  }
  try {
    await client.create(ref, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'other' } });
    expect.fail('a mismatched name was accepted');
  } catch (err) {
    expect(err).to.be.instanceOf(BadRequestError);
  }
}

describe('pod disruption budgets and evictions under RBAC', function () {
  this.timeout(60_000);
  let api: TestApiServer;

  before(async () => {
    api = await startDisruptionServer({ auth: true, token: TEST_TOKENS.admin });
  });
  after(async () => api?.close());

  it('edit (bound in a namespace) manages budgets and evicts; view reads budgets but may not evict', async () => {
    const admin = api.client(TEST_TOKENS.admin);
    await admin.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    await admin.create(
      { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', namespace: 'team' },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'nobody-edits' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'nobody' }] },
    );
    await createNode(admin, 'rbac-node', { cpu: '4', memory: '4Gi', pods: '10' });
    await runningPod(admin, 'web-0', 'rbac-node', { namespace: 'team', labels: { app: 'web' } });
    const editor = api.client(TEST_TOKENS.nobody);
    const viewer = api.client(TEST_TOKENS.viewer);
    // RBAC's view catches up with the new binding shortly after it is written.
    await waitForAllowed(() => createBudget(editor, 'web', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } }, 'team'));
    expect((await getBudget(viewer, 'web', 'team')).spec.maxUnavailable).to.equal(1);
    const evict = (client: ApiClient) => client.create({ resource: 'pods', namespace: 'team', name: 'web-0', subresource: 'eviction' }, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-0' } });
    try {
      await evict(viewer);
      expect.fail('a viewer evicted a pod');
    } catch (err) {
      expect(err).to.be.instanceOf(ForbiddenError);
      expect((err as ForbiddenError).message).to.include('pods/eviction');
    }
    await waitForBudget(admin, 'web', (b) => b.status.disruptionsAllowed === 1, 'team');
    await evict(editor);
    expect((await tryGetPod(admin, 'web-0', 'team'))?.metadata.deletionTimestamp).to.be.a('string');
  });
});

async function waitForAllowed<T>(fn: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ForbiddenError) || Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}
