// The baseline the scheduling benchmarks are judged against: raw etcd single-key compare-and-swap
// through the etcd3 client itself (get, then a txn that puts only if the key's mod_revision is
// unchanged), 64 workers each on its own key. Deliberately not through the project's EtcdStore:
// that batches concurrent reads and transactions into shared requests, which is the API server's
// optimisation and not what etcd alone does.
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { perSecond, runFor } from './measure.js';

export async function rawCasRate(endpoints: string[], durationMs: number, workers = 64): Promise<number> {
  const etcd = new Etcd3({ hosts: endpoints });
  const prefix = `/cell-bench-cas-${randomUUID()}`;
  try {
    await Promise.all(Array.from({ length: workers }, (_, w) => etcd.put(`${prefix}/${w}`).value('0')));
    const r = await runFor({ durationMs, concurrency: workers }, async (w) => {
      const key = `${prefix}/${w}`;
      const res = await etcd.kv.range({ key: Buffer.from(key) });
      const kv = res.kvs[0];
      if (!kv) throw new Error(`key ${key} vanished`);
      const txn = await etcd
        .if(key, 'Mod', '==', Number(kv.mod_revision))
        .then(etcd.put(key).value(String(Number(kv.value.toString()) + 1)))
        .commit();
      if (!txn.succeeded) throw new Error(`CAS on ${key} failed although only one worker writes it`);
      return 'ok';
    });
    return perSecond(r.ok, r.elapsedMs);
  } finally {
    await etcd.delete().prefix(prefix).exec();
    etcd.close();
  }
}
