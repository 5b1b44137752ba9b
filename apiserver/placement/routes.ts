// Wires the placement machinery into the API server: the ledger hooks on pod and node writes,
// node deletion that releases pods first, the `pods/binding` and `placements` verbs, and the
// NodeAllocation ledger kind (audit.ts) that GET /audit checks.
import type { Express } from 'express';
import { ALLOCATION_RESOURCE_VERSION_ANNOTATION } from '../../shared/api/core.js';
import { bindingKind, placementsResource } from '../../shared/api/registry.js';
import type { NodeAllocation, PlacementResult } from '../../shared/api/scheduling.js';
import { validateObject } from '../../shared/api/validation.js';
import { BadRequestError, InvalidError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { RequestAttributes } from '../auth/authorizer.js';
import type { UserInfo } from '../auth/tokens.js';
import { readObjectBody } from '../http/body.js';
import { dryRunParam } from '../http/query.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import type { ApiServerMetrics } from '../metrics.js';
import { nowTimestamp } from '../registry/rest.js';
import type { Store } from '../storage/store.js';
import { PlacementCommitter, type BindRequest } from './commit.js';
import { nodeLedgerHook, podLedgerHook, PODS_FAILED_WITH_NODE } from './hooks.js';
import { failPodsOnNode } from './release.js';

/** Bindings one Placement may carry (Incremental ones are split into many transactions). */
export const MAX_PLACEMENT_BINDINGS = 5000;

export interface PlacementDeps {
  app: Express;
  store: Store;
  log: Logger;
  metrics: ApiServerMetrics;
  maxRequestBytes: number;
  served(resource: string): ServedResource;
  /** Every served resource (the quota audit lists the kinds quotas count). */
  resources: ReadonlyMap<string, ServedResource>;
  addCustomHandler(key: string, handler: CustomHandler): void;
  /** The server's authorizer (RBAC): throws 403. */
  authorize(user: UserInfo, a: RequestAttributes): void;
}

export function installPlacement(d: PlacementDeps): PlacementCommitter {
  const pods = d.served('pods').rest;
  const nodes = d.served('nodes').rest;
  const allocations = d.served('nodeallocations').rest.objects;

  pods.objects.addWriteHook(podLedgerHook(allocations));
  nodes.objects.addWriteHook(nodeLedgerHook(allocations, pods.objects));
  nodes.beforeDelete = async (node) => {
    // A node's pods are failed in its delete transaction (hooks.ts); only a node with more pods
    // than one transaction holds has its pods failed one by one first.
    const name = node.metadata.name ?? '';
    const ledger = allocations.cache.peek(allocations.key(undefined, name)) as unknown as NodeAllocation | undefined;
    if ((ledger?.spec.pods.length ?? 0) <= PODS_FAILED_WITH_NODE) return;
    const n = await failPodsOnNode(pods.objects, name, 'NodeLost', `node ${name} was deleted`);
    if (n > 0) d.log.info('failed the pods of a deleted node', { node: name, pods: n });
  };

  const committer = new PlacementCommitter(d.store, pods.objects, allocations, {
    conflict: (mode) => d.metrics.bindingConflicts.inc({ mode }),
    retry: () => d.metrics.bindingRetries.inc(),
    bound: (n) => d.metrics.bindings.inc(n),
  });

  const bindingHandler: CustomHandler = async ({ req, path, query }) => {
    const dryRun = dryRunParam(query);
    const raw = await readObjectBody(req, d.maxRequestBytes);
    const binding = validateObject(bindingKind, raw);
    if (binding.metadata.name && binding.metadata.name !== path.name) {
      throw new BadRequestError(`the name of the binding (${binding.metadata.name}) does not match the pod on the URL (${path.name ?? ''})`);
    }
    if (binding.target.kind && binding.target.kind !== 'Node') {
      throw new InvalidError(`Binding "${path.name ?? ''}" is invalid: target.kind: Unsupported value: "${binding.target.kind}": must be Node`, { kind: 'Binding' }, [
        { reason: 'FieldValueNotSupported', field: 'target.kind', message: 'must be Node' },
      ]);
    }
    if (!binding.target.name) {
      throw new InvalidError(`Binding "${path.name ?? ''}" is invalid: target.name: Required value`, { kind: 'Binding' }, [
        { reason: 'FieldValueRequired', field: 'target.name', message: 'the node to bind to is required' },
      ]);
    }
    const rv = binding.metadata.annotations?.[ALLOCATION_RESOURCE_VERSION_ANNOTATION];
    const b: BindRequest = { namespace: path.namespace ?? '', podName: path.name ?? '', nodeName: binding.target.name };
    if (rv !== undefined) b.allocationResourceVersion = rv;
    // The pod-UID precondition is the Binding's own metadata.uid, as in Kubernetes.
    const uid = binding.metadata.uid ?? binding.target.uid;
    if (uid) b.podUid = uid;
    await committer.bindOne(b, { dryRun });
    return {
      status: 201,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 },
    };
  };
  d.addCustomHandler('pods/binding:POST', bindingHandler);

  const placementHandler: CustomHandler = async ({ req, query }) => {
    const dryRun = dryRunParam(query);
    const raw = await readObjectBody(req, d.maxRequestBytes);
    const placement = validateObject(placementsResource, raw);
    const bindings = placement.spec.bindings;
    if (bindings.length > MAX_PLACEMENT_BINDINGS) {
      throw new InvalidError(`Placement is invalid: spec.bindings: Too many: ${bindings.length}: must have at most ${MAX_PLACEMENT_BINDINGS} items`, { kind: 'Placement' }, [
        { reason: 'FieldValueTooMany', field: 'spec.bindings', message: `must have at most ${MAX_PLACEMENT_BINDINGS} items` },
      ]);
    }
    const mode = placement.spec.conflictMode;
    if (mode === 'Coarse') {
      const missing = bindings.findIndex((b) => b.allocationResourceVersion === undefined);
      if (missing >= 0) {
        throw new InvalidError(`Placement is invalid: spec.bindings[${missing}].allocationResourceVersion: Required value: coarse conflict mode needs the allocation version each decision was made on`, { kind: 'Placement' }, [
          { reason: 'FieldValueRequired', field: `spec.bindings[${missing}].allocationResourceVersion`, message: 'required in Coarse conflict mode' },
        ]);
      }
    }
    const requests: BindRequest[] = bindings.map((b) => {
      const r: BindRequest = { namespace: b.podNamespace, podName: b.podName, nodeName: b.nodeName };
      if (b.podUID) r.podUid = b.podUID;
      if (b.allocationResourceVersion !== undefined && mode !== 'Fine') r.allocationResourceVersion = b.allocationResourceVersion;
      return r;
    });
    const outcomes = await committer.commit(requests, placement.spec.mode, { dryRun });
    const results: PlacementResult[] = outcomes.map((o, i) => ({
      podNamespace: requests[i]!.namespace,
      podName: requests[i]!.podName,
      nodeName: requests[i]!.nodeName,
      outcome: o.outcome,
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.message ? { message: o.message } : {}),
      ...(o.allocationResourceVersion !== undefined ? { allocationResourceVersion: o.allocationResourceVersion } : {}),
    }));
    return {
      status: 201,
      body: {
        ...placement,
        metadata: { ...placement.metadata, creationTimestamp: nowTimestamp() },
        status: { results, bound: results.filter((r) => r.outcome === 'Bound').length },
      },
    };
  };
  d.addCustomHandler('placements:POST', placementHandler);

  return committer;
}
