// The garbage collector's ownership graph and the finalizer bookkeeping of deletion propagation,
// without I/O.
import { expect } from 'chai';
import type { OwnerReference } from '../../shared/api/meta.js';
import { finalizersAfterDelete, requestedPropagation } from '../../shared/api/propagation.js';
import { RESOURCES } from '../../shared/api/registry.js';
import { OwnershipGraph, type GraphNode } from '../../controllers/garbage-collector/graph.js';
import { collectableResources, resourceOfReference } from '../../controllers/garbage-collector/kinds.js';
import { CustomKinds } from '../../controllers/garbage-collector/custom-kinds.js';
import { customKindOf } from '../../controllers/custom-kinds.js';
import type { CollectedKind } from '../../controllers/garbage-collector/kinds.js';
import { CustomResourceDefinitionSchema, type CustomResourceDefinition } from '../../shared/api/apiextensions.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { SharedInformers } from '../../controllers/informers.js';

function node(uid: string, owners: OwnerReference[] = [], state: Partial<Pick<GraphNode, 'beingDeleted' | 'deletingDependents' | 'orphaningDependents'>> = {}, kind = 'Pod'): GraphNode {
  return {
    identity: { uid, group: kind === 'PodGroup' ? 'scheduling.x-k8s.io' : '', version: kind === 'PodGroup' ? 'v1alpha1' : 'v1', resource: kind === 'PodGroup' ? 'podgroups' : 'pods', kind, namespace: 'default', name: `n-${uid}` },
    owners,
    beingDeleted: state.beingDeleted ?? false,
    deletingDependents: state.deletingDependents ?? false,
    orphaningDependents: state.orphaningDependents ?? false,
  };
}

function ref(uid: string, extra: Partial<OwnerReference> = {}): OwnerReference {
  return { apiVersion: 'v1', kind: 'Pod', name: `n-${uid}`, uid, ...extra };
}

describe('garbage collector: ownership graph', () => {
  it('indexes dependents by owner uid, including owners it has never observed', () => {
    const g = new OwnershipGraph();
    g.observe(node('a'));
    g.observe(node('b', [ref('a')]));
    g.observe(node('c', [ref('a'), ref('ghost')]));
    expect(g.dependents('a').map((n) => n.identity.uid).sort()).to.deep.equal(['b', 'c']);
    expect(g.dependents('ghost').map((n) => n.identity.uid)).to.deep.equal(['c']);
    expect(g.dependents('b')).to.deep.equal([]);
  });

  it('reports owners added and removed by an update, and relinks', () => {
    const g = new OwnershipGraph();
    expect(g.observe(node('b', [ref('a')]))).to.deep.include({ added: true });
    const change = g.observe(node('b', [ref('x')]));
    expect(change.added).to.equal(false);
    expect(change.ownersAdded.map((o) => o.uid)).to.deep.equal(['x']);
    expect(change.ownersRemoved.map((o) => o.uid)).to.deep.equal(['a']);
    expect(g.dependents('a')).to.deep.equal([]);
    expect(g.dependents('x').map((n) => n.identity.uid)).to.deep.equal(['b']);
  });

  it('keeps the dependents of a forgotten owner, and unlinks a forgotten dependent', () => {
    const g = new OwnershipGraph();
    g.observe(node('a'));
    g.observe(node('b', [ref('a')]));
    expect(g.forget('a')?.identity.uid).to.equal('a');
    expect(g.get('a')).to.equal(undefined);
    expect(g.dependents('a').map((n) => n.identity.uid)).to.deep.equal(['b']);
    g.forget('b');
    expect(g.dependents('a')).to.deep.equal([]);
    expect(g.size).to.equal(0);
    expect(g.forget('nothing')).to.equal(undefined);
  });

  it('counts only dependents with blockOwnerDeletion as blocking', () => {
    const g = new OwnershipGraph();
    g.observe(node('a', [], { beingDeleted: true, deletingDependents: true }));
    g.observe(node('b', [ref('a', { blockOwnerDeletion: true })]));
    g.observe(node('c', [ref('a', { blockOwnerDeletion: false })]));
    g.observe(node('d', [ref('a')]));
    expect(g.blockingDependents('a').map((n) => n.identity.uid)).to.deep.equal(['b']);
    expect(g.dependents('a')).to.have.length(3);
  });

  it('says when an object starts deleting its dependents or orphaning them, once', () => {
    const g = new OwnershipGraph();
    expect(g.observe(node('a')).startedDeletingDependents).to.equal(false);
    expect(g.observe(node('a', [], { beingDeleted: true, deletingDependents: true })).startedDeletingDependents).to.equal(true);
    expect(g.observe(node('a', [], { beingDeleted: true, deletingDependents: true })).startedDeletingDependents).to.equal(false);
    expect(g.observe(node('a', [], { beingDeleted: true, orphaningDependents: true })).startedOrphaning).to.equal(true);
  });

  it('resolves a reference only when uid, group, kind, name and namespace all agree', () => {
    const g = new OwnershipGraph();
    g.observe(node('pg', [], {}, 'PodGroup'));
    const good: OwnerReference = { apiVersion: 'scheduling.x-k8s.io/v1alpha1', kind: 'PodGroup', name: 'n-pg', uid: 'pg' };
    expect(g.resolves(good, 'default')?.identity.uid).to.equal('pg');
    expect(g.resolves({ ...good, name: 'other' }, 'default')).to.equal(undefined);
    expect(g.resolves({ ...good, kind: 'Pod' }, 'default')).to.equal(undefined);
    expect(g.resolves({ ...good, apiVersion: 'v1' }, 'default')).to.equal(undefined);
    // A namespaced owner is only ever in its dependent's namespace.
    expect(g.resolves(good, 'elsewhere')).to.equal(undefined);
    expect(g.resolves({ ...good, uid: 'new-uid' }, 'default')).to.equal(undefined);
  });
});

describe('garbage collector: kinds and deletion propagation', () => {
  it('watches every stored, deletable kind of the resource table and nothing create-only or read-only', () => {
    const names = collectableResources().map((r) => r.resource);
    expect(names).to.include.members(['pods', 'podgroups', 'namespaces', 'nodes', 'leases', 'poddisruptionbudgets', 'roles']);
    for (const never of ['placements', 'nodeallocations', 'selfsubjectaccessreviews', 'events']) expect(names).to.not.include(never);
    expect(resourceOfReference({ apiVersion: 'scheduling.x-k8s.io/v1alpha1', kind: 'PodGroup' })?.resource).to.equal('podgroups');
    expect(resourceOfReference({ apiVersion: 'v1', kind: 'Pod' }, RESOURCES)?.resource).to.equal('pods');
    expect(resourceOfReference({ apiVersion: 'example.com/v1', kind: 'Widget' })).to.equal(undefined);
  });

  it('records Orphan and Foreground as finalizers, switches between them, and Background drops both', () => {
    expect(finalizersAfterDelete([], undefined)).to.equal(undefined);
    expect(finalizersAfterDelete(['x'], 'Orphan')).to.deep.equal(['x', 'orphan']);
    expect(finalizersAfterDelete(['x'], 'Foreground')).to.deep.equal(['x', 'foregroundDeletion']);
    expect(finalizersAfterDelete(['orphan'], 'Foreground')).to.deep.equal(['foregroundDeletion']);
    expect(finalizersAfterDelete(['foregroundDeletion', 'x'], 'Background')).to.deep.equal(['x']);
    expect(finalizersAfterDelete(['orphan'], 'Orphan')).to.equal(undefined);
    expect(finalizersAfterDelete(['x'], 'Background')).to.equal(undefined);
    // A later plain delete keeps what the first one asked for.
    expect(finalizersAfterDelete(['foregroundDeletion'], undefined)).to.equal(undefined);
  });

  it('reads the deprecated orphanDependents as Orphan (true) or Background (false)', () => {
    expect(requestedPropagation({ orphanDependents: true })).to.equal('Orphan');
    expect(requestedPropagation({ orphanDependents: false })).to.equal('Background');
    expect(requestedPropagation({ propagationPolicy: 'Foreground' })).to.equal('Foreground');
    expect(requestedPropagation({})).to.equal(undefined);
  });
});

describe('garbage collector: custom kinds', () => {
  const established = { type: 'Established', status: 'True' as const };
  function crd(o: { versions?: { name: string; served: boolean; storage: boolean }[]; established?: boolean; scope?: 'Namespaced' | 'Cluster'; accepted?: boolean; uid?: string } = {}): CustomResourceDefinition {
    return CustomResourceDefinitionSchema.parse({
      metadata: { name: 'widgets.example.com', uid: o.uid ?? 'crd-1' },
      spec: { group: 'example.com', scope: o.scope ?? 'Namespaced', names: { plural: 'widgets', kind: 'Widget' }, versions: o.versions ?? [{ name: 'v1', served: true, storage: true }] },
      status: {
        conditions: o.established === false ? [{ ...established, status: 'False' }] : [established],
        ...(o.accepted === false ? {} : { acceptedNames: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' } }),
      },
    });
  }

  it('follows an Established definition in its storage version when served, else the first served one', () => {
    expect(customKindOf(crd())).to.deep.equal({ group: 'example.com', version: 'v1', apiVersion: 'example.com/v1', kind: 'Widget', resource: 'widgets', namespaced: true, definition: 'widgets.example.com' });
    const twoVersions = [
      { name: 'v1beta1', served: true, storage: false },
      { name: 'v1', served: true, storage: true },
    ];
    expect(customKindOf(crd({ versions: twoVersions }))?.version).to.equal('v1');
    const storageNotServed = [
      { name: 'v1', served: false, storage: true },
      { name: 'v2', served: true, storage: false },
    ];
    expect(customKindOf(crd({ versions: storageNotServed }))?.version).to.equal('v2');
    expect(customKindOf(crd({ scope: 'Cluster' }))?.namespaced).to.equal(false);
  });

  it('follows no definition that is not Established, has no accepted names, or serves no version', () => {
    expect(customKindOf(crd({ established: false }))).to.equal(undefined);
    expect(customKindOf(crd({ accepted: false }))).to.equal(undefined);
    expect(customKindOf(crd({ versions: [{ name: 'v1', served: false, storage: true }] }))).to.equal(undefined);
    expect(customKindOf({ ...crd(), status: {} })).to.equal(undefined);
  });

  it('starts and stops following as definitions change, and keeps a gone definition\'s kind resolvable', () => {
    const calls: string[] = [];
    const kinds = new CustomKinds({
      follow: (k: CollectedKind) => calls.push(`follow ${k.resource}/${k.version}`),
      unfollow: (k: CollectedKind, deleted: boolean) => calls.push(`unfollow ${k.resource}/${k.version}${deleted ? ' deleted' : ''}`),
    });
    kinds.observed(crd({ established: false }));
    kinds.observed(crd());
    kinds.observed(crd());
    expect(kinds.size).to.equal(1);
    // A new storage version: the objects are watched in it instead.
    kinds.observed(crd({ versions: [{ name: 'v1', served: true, storage: false }, { name: 'v2', served: true, storage: true }] }));
    kinds.observed(crd({ established: false }));
    kinds.observed(crd());
    kinds.deleted(crd());
    kinds.deleted(crd());
    expect(calls).to.deep.equal(['follow widgets/v1', 'unfollow widgets/v1', 'follow widgets/v2', 'unfollow widgets/v2', 'follow widgets/v1', 'unfollow widgets/v1 deleted']);
    expect(kinds.size).to.equal(0);
    expect(resourceOfReference({ apiVersion: 'example.com/v1', kind: 'Widget' }, kinds.kinds())?.definition).to.equal('widgets.example.com');
  });

  it('removes one shared informer: a wait for its first list ends, and a later get makes a fresh one', async () => {
    // Never started: nothing is asked of this address.
    const client = new ApiClient({ servers: ['http://127.0.0.1:9'] });
    const informers = new SharedInformers(client);
    const ref = { group: 'example.com', version: 'v1', resource: 'widgets' };
    const first = informers.get(ref);
    const waiting = informers.synced();
    await informers.remove(ref);
    await waiting;
    expect(informers.get(ref)).to.not.equal(first);
    await informers.remove(ref);
    await informers.remove(ref);
    client.close();
  });
});
