// The shared EventRecorder against a real API server on etcd: repeats of one event become one
// stored Event whose count and series grow (client-go's correlator), a different message is a new
// Event, and a repeat of an event that was deleted meanwhile creates it again.
import { expect } from 'chai';
import type { Event } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { EventRecorder, type InvolvedObject } from '../../shared/client/events.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { createNamespace } from '../placement/fixtures.js';

describe('EventRecorder: repeated events are counted into one', () => {
  let api: TestApiServer;
  let client: ApiClient;
  const ns = 'events-series';
  const pod: InvolvedObject = { kind: 'Pod', name: 'web', namespace: ns, uid: 'uid-web', apiVersion: 'v1' };

  before(async () => {
    api = await startTestApiServer();
    client = api.client();
    await createNamespace(client, ns);
  });
  after(async () => api.close());

  const events = async () => (await client.list<{ items: Event[] }>({ resource: 'events', namespace: ns })).items;

  it('ten repeats recorded at once are one Event with count 10; a new message is its own Event', async () => {
    const recorder = new EventRecorder(client, { component: 'test' });
    await Promise.all(Array.from({ length: 10 }, () => recorder.record(pod, 'Warning', 'BackOff', 'Back-off restarting failed container')));
    await recorder.record(pod, 'Normal', 'Pulled', 'Container image "x" already present');
    const all = await events();
    expect(all).to.have.length(2);
    const backOff = all.find((e) => e.reason === 'BackOff')!;
    expect(backOff.count).to.equal(10);
    expect(backOff.series?.count).to.equal(10);
    expect(all.find((e) => e.reason === 'Pulled')!.count).to.equal(1);
  });

  it('a repeat of an Event deleted meanwhile creates it again', async () => {
    const recorder = new EventRecorder(client, { component: 'test' });
    const other: InvolvedObject = { ...pod, name: 'db', uid: 'uid-db' };
    await recorder.record(other, 'Warning', 'FailedScheduling', '0/3 nodes are available');
    const [first] = (await events()).filter((e) => e.involvedObject.name === 'db');
    await client.delete({ resource: 'events', namespace: ns, name: first!.metadata.name! });
    await recorder.record(other, 'Warning', 'FailedScheduling', '0/3 nodes are available');
    const again = (await events()).filter((e) => e.involvedObject.name === 'db');
    expect(again).to.have.length(1);
    expect(again[0]!.metadata.name).to.not.equal(first!.metadata.name);
    expect(again[0]!.count).to.equal(1);
  });
});

describe('Events expire (--event-ttl), other kinds do not', () => {
  let api: TestApiServer;
  let client: ApiClient;
  const ns = 'events-ttl';

  before(async () => {
    api = await startTestApiServer({ eventTtlSeconds: 1 });
    client = api.client();
    await createNamespace(client, ns);
  });
  after(async () => api.close());

  it('an Event is deleted (a watched DELETED) about its ttl after its last write; the namespace stays', async function () {
    this.timeout(20_000);
    const recorder = new EventRecorder(client, { component: 'test' });
    await recorder.record({ kind: 'Pod', name: 'web', namespace: ns, uid: 'u1' }, 'Normal', 'Scheduled', 'assigned');
    const list = await client.list<{ items: Event[]; metadata: { resourceVersion?: string } }>({ resource: 'events', namespace: ns });
    expect(list.items).to.have.length(1);
    const abort = new AbortController();
    const deleted = new Promise<string>((resolve, reject) => {
      client
        .watch<Event>({ resource: 'events', namespace: ns }, { resourceVersion: list.metadata.resourceVersion }, (ev) => {
          if (ev.type === 'DELETED') {
            resolve(ev.object.reason ?? '');
            abort.abort();
          }
        }, abort.signal)
        .catch(reject);
    });
    expect(await deleted).to.equal('Scheduled');
    expect((await client.list<{ items: Event[] }>({ resource: 'events', namespace: ns })).items).to.deep.equal([]);
    expect((await client.get<{ metadata: { name?: string } }>({ resource: 'namespaces', name: ns })).metadata.name).to.equal(ns);
  });
});
