// HorizontalPodAutoscalers in the dashboard, in a real browser against a real API server on etcd:
// the Workloads page lists them with `kubectl get hpa`'s columns, and a Deployment's, ReplicaSet's
// and StatefulSet's detail shows the autoscaler scaling it, with its replicas and conditions. No
// controller runs: the test writes each autoscaler's status through the /status subresource, so
// TARGETS and conditions are exactly what it wrote. The page lists autoscalers every few seconds
// instead of watching them — a browser has six connections to the origin and the Workloads page
// already watches five — so the test checks that a new status shows within one poll interval, that
// the page opens no watch for them, that its watches keep delivering and another request is not
// kept waiting meanwhile, and that the asking pauses while the tab is hidden.
import { expect } from 'chai';
import type { Browser, Page } from 'puppeteer-core';
import { z } from 'zod';
import type { Deployment } from '../../shared/api/apps.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { AUTOSCALER_POLL_MS } from '../../dashboard/src/autoscaler-summary.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { metricValue } from '../schedulers/scheduler-process.js';
import { buildDashboardOnce } from './build.js';
import { describeViolations, launchBrowser, Screenshots, seriousA11yViolations, textOf, waitForText } from './browser.js';

const NS = 'shop';
const HPAS = { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers', namespace: NS } as const;
const DEPLOYMENTS = { group: 'apps', version: 'v1', resource: 'deployments', namespace: NS } as const;
/** A new status must show within one poll interval; the slack covers the request and a render on a busy machine. */
const WITHIN_A_POLL = AUTOSCALER_POLL_MS + 2500;
/** What a watch delivers takes well under a second; far less than a poll interval, so a poll cannot pass for it. */
const WATCH_DELIVERS = 3000;

const template = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '600'], resources: { requests: { cpu: '100m' } } }] },
});

const condition = (type: string, status: 'True' | 'False', reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: new Date().toISOString() });
const cpuAt = (pct: number) => [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: pct } } }];

describe('dashboard: HorizontalPodAutoscalers', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let admin: ApiClient;
  let browser: Browser;
  let page: Page;
  const shots = new Screenshots();

  const metrics = async () => api.server.metrics.registry.metrics();
  const watchers = async (resource?: string) => metricValue(await metrics(), 'apiserver_registered_watchers', resource ? { resource } : {});
  const autoscalerLists = async () => metricValue(await metrics(), 'apiserver_request_total', { verb: 'list', resource: 'horizontalpodautoscalers' });
  /** Waits (briefly: views hand watches over within a tick) for the watches the page holds, by resource. */
  const expectWatches = async (want: Record<string, number>) => {
    const deadline = Date.now() + 5000;
    const have = async () => Object.fromEntries(await Promise.all(Object.keys(want).map(async (r) => [r, await watchers(r)] as const)));
    let now = await have();
    while (JSON.stringify(now) !== JSON.stringify(want) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      now = await have();
    }
    expect(now, 'open watches by resource').to.deep.equal(want);
    expect(await watchers(), 'open watches in all').to.equal(Object.values(want).reduce((a, b) => a + b, 0));
  };
  const writeStatus = (name: string, status: Record<string, unknown>) => admin.patch({ ...HPAS, name, subresource: 'status' }, { status }, 'merge');
  /** Status, reason and message of one condition row, as the page shows them. */
  const conditionRow = async (scope: string, type: string) =>
    z.array(z.string()).parse(await page.evaluate(`[...document.querySelectorAll(${JSON.stringify(`${scope} tr[data-condition="${type}"] td`)})].map((td) => td.textContent)`));
  /** How long a request of the page's own takes to be answered now (a starved page never answers). */
  const otherRequestMs = async () =>
    z.number().parse(
      await page.evaluate(`(async () => {
        const started = performance.now();
        const res = await Promise.race([
          fetch('/api/v1/namespaces/${NS}', { headers: { Authorization: 'Bearer ' + sessionStorage.getItem('cell.dashboard.token') } }),
          new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 4 s: the page has no connection left')), 4000)),
        ]);
        if (!res.ok) throw new Error('status ' + res.status);
        return performance.now() - started;
      })()`),
    );
  const setHidden = (hidden: boolean) =>
    page.evaluate(
      hidden
        ? `Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }); document.dispatchEvent(new Event('visibilitychange'))`
        : `delete document.hidden; document.dispatchEvent(new Event('visibilitychange'))`,
    );

  before(async function () {
    this.timeout(120_000);
    buildDashboardOnce();
    [api, browser] = await Promise.all([startTestApiServer({ backend: 'etcd', auth: true }), launchBrowser()]);
    admin = api.client(TEST_TOKENS.admin);
    await admin.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await admin.create(DEPLOYMENTS, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: template('web') } });
    await admin.create(
      { ...DEPLOYMENTS, resource: 'statefulsets' },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 1, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: template('db') } },
    );
    await admin.create(HPAS, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 8 },
    });
    await admin.create(HPAS, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'db' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' }, maxReplicas: 3 },
    });
    await writeStatus('web', {
      currentReplicas: 3,
      desiredReplicas: 3,
      currentMetrics: cpuAt(45),
      conditions: [
        condition('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size'),
        condition('ScalingActive', 'True', 'ValidMetricFound', 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)'),
        condition('ScalingLimited', 'False', 'DesiredWithinRange', 'the desired count is within the acceptable range'),
      ],
    });
    page = await browser.newPage();
    // The server's CSP forbids inline scripts, and axe-core is added as one.
    await page.setBypassCSP(true);
    page.on('pageerror', (err) => console.log(`      page error: ${String(err)}`));
    console.log(`      screenshots: ${shots.dir}`);
    await page.goto(`${api.url}/ui/`);
    await page.evaluate(`sessionStorage.setItem('cell.dashboard.token', ${JSON.stringify(TEST_TOKENS.admin)})`);
    await page.goto(`${api.url}/ui/workloads`);
    await waitForText(page, '[data-testid=live]', /^live$/);
  });

  after(async () => {
    await browser?.close();
    await api?.close();
  });

  it("lists them on the Workloads page with kubectl get hpa's columns, without a watch of their own", async () => {
    const web = `tr[data-hpa="${NS}/web"]`;
    await waitForText(page, `${web} td.targets`, /^cpu: 45%\/80%$/);
    expect(await textOf(page, `${web} td.reference`)).to.equal('Deployment/web');
    expect(await page.$eval(`${web} td.reference a`, (a) => a.getAttribute('href'))).to.equal(`/ui/workloads/deployments/${NS}/web`);
    expect(await textOf(page, `${web} td.min-pods`)).to.equal('2');
    expect(await textOf(page, `${web} td.max-pods`)).to.equal('8');
    expect(await textOf(page, `${web} td.replicas`)).to.equal('3');
    // Never measured: kubectl's <unknown>, and the default target and minimum.
    const db = `tr[data-hpa="${NS}/db"]`;
    expect(await textOf(page, `${db} td.targets`)).to.equal('cpu: <unknown>/80%');
    expect(await textOf(page, `${db} td.reference`)).to.equal('StatefulSet/db');
    expect([await textOf(page, `${db} td.min-pods`), await textOf(page, `${db} td.max-pods`), await textOf(page, `${db} td.replicas`)]).to.deep.equal(['1', '3', '0']);
    expect(await textOf(page, '[data-testid=autoscaler-count]')).to.equal('2 autoscalers.');
    // The five watches the Workloads page held before it showed autoscalers, and no more.
    await expectWatches({ deployments: 1, daemonsets: 1, statefulsets: 1, jobs: 1, resourcequotas: 1, horizontalpodautoscalers: 0 });
    const vs = await seriousA11yViolations(page);
    expect(vs, `axe on workloads with autoscalers:\n${describeViolations(vs)}`).to.deep.equal([]);
    await shots.take(page, 'workloads-autoscalers');
  });

  it('shows a new status within one poll interval while the watches keep delivering and other requests get through', async () => {
    const web = `tr[data-hpa="${NS}/web"]`;
    await writeStatus('web', { currentReplicas: 4, desiredReplicas: 6, currentMetrics: cpuAt(95) });
    await waitForText(page, `${web} td.targets`, /^cpu: 95%\/80%$/, WITHIN_A_POLL);
    expect(await textOf(page, `${web} td.replicas`)).to.equal('4');
    // A new autoscaler shows up as soon, too.
    await admin.create(HPAS, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'late' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'late' }, maxReplicas: 2 } });
    await waitForText(page, `tr[data-hpa="${NS}/late"] td.reference`, /^Deployment\/late$/, WITHIN_A_POLL);
    await waitForText(page, '[data-testid=autoscaler-count]', /^3 autoscalers\.$/);

    // Meanwhile the page's watches deliver as before: a scaled Deployment and a new quota, at once.
    await admin.patch({ ...DEPLOYMENTS, name: 'web' }, { spec: { replicas: 5 } }, 'merge');
    await waitForText(page, `tr[data-deployment="${NS}/web"] td.ready`, /^0\/5$/, WATCH_DELIVERS);
    await admin.create({ resource: 'resourcequotas', namespace: NS }, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'compute' }, spec: { hard: { pods: '10' } } });
    await waitForText(page, `tr[data-quota="${NS}/compute"] li[data-resource=pods] .quota-resource`, /^pods$/, WATCH_DELIVERS);
    // And one more request of the page is answered at once: the five watches and the list leave it a connection.
    expect(await otherRequestMs(), 'ms for a request while the page watches five collections and lists autoscalers').to.be.below(2000);
    await expectWatches({ deployments: 1, daemonsets: 1, statefulsets: 1, jobs: 1, resourcequotas: 1, horizontalpodautoscalers: 0 });
  });

  it('stops listing them while the tab is hidden and lists them at once when it is shown', async () => {
    await setHidden(true);
    // An ask already out when the tab hid may still land.
    await new Promise((r) => setTimeout(r, 500));
    const before = await autoscalerLists();
    await new Promise((r) => setTimeout(r, AUTOSCALER_POLL_MS + 1500));
    expect(await autoscalerLists(), 'lists of autoscalers while hidden').to.equal(before);
    await setHidden(false);
    const deadline = Date.now() + 1500;
    while ((await autoscalerLists()) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await autoscalerLists(), 'a list as soon as the tab is shown').to.be.greaterThan(before);
  });

  it("shows on a Deployment's detail the autoscaler scaling it: its replicas and conditions, kept current", async () => {
    await page.click(`tr[data-deployment="${NS}/web"] a[aria-label^="Details"]`);
    await waitForText(page, 'main h1', new RegExp(`^Deployment ${NS}/web$`));
    expect(new URL(page.url()).pathname).to.equal(`/ui/workloads/deployments/${NS}/web`);
    const hpa = `[data-autoscaler="${NS}/web"]`;
    await waitForText(page, `${hpa} .targets`, /^cpu: 95%\/80%$/);
    expect(await textOf(page, `${hpa} .replicas`)).to.equal('4 current / 6 desired');
    expect(await textOf(page, `${hpa} .pods-range`)).to.equal('2 / 8');
    expect(await textOf(page, `${hpa} h3`)).to.equal('HorizontalPodAutoscaler web');
    expect(await conditionRow(hpa, 'AbleToScale')).to.deep.equal(['AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size']);
    expect(await conditionRow(hpa, 'ScalingActive')).to.deep.equal([
      'ScalingActive',
      'True',
      'ValidMetricFound',
      'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
    ]);
    expect(await conditionRow(hpa, 'ScalingLimited')).to.deep.equal(['ScalingLimited', 'False', 'DesiredWithinRange', 'the desired count is within the acceptable range']);
    expect(await textOf(page, '[data-count=Ready]')).to.equal('0/5');
    // The detail watches the Deployment and its ReplicaSets; the Workloads page's other watches are let go.
    await expectWatches({ deployments: 1, replicasets: 1, daemonsets: 0, statefulsets: 0, jobs: 0, resourcequotas: 0, horizontalpodautoscalers: 0 });

    await writeStatus('web', {
      currentReplicas: 4,
      desiredReplicas: 8,
      currentMetrics: cpuAt(180),
      conditions: [
        condition('AbleToScale', 'True', 'SucceededRescale', 'the HPA controller was able to update the target scale to 8'),
        condition('ScalingActive', 'True', 'ValidMetricFound', 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)'),
        condition('ScalingLimited', 'True', 'TooManyReplicas', 'the desired replica count is more than the maximum replica count'),
      ],
    });
    await waitForText(page, `${hpa} .replicas`, /^4 current \/ 8 desired$/, WITHIN_A_POLL);
    expect(await textOf(page, `${hpa} .targets`)).to.equal('cpu: 180%/80%');
    expect(await conditionRow(hpa, 'ScalingLimited')).to.deep.equal(['ScalingLimited', 'True', 'TooManyReplicas', 'the desired replica count is more than the maximum replica count']);
    expect(await conditionRow(hpa, 'AbleToScale')).to.deep.equal(['AbleToScale', 'True', 'SucceededRescale', 'the HPA controller was able to update the target scale to 8']);
    expect(await page.$eval(`${hpa} tr[data-condition=ScalingLimited] td:nth-child(2)`, (td) => td.className)).to.contain('tone-progress');

    // Its watches keep delivering: a ReplicaSet of the Deployment appears, and another request is answered.
    const d = await admin.get<Deployment>({ ...DEPLOYMENTS, name: 'web' });
    await admin.create({ ...DEPLOYMENTS, resource: 'replicasets' }, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-7c9f', labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }] },
      spec: { replicas: 5, selector: { matchLabels: { app: 'web' } }, template: template('web') },
    });
    await waitForText(page, `tr[data-replicaset="${NS}/web-7c9f"] td:first-child`, /^web-7c9f$/, WATCH_DELIVERS);
    expect(await otherRequestMs()).to.be.below(2000);
    const vs = await seriousA11yViolations(page);
    expect(vs, `axe on a Deployment's detail:\n${describeViolations(vs)}`).to.deep.equal([]);
    await shots.take(page, 'deployment-detail');

    // A ReplicaSet's detail: the autoscaler is its Deployment's, not its own.
    await page.click(`tr[data-replicaset="${NS}/web-7c9f"] a`);
    await waitForText(page, 'main h1', new RegExp(`^ReplicaSet ${NS}/web-7c9f$`));
    await waitForText(page, '[data-testid=scaled-by-state]', /^No autoscaler scales this ReplicaSet\.$/);
    expect(await page.$(`[data-autoscaler]`)).to.equal(null);
    expect(await page.$eval('[data-testid=workload-facts] a[href$="/deployments/shop/web"]', (a) => a.textContent)).to.equal('Deployment/web');
  });

  it("shows on a StatefulSet's detail an autoscaler not yet measured, from the Workloads page's REFERENCE link", async () => {
    await page.click('::-p-xpath(//nav//a[normalize-space(.)="Workloads"])');
    await waitForText(page, `tr[data-hpa="${NS}/db"] td.reference`, /^StatefulSet\/db$/);
    await page.click(`tr[data-hpa="${NS}/db"] td.reference a`);
    await waitForText(page, 'main h1', new RegExp(`^StatefulSet ${NS}/db$`));
    const hpa = `[data-autoscaler="${NS}/db"]`;
    await waitForText(page, `${hpa} .targets`, /^cpu: <unknown>\/80%$/);
    expect(await textOf(page, `${hpa} .replicas`)).to.equal('0 current / 0 desired');
    expect(await textOf(page, `${hpa} p`)).to.equal('No conditions yet.');
    await expectWatches({ deployments: 0, replicasets: 0, statefulsets: 1, horizontalpodautoscalers: 0 });
  });
});
