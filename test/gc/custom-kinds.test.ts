// Garbage collection across custom kinds, end to end: a real API server on real etcd serving
// CustomResourceDefinitions, and the garbagecollector controller in-process following them. An
// object owned by a custom object (the operator pattern) is collected when its owner goes, a custom
// object owned by a built-in one likewise, foreground and orphan deletion work across the two, a
// definition made after the collector started is followed, and a deleted one is followed no longer.
import { expect } from 'chai';
import type { OwnerReference } from '../../shared/api/meta.js';
import { ApiClient, type ClientConfig, type RequestOptions, type ResourceRef, type WatchEvent, type WatchOptions } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { SharedInformers } from '../../controllers/informers.js';
import { GarbageCollector } from '../../controllers/garbage-collector/controller.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { CRDS, definitionBody } from '../harness/custom-resources.js';
import { sleep, waitFor } from '../clients/helpers.js';
import { testControllerContext } from '../controllers/helpers.js';

const GROUP = 'gc.example.com';
const LATE_GROUP = 'gc-late.example.com';
const GONE_GROUP = 'gc-gone.example.com';
const SLOW_GROUP = 'gc-slow.example.com';
const HOLD = 'example.com/hold';

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; uid?: string; deletionTimestamp?: string; finalizers?: string[]; ownerReferences?: OwnerReference[] };
}

const configMaps = (name?: string): ResourceRef => ({ resource: 'configmaps', namespace: 'default', ...(name ? { name } : {}) });
const customRef = (group: string, plural: string, name?: string): ResourceRef => ({ group, version: 'v1', resource: plural, namespace: 'default', ...(name ? { name } : {}) });
const widgets = (name?: string) => customRef(GROUP, 'widgets', name);

function definition(group: string, plural: string, kind: string): Obj & Record<string, unknown> {
  return definitionBody({ group, plural, kind });
}

function ownedBy(owner: Obj, extra: Partial<OwnerReference> = {}): OwnerReference {
  return { apiVersion: owner.apiVersion ?? '', kind: owner.kind ?? '', name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', ...extra };
}

describe('garbage collection across custom kinds (API server + CustomResourceDefinitions + garbagecollector)', function () {
  this.timeout(90_000);
  let srv: TestApiServer;
  let api: ApiClient;
  let informers: SharedInformers;
  let gc: GarbageCollector;

  const tryGet = async (ref: ResourceRef): Promise<Obj | undefined> => {
    try {
      return await api.get<Obj>(ref);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  };
  const gone = async (ref: ResourceRef) => (await tryGet(ref)) === undefined;

  /** Create a definition and wait until its objects are served. */
  const define = async (group: string, plural: string, kind: string) => {
    await api.create(CRDS, definition(group, plural, kind));
    await waitFor(
      async () => {
        try {
          await api.list(customRef(group, plural));
          return true;
        } catch (err) {
          if (err instanceof NotFoundError) return false;
          throw err;
        }
      },
      `${plural}.${group} served`,
      20_000,
      50,
    );
  };

  const custom = (group: string, kind: string, plural: string, name: string, owners: OwnerReference[] = [], finalizers?: string[]) =>
    api.create<Obj>(customRef(group, plural), {
      apiVersion: `${group}/v1`,
      kind,
      metadata: { name, ...(owners.length > 0 ? { ownerReferences: owners } : {}), ...(finalizers ? { finalizers } : {}) },
      spec: { size: 1 },
    });
  const widget = (name: string, owners: OwnerReference[] = []) => custom(GROUP, 'Widget', 'widgets', name, owners);

  const configMap = async (name: string, owners: OwnerReference[] = [], finalizers?: string[]): Promise<Obj> => {
    const made = await api.create<Obj>(configMaps(), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, ...(owners.length > 0 ? { ownerReferences: owners } : {}), ...(finalizers ? { finalizers } : {}) },
      data: { a: 'b' },
    });
    // The API does not echo apiVersion/kind on every path; owner references need them.
    return { ...made, apiVersion: 'v1', kind: 'ConfigMap' };
  };
  const release = (ref: ResourceRef) => api.patch(ref, { metadata: { finalizers: null } }, 'merge');
  /**
   * Wait until the collector's graph holds `objs`: each kind comes on a watch of its own, so an
   * owner deleted at once could be judged before its dependents arrive (built-in kinds alike).
   */
  const seen = (...objs: Obj[]) => waitFor(() => objs.every((o) => gc.graph.get(o.metadata.uid ?? '') !== undefined), 'the objects in the collector\'s graph', 20_000, 20);

  before(async function () {
    srv = await startTestApiServer({ backend: 'etcd' });
    api = srv.client();
    // Defined before the collector starts: found in its first list of definitions.
    await define(GROUP, 'widgets', 'Widget');
    const log = createLogger('garbage-collector', 'error');
    informers = new SharedInformers(api, log);
    gc = new GarbageCollector(testControllerContext(api, log, informers));
    gc.start();
    await informers.start();
    await informers.synced();
  });

  after(async () => {
    await gc?.stop();
    await informers?.stop();
    await srv?.close();
  });

  it('deletes a ConfigMap owned by a Widget once the Widget is deleted', async () => {
    const owner = await widget('w-owner');
    await configMap('cm-of-widget', [ownedBy(owner, { controller: true })]);
    await configMap('cm-of-widget-2', [ownedBy(owner)]);
    await sleep(300);
    expect(await gone(configMaps('cm-of-widget')), 'kept while its owner lives').to.equal(false);
    await api.delete(widgets('w-owner'));
    for (const name of ['cm-of-widget', 'cm-of-widget-2']) await waitFor(() => gone(configMaps(name)), `${name} collected`, 20_000, 50);
  });

  it('deletes a ConfigMap naming a Widget that is already gone', async () => {
    const owner = await widget('w-early');
    await api.delete(widgets('w-early'));
    await waitFor(() => gone(widgets('w-early')), 'the Widget gone', 10_000, 50);
    await configMap('cm-late-dependent', [ownedBy(owner)]);
    await waitFor(() => gone(configMaps('cm-late-dependent')), 'the dependent of a gone Widget collected', 20_000, 50);
  });

  it('deletes a Widget owned by a ConfigMap once the ConfigMap is deleted', async () => {
    const owner = await configMap('cm-owner');
    await widget('w-of-cm', [ownedBy(owner, { controller: true })]);
    await sleep(300);
    expect(await gone(widgets('w-of-cm')), 'kept while its owner lives').to.equal(false);
    await api.delete(configMaps('cm-owner'));
    await waitFor(() => gone(widgets('w-of-cm')), 'the Widget collected', 20_000, 50);
  });

  it('deletes a Widget in the foreground: it waits, marked, for its blocking ConfigMap', async () => {
    const owner = await widget('w-fg');
    // Held by a finalizer of its own: the Widget must wait for it.
    const held = await configMap('cm-fg-held', [ownedBy(owner, { blockOwnerDeletion: true })], [HOLD]);
    const free = await configMap('cm-fg-free', [ownedBy(owner, { blockOwnerDeletion: false })]);
    await seen(owner, held, free);
    await api.delete(widgets('w-fg'), { propagationPolicy: 'Foreground' });
    const marked = await api.get<Obj>(widgets('w-fg'));
    expect(marked.metadata.deletionTimestamp, 'deletionTimestamp').to.be.a('string');
    expect(marked.metadata.finalizers).to.include('foregroundDeletion');
    await waitFor(async () => (await tryGet(configMaps('cm-fg-held')))?.metadata.deletionTimestamp !== undefined, 'the held ConfigMap marked for deletion', 20_000, 50);
    await waitFor(() => gone(configMaps('cm-fg-free')), 'the non-blocking ConfigMap collected', 20_000, 50);
    await sleep(500);
    expect(await gone(widgets('w-fg')), 'the Widget waits for its blocking dependent').to.equal(false);
    await release(configMaps('cm-fg-held'));
    await waitFor(() => gone(widgets('w-fg')), 'the Widget deleted once no blocking dependent is left', 20_000, 50);
  });

  it('deletes a ConfigMap in the foreground: it waits for its blocking Widget', async () => {
    const owner = await configMap('cm-fg-owner');
    const held = await custom(GROUP, 'Widget', 'widgets', 'w-fg-held', [ownedBy(owner, { blockOwnerDeletion: true })], [HOLD]);
    await seen(owner, held);
    await api.delete(configMaps('cm-fg-owner'), { propagationPolicy: 'Foreground' });
    await waitFor(async () => (await tryGet(widgets('w-fg-held')))?.metadata.deletionTimestamp !== undefined, 'the Widget marked for deletion', 20_000, 50);
    await sleep(500);
    expect(await gone(configMaps('cm-fg-owner')), 'the ConfigMap waits for its blocking Widget').to.equal(false);
    await release(widgets('w-fg-held'));
    await waitFor(() => gone(configMaps('cm-fg-owner')), 'the ConfigMap deleted after its Widget', 20_000, 50);
  });

  it('orphans the ConfigMaps of a Widget deleted with propagationPolicy Orphan', async () => {
    const owner = await widget('w-orphan');
    const other = await widget('w-orphan-other');
    const cm1 = await configMap('cm-orphan', [ownedBy(owner)]);
    const cm2 = await configMap('cm-orphan-shared', [ownedBy(owner), ownedBy(other)]);
    await seen(owner, other, cm1, cm2);
    await api.delete(widgets('w-orphan'), { propagationPolicy: 'Orphan' });
    await waitFor(() => gone(widgets('w-orphan')), 'the Widget gone once its dependents are orphaned', 20_000, 50);
    const cm = await api.get<Obj>(configMaps('cm-orphan'));
    expect(cm.metadata.ownerReferences ?? []).to.deep.equal([]);
    const shared = await api.get<Obj>(configMaps('cm-orphan-shared'));
    expect((shared.metadata.ownerReferences ?? []).map((o) => o.name)).to.deep.equal(['w-orphan-other']);
  });

  it('follows a definition created after the collector started', async () => {
    // Names a kind not defined yet: left alone until the definition comes, then judged (its owner never existed).
    await configMap('cm-before-gadgets', [{ apiVersion: `${LATE_GROUP}/v1`, kind: 'Gadget', name: 'g-never', uid: 'no-such-gadget' }]);
    await sleep(300);
    expect(await gone(configMaps('cm-before-gadgets'))).to.equal(false);
    await define(LATE_GROUP, 'gadgets', 'Gadget');
    await waitFor(() => gone(configMaps('cm-before-gadgets')), 'the dependent of a Gadget that never was collected once Gadgets are followed', 20_000, 50);
    const gadget = (name: string, owners: OwnerReference[] = []) => custom(LATE_GROUP, 'Gadget', 'gadgets', name, owners);
    // Made at once: the collector may not have seen the definition yet.
    const owner = await gadget('g-owner');
    await configMap('cm-of-gadget', [ownedBy(owner)]);
    const cmOwner = await configMap('cm-owns-gadget');
    await gadget('g-of-cm', [ownedBy(cmOwner)]);
    await sleep(300);
    expect(await gone(configMaps('cm-of-gadget'))).to.equal(false);
    expect(await gone(customRef(LATE_GROUP, 'gadgets', 'g-of-cm'))).to.equal(false);
    await api.delete(customRef(LATE_GROUP, 'gadgets', 'g-owner'));
    await api.delete(configMaps('cm-owns-gadget'));
    await waitFor(() => gone(configMaps('cm-of-gadget')), 'the ConfigMap of a Gadget collected', 20_000, 50);
    await waitFor(() => gone(customRef(LATE_GROUP, 'gadgets', 'g-of-cm')), 'the Gadget of a ConfigMap collected', 20_000, 50);
  });

  it('collects the dependents of a deleted definition\'s objects, and follows it no longer', async () => {
    await define(GONE_GROUP, 'things', 'Thing');
    const thing = await custom(GONE_GROUP, 'Thing', 'things', 't-owner');
    await configMap('cm-of-thing', [ownedBy(thing)]);
    await waitFor(() => gc.graph.get(thing.metadata.uid ?? '') !== undefined, 'the Thing in the collector\'s graph', 20_000, 50);
    await sleep(300);
    expect(await gone(configMaps('cm-of-thing'))).to.equal(false);
    // The server deletes every Thing, then the definition.
    await api.delete({ ...CRDS, name: `things.${GONE_GROUP}` });
    await waitFor(() => gone({ ...CRDS, name: `things.${GONE_GROUP}` }), 'the definition gone', 20_000, 50);
    await waitFor(() => gone(configMaps('cm-of-thing')), 'the dependent of a Thing collected', 20_000, 50);
    expect(gc.graph.get(thing.metadata.uid ?? ''), 'the Thing left the graph').to.equal(undefined);
    // Its kind is still known: a new dependent naming a Thing of the gone definition is collected too.
    await configMap('cm-of-gone-kind', [ownedBy(thing)]);
    await waitFor(() => gone(configMaps('cm-of-gone-kind')), 'the dependent of a Thing of a gone definition collected', 20_000, 50);
  });

  it('leaves alone a dependent whose owner kind is served by no definition', async () => {
    await configMap('cm-of-unknown', [{ apiVersion: 'nowhere.example.com/v1', kind: 'Nothing', name: 'n', uid: 'no-such-uid' }]);
    await sleep(1000);
    expect(await gone(configMaps('cm-of-unknown'))).to.equal(false);
  });

  // Last: it replaces the collector with one whose client lists the new kind only when told to.
  describe('while a newly followed kind is first listed', () => {
    let held: HoldingClient;
    let heldInformers: SharedInformers;

    before(async () => {
      await gc.stop();
      held = new HoldingClient(api.config, SLOW_GROUP);
      const log = createLogger('garbage-collector', 'error');
      heldInformers = new SharedInformers(held, log);
      gc = new GarbageCollector(testControllerContext(held, log, heldInformers));
      gc.start();
      await heldInformers.start();
      await heldInformers.synced();
    });
    after(async () => {
      held?.release();
      await gc?.stop();
      await heldInformers?.stop();
    });

    it('an owner deleted in the foreground waits for its dependents of that kind, and an orphaning one orphans them', async () => {
      const fgOwner = await configMap('slow-fg-owner');
      const orphanOwner = await configMap('slow-orphan-owner');
      await define(SLOW_GROUP, 'slows', 'Slow');
      await waitFor(() => held.asked, 'the collector asking for the new kind', 20_000, 20);
      const slow = (name: string, owner: Obj) => custom(SLOW_GROUP, 'Slow', 'slows', name, [ownedBy(owner, { blockOwnerDeletion: true })]);
      await slow('s-fg-dependent', fgOwner);
      await slow('s-orphan', orphanOwner);
      await seen(fgOwner, orphanOwner);
      await api.delete(configMaps('slow-fg-owner'), { propagationPolicy: 'Foreground' });
      await api.delete(configMaps('slow-orphan-owner'), { propagationPolicy: 'Orphan' });
      // The graph holds no Slow yet: "no dependents" would be a guess, so neither owner goes.
      await sleep(1000);
      expect(await gone(configMaps('slow-fg-owner')), 'the foreground owner waits for the kind to be listed').to.equal(false);
      expect(await gone(configMaps('slow-orphan-owner')), 'the orphaning owner waits for the kind to be listed').to.equal(false);
      held.release();
      await waitFor(() => gone(configMaps('slow-fg-owner')), 'the foreground owner deleted once its dependent is', 20_000, 50);
      expect(await gone(customRef(SLOW_GROUP, 'slows', 's-fg-dependent')), 'its dependent went first').to.equal(true);
      await waitFor(() => gone(configMaps('slow-orphan-owner')), 'the orphaning owner deleted', 20_000, 50);
      expect((await api.get<Obj>(customRef(SLOW_GROUP, 'slows', 's-orphan'))).metadata.ownerReferences ?? [], 'the dependent orphaned, not collected').to.deep.equal([]);
    });
  });
});

/** A client whose lists and watches of one group wait until released: a kind slow to list. */
class HoldingClient extends ApiClient {
  /** Whether a list or watch of the group was asked for. */
  asked = false;
  private releaseHeld: () => void = () => {};
  private readonly held = new Promise<void>((resolve) => (this.releaseHeld = resolve));

  constructor(
    config: ClientConfig,
    private readonly group: string,
  ) {
    super(config);
  }

  release(): void {
    this.releaseHeld();
  }

  private async hold(ref: ResourceRef): Promise<void> {
    if (ref.group !== this.group) return;
    this.asked = true;
    await this.held;
  }

  override async list<T>(ref: ResourceRef, query?: RequestOptions['query']): Promise<T> {
    await this.hold(ref);
    return super.list<T>(ref, query);
  }

  override async watch<T>(ref: ResourceRef, query: RequestOptions['query'], onEvent: (ev: WatchEvent<T>) => void, signal?: AbortSignal, options?: WatchOptions<T>): Promise<void> {
    await this.hold(ref);
    return super.watch<T>(ref, query, onEvent, signal, options);
  }
}
