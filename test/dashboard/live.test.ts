// The dashboard stays live the way a Kubernetes reflector does, seen in a real browser: it lists
// then watches; when the network cuts its watch it resumes from the last resourceVersion it saw
// and misses nothing; when that revision was compacted away (410 Expired) it re-lists. The page
// talks to the API server through a proxy that cuts watch streams on demand.
import { expect } from 'chai';
import type { Browser, Page } from 'puppeteer-core';
import { z } from 'zod';
import type { Pod } from '../../shared/api/core.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { startWatchCutProxy, type WatchCutProxy } from '../clients/watch-cut-proxy.js';
import { metricValue } from '../schedulers/scheduler-process.js';
import { buildDashboardOnce } from './build.js';
import { launchBrowser, waitForText } from './browser.js';

describe('dashboard: live over list + watch', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let proxy: WatchCutProxy;
  let browser: Browser;
  let page: Page;
  const admin = () => api.client(TEST_TOKENS.admin);

  const createPod = (name: string) =>
    admin().create<Pod>({ namespace: 'default', resource: 'pods' }, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { containers: [{ name: 'main', image: 'busybox', command: ['true'] }] },
    });
  const podLists = async () => metricValue(await api.server.metrics.registry.metrics(), 'apiserver_request_total', { verb: 'list', resource: 'pods' });
  const shownPods = async (): Promise<string[]> => {
    const v: unknown = await page.evaluate(`[...document.querySelectorAll('tr[data-pod]')].map((r) => r.getAttribute('data-pod'))`);
    return z.array(z.string()).parse(v).sort();
  };

  before(async function () {
    this.timeout(60_000);
    buildDashboardOnce();
    // A tiny watch cache: a resume from an old revision must go to the store, which compaction empties.
    api = await startTestApiServer({ backend: 'etcd', auth: true, watchCacheCapacity: 5 });
    proxy = await startWatchCutProxy(api.url);
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(`${proxy.url}/ui/`);
    await page.evaluate(`sessionStorage.setItem('cell.dashboard.token', ${JSON.stringify(TEST_TOKENS.admin)})`);
    await page.goto(`${proxy.url}/ui/pods`);
    await waitForText(page, '[data-testid=live]', /^live$/);
  });

  after(async () => {
    await browser?.close();
    await proxy?.close();
    await api?.close();
  });

  it('resumes a cut watch from the last resourceVersion it saw: nothing missed, nothing twice, no re-list', async () => {
    await createPod('before-cut');
    await waitForText(page, '[data-testid=pod-count]', /^1 pod\./);
    const lists = await podLists();
    const cut = proxy.cutAfter((e) => e.type === 'ADDED' && e.object.metadata?.name === 'cut-here');
    await createPod('cut-here');
    await cut;
    // Written while the page has no watch open: it must get them on resume.
    await createPod('while-cut-1');
    await createPod('while-cut-2');
    await waitForText(page, '[data-testid=pod-count]', /^4 pods\./, 15_000);
    expect(await shownPods()).to.deep.equal(['default/before-cut', 'default/cut-here', 'default/while-cut-1', 'default/while-cut-2']);
    expect(await podLists(), 'no re-list after a resumable cut').to.equal(lists);
  });

  it('re-lists when its resourceVersion was compacted away (410 Expired), and shows deletes made meanwhile', async () => {
    const lists = await podLists();
    const cut = proxy.cutAfter(
      (e) => e.type === 'ADDED' && e.object.metadata?.name === 'cut-again',
      async () => {
        // Before the page can resume: more writes than the watch cache holds, a delete, then
        // compaction past the page's revision.
        for (let i = 0; i < 8; i++) await createPod(`churn-${i}`);
        await admin().delete({ namespace: 'default', resource: 'pods', name: 'before-cut' });
        await api.store.compact(await api.store.currentRevision());
      },
    );
    await createPod('cut-again');
    await cut;
    await waitForText(page, '[data-testid=pod-count]', /^12 pods\./, 15_000);
    const shown = await shownPods();
    expect(shown).to.not.include('default/before-cut');
    expect(shown).to.include.members(['default/cut-again', 'default/churn-0', 'default/churn-7', 'default/while-cut-2']);
    expect(await podLists(), 'the page re-listed pods after 410').to.be.greaterThan(lists);
    await waitForText(page, '[data-testid=live]', /^live$/);
  });
});
