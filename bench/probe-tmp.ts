import { EtcdStore } from '../apiserver/storage/etcd.js';
const eps = (process.env.ETCD_ENDPOINTS ?? '').split(',');
const s = new EtcdStore({ endpoints: eps, prefix: '/probe' });
for (const conc of [1, 16]) {
  let n = 0; const t0 = Date.now(); const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: conc }, async (_, w) => { while (Date.now() - t0 < 3000) { await s.get(`/k${w}`); n++; } }));
  const cu = process.cpuUsage(c0);
  console.log('store get conc', conc, Math.round(n / ((Date.now() - t0) / 1000)), '/s', 'node cpu us/op', Math.round((cu.user + cu.system) / n));
}
await s.close();
