import { startTestApiServer } from '../harness/apiserver.js';
import { WatchCollector, raw, podBody } from './helpers.js';
const t = await startTestApiServer({ backend: 'etcd', watchCacheCapacity: 10 });
const mode = process.argv[2];
const c = await raw(t.url, 'POST', '/api/v1/namespaces/default/pods', { body: podBody('a') });
const r0 = (c.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
for (let i = 0; i < 30; i++) await raw(t.url, 'PATCH', '/api/v1/namespaces/default/pods/a', { body: { metadata: { labels: { i: String(i) } } }, contentType: 'application/merge-patch+json' });
if (mode === 'store') {
  const w = await WatchCollector.open(t.url, `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${r0}`);
  await w.waitForEvents(30);
  await w.close();
} else if (mode === 'compact') {
  await t.store.compact(await t.store.currentRevision());
  const w = await WatchCollector.open(t.url, `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${r0}`);
  await w.waitForEnd();
  console.log(JSON.stringify(w.events));
  await w.close();
} else if (mode === 'metrics') {
  await fetch(`${t.url}/metrics`).then((r) => r.text());
}
let s = Date.now();
const timer = setTimeout(() => console.log('still closing server after 5s'), 5000);
await t.server.close();
console.log('server closed', Date.now() - s);
s = Date.now();
await t.store.close();
clearTimeout(timer);
console.log('store closed', Date.now() - s);
