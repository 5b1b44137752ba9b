// The daemon's Planner: commits through the API server's optimistic placement (DESIGN §3). One
// pod goes as a Binding; several go as one Incremental Placement, which the server commits in as
// few etcd transactions as its limits allow; a gang goes as one AllOrNothing Placement. In coarse
// mode each binding names the ledger version it was decided on.
import { ALLOCATION_RESOURCE_VERSION_ANNOTATION } from '../../shared/api/core.js';
import { ALLOCATION_VERSION_CAUSE, PlacementReasonSchema, type Placement, type PlacementBinding, type PlacementReason } from '../../shared/api/scheduling.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { CellError, ConflictError, NotFoundError } from '../../shared/errors.js';
import type { CommitKind, CommitOutcome, Decision, Planner } from './planner.js';

/** A PlacementReason from the wire; anything else (an older or newer server) is no reason at all. */
function placementReason(reason: string | undefined): PlacementReason | undefined {
  const parsed = PlacementReasonSchema.safeParse(reason);
  return parsed.success ? parsed.data : undefined;
}

export class ApiPlanner implements Planner {
  constructor(
    private readonly client: ApiClient,
    private readonly conflictMode: 'fine' | 'coarse',
  ) {}

  async commit(chunk: readonly Decision[], kind: CommitKind): Promise<CommitOutcome[]> {
    if (kind === 'binding') return [await this.bindOne(chunk[0]!)];
    const coarse = this.conflictMode === 'coarse';
    const bindings: PlacementBinding[] = chunk.map((d) => {
      const pod = d.ctx.pod;
      return {
        podNamespace: pod.namespace,
        podName: pod.name,
        podUID: pod.uid,
        nodeName: d.nodeName,
        ...(coarse && d.allocationResourceVersion !== undefined ? { allocationResourceVersion: d.allocationResourceVersion } : {}),
      };
    });
    const body = {
      apiVersion: 'scheduling.cell.dev/v1alpha1',
      kind: 'Placement',
      spec: { mode: kind === 'gang' ? 'AllOrNothing' : 'Incremental', conflictMode: coarse ? 'Coarse' : 'Fine', bindings },
    };
    const res = await this.client.create<Placement>({ group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'placements' }, body);
    const results = res.status?.results ?? [];
    return chunk.map((_, i): CommitOutcome => {
      const r = results[i];
      if (!r) return { outcome: 'Error', message: 'the placement response has no result for this binding' };
      const message = r.message ?? '';
      if (r.outcome === 'Bound') return { outcome: 'Bound' };
      if (r.outcome === 'Conflict') return { outcome: 'Conflict', reason: r.reason, message, allocationResourceVersion: r.allocationResourceVersion };
      return { outcome: r.outcome, message };
    });
  }

  private async bindOne(d: Decision): Promise<CommitOutcome> {
    const pod = d.ctx.pod;
    const coarse = this.conflictMode === 'coarse' && d.allocationResourceVersion !== undefined;
    const body = {
      apiVersion: 'v1',
      kind: 'Binding',
      // metadata.uid pins the pod's incarnation, as in Kubernetes: a pod re-created meanwhile is not bound.
      metadata: {
        name: pod.name,
        namespace: pod.namespace,
        uid: pod.uid,
        ...(coarse ? { annotations: { [ALLOCATION_RESOURCE_VERSION_ANNOTATION]: d.allocationResourceVersion } } : {}),
      },
      target: { apiVersion: 'v1', kind: 'Node', name: d.nodeName },
    };
    try {
      await this.client.create({ namespace: pod.namespace, resource: 'pods', name: pod.name, subresource: 'binding' }, body);
      return { outcome: 'Bound' };
    } catch (err) {
      if (err instanceof ConflictError) {
        // A refused Binding's reason and ledger version travel as its 409 Status causes.
        return {
          outcome: 'Conflict',
          reason: placementReason(err.causes[0]?.reason),
          message: err.message,
          allocationResourceVersion: err.causes.find((c) => c.reason === ALLOCATION_VERSION_CAUSE)?.message,
        };
      }
      if (err instanceof NotFoundError) return { outcome: 'NotFound', message: err.message };
      if (err instanceof CellError && err.code === 422) return { outcome: 'Invalid', message: err.message };
      throw err;
    }
  }
}
