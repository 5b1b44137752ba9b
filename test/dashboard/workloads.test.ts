// The Workloads page in a real browser against a real cluster with the controllers running: a
// Deployment, a DaemonSet, a StatefulSet, a Job and a ResourceQuota created with real kubectl show up live, their counts go to
// ready / complete, a Deployment that cannot progress says so, a Job whose outcome is decided reads
// Completing or Failing until its last pod is gone, and a workload's name opens the Pods view
// narrowed to its pods — with an axe-core check on the page.
import { expect } from 'chai';
import type { Browser, Page } from 'puppeteer-core';
import { z } from 'zod';
import type { Pod } from '../../shared/api/core.js';
import type { Job } from '../../shared/api/batch.js';
import { TEST_TOKENS } from '../harness/apiserver.js';
import { waitFor } from '../clients/helpers.js';
import { metricValue } from '../schedulers/scheduler-process.js';
import { buildDashboardOnce } from './build.js';
import { describeViolations, launchBrowser, Screenshots, seriousA11yViolations, waitForText } from './browser.js';
import { startDashboardCluster, type DashboardCluster } from './cluster.js';

const NS = 'shop';

const podSpec = (cpu: string) => ({
  terminationGracePeriodSeconds: 1,
  containers: [{ name: 'main', image: 'busybox', command: ['sleep', '600'], resources: { requests: { cpu, memory: '16Mi' } } }],
});

const manifests = {
  kind: 'List',
  apiVersion: 'v1',
  items: [
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'compute', namespace: NS }, spec: { hard: { pods: '10', 'requests.cpu': '2' } } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: NS },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec('100m') } },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'crunch', namespace: NS },
      spec: {
        completions: 2,
        parallelism: 2,
        // Hollow pods succeed this long after they start.
        template: { metadata: { annotations: { 'cell.dev/run-seconds': '1' } }, spec: { ...podSpec('100m'), restartPolicy: 'Never' } },
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'logs', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'logs' } }, template: { metadata: { labels: { app: 'logs' } }, spec: podSpec('10m') } },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'default' },
      spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: podSpec('10m') } },
    },
    {
      // Fits no node: its rollout cannot progress and the deadline (1 s) passes.
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'stuck', namespace: 'default' },
      spec: { replicas: 1, progressDeadlineSeconds: 1, selector: { matchLabels: { app: 'stuck' } }, template: { metadata: { labels: { app: 'stuck' } }, spec: podSpec('500') } },
    },
  ],
};

// Two Jobs of two pods that run until stopped, decided while one pod of each is still running:
// the test plays the node and ends the other pod (Succeeded: the success policy is met; Failed:
// past backoffLimit 0). The controller then deletes the running pod, and a finalizer of the test
// keeps it until the test lets it go — only then may the Job be Complete or Failed.
const DECIDED = 'decided';
const HOLD = 'cell.dev/test-hold';
const decidedJob = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: DECIDED },
  spec: { ...spec, completions: 2, parallelism: 2, template: { metadata: { finalizers: [HOLD] }, spec: { ...podSpec('100m'), restartPolicy: 'Never' } } },
});
const decidedJobs = {
  kind: 'List',
  apiVersion: 'v1',
  items: [decidedJob('settle', { completionMode: 'Indexed', successPolicy: { rules: [{ succeededCount: 1 }] } }), decidedJob('doomed', { backoffLimit: 0 })],
};

describe('dashboard: the Workloads page', function () {
  this.timeout(60_000);
  let cluster: DashboardCluster;
  let browser: Browser;
  let page: Page;
  const shots = new Screenshots();

  const podRows = async (): Promise<string[]> =>
    z.array(z.string()).parse(await page.evaluate(`[...document.querySelectorAll('tr[data-pod]')].map((r) => r.dataset.pod)`));
  const watchers = async (resource: string) => metricValue(await cluster.api.server.metrics.registry.metrics(), 'apiserver_registered_watchers', { resource });
  const waitForWatchers = async (resource: string, want: number) => {
    const deadline = Date.now() + 5000;
    let have = await watchers(resource);
    while (have !== want && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      have = await watchers(resource);
    }
    expect(have, `open watches of ${resource}`).to.equal(want);
  };
  const clickName = async (row: string) => {
    await page.click(`${row} td:nth-child(2) a`);
    await waitForText(page, 'main h1', /^Pods$/);
  };

  before(async function () {
    this.timeout(120_000);
    buildDashboardOnce();
    [cluster, browser] = await Promise.all([startDashboardCluster({ hollowNodes: 3, realAgent: false, controllers: true }), launchBrowser()]);
    page = await browser.newPage();
    await page.setBypassCSP(true);
    page.on('pageerror', (err) => console.log(`      page error: ${String(err)}`));
    console.log(`      screenshots: ${shots.dir}`);
    // Signed in already: the token in the tab's session, as the sign-in page leaves it.
    await page.goto(cluster.uiUrl);
    await page.evaluate(`sessionStorage.setItem('cell.dashboard.token', ${JSON.stringify(TEST_TOKENS.admin)})`);
  });

  after(async () => {
    await browser?.close();
    await cluster?.close();
  });

  it('watches only what the current view shows: entering Workloads from the Overview closes its watches', async () => {
    // Chromium opens six connections to one origin and a watch keeps one: the Overview's four
    // watches and the Workloads' three cannot all be open, so the page must let go of some.
    await page.goto(cluster.uiUrl);
    await waitForText(page, '[data-testid=live]', /^live$/);
    // The badge says live once the lists run; the server counts a watch once its request arrived.
    // Nothing but this page watches events: wait for its watch before taking the baseline.
    const deadline = Date.now() + 5000;
    while ((await watchers('events')) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const events = await watchers('events');
    expect(events, 'the Overview watches events').to.be.at.least(1);
    const deployments = await watchers('deployments');
    await page.click('::-p-xpath(//nav//a[normalize-space(.)="Workloads"])');
    await waitForText(page, 'main h1', /^Workloads$/);
    await waitForText(page, '[data-testid=live]', /^live$/, 3000);
    await waitForWatchers('deployments', deployments + 1);
    await waitForWatchers('events', events - 1);
    expect(new URL(page.url()).pathname).to.equal('/ui/workloads');
  });

  it('shows a Deployment, a Job and a quota made with kubectl, live, until ready and complete', async () => {
    await waitForText(page, 'main h1', /^Workloads$/);
    expect(await page.$eval('nav a[aria-current=page]', (a) => a.textContent)).to.equal('Workloads');
    await waitForText(page, '[data-testid=deployment-count]', /^0 deployments\.$/);

    await cluster.kubectl('create', 'namespace', NS);
    await cluster.apply('workloads', manifests);

    const web = `tr[data-deployment="${NS}/web"]`;
    const crunch = `tr[data-job="${NS}/crunch"]`;
    await waitForText(page, `${web} td.ready`, /^3\/3$/, 15_000);
    await waitForText(page, `${web} td.status`, /^available$/, 5000);
    expect(await page.$eval(`${web} td.up-to-date`, (td) => td.textContent)).to.equal('3');
    expect(await page.$eval(`${web} td.available`, (td) => td.textContent)).to.equal('3');

    await waitForText(page, `${crunch} td.status`, /^Complete/, 15_000);
    expect(await page.$eval(`${crunch} td.completions`, (td) => td.textContent)).to.equal('2/2');
    expect(await page.$eval(`${crunch} td.active`, (td) => td.textContent)).to.equal('0');
    expect(await page.$eval(`${crunch} td.failed`, (td) => td.textContent)).to.equal('0');

    await waitForText(page, 'tr[data-deployment="default/stuck"] td.status', /^ProgressDeadlineExceeded$/, 15_000);
    // One pod on each of the three nodes; two replicas made in order.
    await waitForText(page, 'tr[data-set="daemonsets/default/logs"] td.status', /^available$/, 15_000);
    expect(await page.$eval('tr[data-set="daemonsets/default/logs"] td.ready', (td) => td.textContent)).to.equal('3/3');
    await waitForText(page, 'tr[data-set="statefulsets/default/db"] td.status', /^available$/, 15_000);
    expect(await page.$eval('tr[data-set="statefulsets/default/db"] td.ready', (td) => td.textContent)).to.equal('2/2');

    // The job's pods ended, so only the Deployment's three count against the quota.
    const quota = `tr[data-quota="${NS}/compute"]`;
    await waitForText(page, `${quota} li[data-resource=pods] .quota-amount`, /^3 \/ 10$/, 10_000);
    await waitForText(page, `${quota} li[data-resource="requests.cpu"] .quota-amount`, /^300m \/ 2$/, 10_000);
    expect(await page.$eval(`${quota} li[data-resource=pods] [role=meter]`, (m) => m.getAttribute('aria-valuenow'))).to.equal('30');

    const vs = await seriousA11yViolations(page);
    expect(vs, `axe on workloads:\n${describeViolations(vs)}`).to.deep.equal([]);
    await shots.take(page, 'workloads');
  });

  it("opens a Deployment's and a Job's pods in the Pods view", async () => {
    await clickName(`tr[data-deployment="${NS}/web"]`);
    const url = new URL(page.url());
    expect(url.pathname).to.equal('/ui/pods');
    expect(Object.fromEntries(url.searchParams)).to.deep.equal({ namespace: NS, selector: 'app=web' });
    await waitForText(page, '[data-testid=pod-count]', /^3 pods\.$/);
    const webPods = await podRows();
    expect(webPods, webPods.join(', ')).to.have.length(3);
    for (const p of webPods) expect(p).to.match(new RegExp(`^${NS}/web-`));
    expect(await page.evaluate(`document.querySelector('#pod-labels').value`)).to.equal('app=web');

    await page.goBack();
    await waitForText(page, 'main h1', /^Workloads$/);
    await clickName(`tr[data-job="${NS}/crunch"]`);
    await waitForText(page, '[data-testid=pod-count]', /^2 pods\.$/);
    const jobPods = await podRows();
    for (const p of jobPods) expect(p).to.match(new RegExp(`^${NS}/crunch-`));
    expect(new URL(page.url()).searchParams.get('selector')).to.match(/^batch\.kubernetes\.io\/controller-uid=[0-9a-f-]{36}$/);

    // The filter is the user's to change: a bad selector says why; clearing it shows the namespace's pods.
    await page.click('#pod-labels', { count: 3 });
    await page.keyboard.type('app in (');
    await waitForText(page, '#pod-labels-error', /./);
    expect(await page.evaluate(`document.querySelector('#pod-labels').value`), 'typing is not rewritten by the URL round trip').to.equal('app in (');
    await page.click('#pod-labels', { count: 3 });
    await page.keyboard.press('Backspace');
    await waitForText(page, '[data-testid=pod-count]', /^5 pods\.$/);
    // The URL follows the filter, so the view can be shared and survives a reload.
    expect(Object.fromEntries(new URL(page.url()).searchParams)).to.deep.equal({ namespace: NS });
    await page.reload();
    await waitForText(page, '[data-testid=pod-count]', /^5 pods\.$/);
    expect(await page.evaluate(`document.querySelector('#pod-namespace').value`)).to.equal(NS);
    const vs = await seriousA11yViolations(page);
    expect(vs, `axe on filtered pods:\n${describeViolations(vs)}`).to.deep.equal([]);
    await shots.take(page, 'workload-pods');
  });

  it('says Completing or Failing while a decided Job\'s last pod stops, then Complete or Failed', async function () {
    this.timeout(90_000);
    await page.click('::-p-xpath(//nav//a[normalize-space(.)="Workloads"])');
    await waitForText(page, 'main h1', /^Workloads$/);
    await cluster.kubectl('create', 'namespace', DECIDED);
    await cluster.apply('decided', decidedJobs);
    const settle = `tr[data-job="${DECIDED}/settle"] td.status`;
    const doomed = `tr[data-job="${DECIDED}/doomed"] td.status`;

    const admin = cluster.api.client(TEST_TOKENS.admin);
    const podsOf = async (job: string) => (await admin.list<{ items: Pod[] }>({ resource: 'pods', namespace: DECIDED }, { labelSelector: `job-name=${job}` })).items;
    const running = async (job: string) => waitFor(async () => {
      const pods = await podsOf(job);
      return pods.length === 2 && pods.every((p) => p.status.phase === 'Running') ? pods : undefined;
    }, `both pods of ${job} running`, 30_000);
    const end = (pod: Pod, phase: 'Succeeded' | 'Failed') =>
      admin.patch({ resource: 'pods', namespace: DECIDED, name: pod.metadata.name, subresource: 'status' }, {
        status: { phase, containerStatuses: [{ name: 'main', ready: false, restartCount: 0, state: { terminated: { exitCode: phase === 'Succeeded' ? 0 : 1, reason: phase === 'Succeeded' ? 'Completed' : 'Error' } } }] },
      }, 'merge');
    const [won] = await running('settle');
    const [lost] = await running('doomed');
    await waitForText(page, settle, /^Running$/, 10_000);
    await end(won!, 'Succeeded');
    await end(lost!, 'Failed');

    await waitForText(page, settle, /^Completing \(SuccessPolicy\)$/, 30_000);
    await waitForText(page, doomed, /^Failing \(BackoffLimitExceeded\)$/, 30_000);
    expect(await page.$eval(settle, (td) => td.className)).to.contain('tone-ok');
    expect(await page.$eval(doomed, (td) => td.className)).to.contain('tone-bad');
    await shots.take(page, 'workloads-decided');

    // The page says what the API says: decided, not finished, the other pod deleted but still there.
    const trueTypes = async (name: string) =>
      ((await admin.get<Job>({ group: 'batch', version: 'v1', resource: 'jobs', namespace: DECIDED, name })).status.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type);
    expect(await trueTypes('settle')).to.deep.equal(['SuccessCriteriaMet']);
    expect(await trueTypes('doomed')).to.deep.equal(['FailureTarget']);
    const held = await waitFor(async () => {
      const pods = [...(await podsOf('settle')), ...(await podsOf('doomed'))].filter((p) => p.metadata.deletionTimestamp !== undefined);
      return pods.length === 2 ? pods : undefined;
    }, 'the running pod of each Job deleted and held', 20_000);
    for (const p of held) expect(p.status.phase, p.metadata.name).to.equal('Running');

    for (const p of held) await admin.patch({ resource: 'pods', namespace: DECIDED, name: p.metadata.name }, { metadata: { finalizers: null } }, 'merge');
    await waitForText(page, settle, /^Complete \(SuccessPolicy\)$/, 30_000);
    await waitForText(page, doomed, /^Failed \(BackoffLimitExceeded\)$/, 30_000);
    expect(await trueTypes('settle')).to.deep.equal(['SuccessCriteriaMet', 'Complete']);
    expect(await trueTypes('doomed')).to.deep.equal(['FailureTarget', 'Failed']);
  });
});
