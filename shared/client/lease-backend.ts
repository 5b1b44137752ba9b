// Leader election through the API: the LeaseBackend of the shared LeaderElector over a
// coordination.k8s.io/v1 Lease read and written with the typed client, as kube-scheduler and
// kube-controller-manager keep theirs (kube-system/<name>), so `kubectl get lease -n kube-system`
// shows who leads.
import type { Lease } from '../api/coordination.js';
import { NotFoundError } from '../errors.js';
import type { LeaseBackend, LeaseState } from '../leader-election.js';
import type { ApiClient, ResourceRef } from './http-client.js';

export class ApiLeaseBackend implements LeaseBackend {
  private readonly ref: ResourceRef;

  constructor(
    private readonly client: ApiClient,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.ref = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace };
  }

  async get(): Promise<{ spec: LeaseState; resourceVersion: string } | undefined> {
    try {
      const lease = await this.client.get<Lease>({ ...this.ref, name: this.name });
      return { spec: lease.spec, resourceVersion: lease.metadata.resourceVersion ?? '' };
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async create(spec: LeaseState): Promise<void> {
    await this.client.create(this.ref, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.namespace }, spec });
  }

  async update(spec: LeaseState, resourceVersion: string): Promise<void> {
    await this.client.update(
      { ...this.ref, name: this.name },
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.namespace, resourceVersion }, spec },
    );
  }
}
