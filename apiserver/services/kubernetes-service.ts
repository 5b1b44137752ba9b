// The `kubernetes` Service of the default namespace: how a workload finds the API server, as in
// Kubernetes (every container's KUBERNETES_SERVICE_HOST and _PORT describe it). Each API server
// replica, every `intervalMs`:
//   1. renews its registration, `/apiserverleases/<ip>:<port>`, a key that expires `ttlSeconds`
//      after its last write (an etcd lease), so a replica that dies drops out by itself;
//   2. makes sure the Service exists: the first address of the cluster IP range (another when a
//      Service holds that one already), port 443 named https (http for a server without TLS),
//      no selector, so no controller writes its Endpoints;
//   3. writes the Service's Endpoints when they differ from the live registrations: one subset per
//      port, the replicas serving on it.
// A replica that stops deletes its registration and writes the Endpoints without itself.
// Replicas racing on the same objects lose a write to a conflict and agree at the next round.
import type { Endpoints, EndpointSubset, Service } from '../../shared/api/service.js';
import { AlreadyExistsError, ConflictError, NotFoundError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { ServedResource } from '../http/resources.js';
import type { Store } from '../storage/store.js';

export const KUBERNETES_SERVICE = { namespace: 'default', name: 'kubernetes' } as const;
export const API_SERVER_LEASES_PREFIX = '/apiserverleases/';
/** Kubernetes' lease endpoint reconciler: a 15 s lease renewed every 10 s. */
const DEFAULT_TTL_SECONDS = 15;
const DEFAULT_INTERVAL_MS = 10_000;
/** How long a stopping server tries to leave the Endpoints. */
const STOP_TIMEOUT_MS = 2_000;
const LABELS = { component: 'apiserver', provider: 'kubernetes' };

export interface KubernetesServiceOptions {
  served: (resource: string) => ServedResource;
  store: Store;
  /** Where clients reach this replica. */
  address: { ip: string; port: number };
  tls: boolean;
  /** The address the Service asks for (the cluster IP range's first). */
  clusterIP: string;
  ttlSeconds?: number;
  intervalMs?: number;
  log: Logger;
}

interface Registration {
  ip: string;
  port: number;
}

/** What a subset says, in a fixed order, for comparing stored Endpoints with wanted ones. */
function subsetsText(subsets: readonly EndpointSubset[]): string {
  return JSON.stringify(subsets.map((s) => [(s.addresses ?? []).map((a) => a.ip), (s.ports ?? []).map((p) => [p.name ?? '', p.port, p.protocol ?? 'TCP'])]));
}

export class KubernetesServiceReconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly key: string;
  private readonly portName: string;

  constructor(private readonly o: KubernetesServiceOptions) {
    this.key = `${API_SERVER_LEASES_PREFIX}${o.address.ip}:${o.address.port}`;
    this.portName = o.tls ? 'https' : 'http';
  }

  /** Registers this replica and reconciles once before resolving; then every interval. */
  async start(): Promise<void> {
    await this.round();
    this.timer = setInterval(() => void this.round(), this.o.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * Leaves the Endpoints, so clients stop being sent to a server that is going. Gives up after
   * STOP_TIMEOUT_MS (a store that does not answer must not hold the shutdown): the registration
   * then expires by itself.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const leave = async () => {
      await this.running;
      try {
        await this.o.store.delete(this.key);
      } catch (err) {
        if (!(err instanceof NotFoundError)) this.o.log.warn('could not remove this API server\'s registration', { error: errorMessage(err) });
      }
      await this.reconcileEndpoints().catch((err: unknown) => this.o.log.warn('could not remove this API server from the kubernetes Endpoints', { error: errorMessage(err) }));
    };
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS)));
    if (await Promise.race([leave().then(() => false), gaveUp])) this.o.log.warn('left the kubernetes Endpoints to the expiry of this server\'s registration: the store did not answer');
    clearTimeout(timer);
  }

  private round(): Promise<void> {
    if (this.stopped || this.running) return this.running ?? Promise.resolve();
    this.running = (async () => {
      try {
        await this.o.store.txn({
          compares: [],
          success: [{ type: 'put', key: this.key, value: JSON.stringify({ ip: this.o.address.ip, port: this.o.address.port }), ttlSeconds: this.o.ttlSeconds ?? DEFAULT_TTL_SECONDS }],
        });
        await this.ensureService();
        await this.reconcileEndpoints();
      } catch (err) {
        // Another replica won a race, or the store is away: the next round tries again.
        const level = err instanceof ConflictError || err instanceof AlreadyExistsError ? 'debug' : 'warn';
        this.o.log[level]('kubernetes Service not reconciled', { error: errorMessage(err) });
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async ensureService(): Promise<void> {
    const rest = this.o.served('services').rest;
    const { namespace, name } = KUBERNETES_SERVICE;
    const port = { name: this.portName, port: 443, protocol: 'TCP', targetPort: this.o.address.port };
    const current = (await rest.objects.tryGet(namespace, name)) as Service | undefined;
    if (current) {
      // Only the port is this loop's to keep; a replica on another port leaves the first one's.
      const p = current.spec.ports?.[0];
      if (p?.name === port.name && p.port === 443 && p.protocol === 'TCP') return;
      await rest.update(namespace, name, { ...current, spec: { ...current.spec, ports: [port] } }, undefined);
      return;
    }
    const service = (clusterIP?: string) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels: LABELS },
      spec: { type: 'ClusterIP', ...(clusterIP ? { clusterIP } : {}), ports: [port], sessionAffinity: 'None' },
    });
    try {
      await rest.create(namespace, service(this.o.clusterIP));
    } catch (err) {
      if (err instanceof AlreadyExistsError) return;
      // The range's first address is a user's Service's already: any other will do.
      if (!/already allocated/.test(errorMessage(err))) throw err;
      this.o.log.warn('the kubernetes Service cannot have the first cluster IP; taking another', { clusterIP: this.o.clusterIP });
      await rest.create(namespace, service());
    }
    this.o.log.info('created the kubernetes Service', { namespace, name });
  }

  private async live(): Promise<Registration[]> {
    const { items } = await this.o.store.list(API_SERVER_LEASES_PREFIX);
    const out: Registration[] = [];
    for (const item of items) {
      try {
        const r = JSON.parse(item.value) as Registration;
        if (typeof r.ip === 'string' && typeof r.port === 'number') out.push(r);
      } catch (err) {
        this.o.log.warn('unreadable API server registration', { key: item.key, error: errorMessage(err) });
      }
    }
    return out;
  }

  private async reconcileEndpoints(): Promise<void> {
    const live = await this.live();
    const byPort = new Map<number, string[]>();
    for (const r of live) byPort.set(r.port, [...(byPort.get(r.port) ?? []), r.ip]);
    const subsets: EndpointSubset[] = [...byPort]
      .sort(([a], [b]) => a - b)
      .map(([port, ips]) => ({ addresses: [...new Set(ips)].sort().map((ip) => ({ ip })), ports: [{ name: this.portName, port, protocol: 'TCP' }] }));
    const rest = this.o.served('endpoints').rest;
    const { namespace, name } = KUBERNETES_SERVICE;
    const current = (await rest.objects.tryGet(namespace, name)) as Endpoints | undefined;
    const wanted = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, ...(subsets.length > 0 ? { subsets } : {}) };
    if (!current) {
      await rest.create(namespace, wanted);
      return;
    }
    if (subsetsText(current.subsets ?? []) === subsetsText(subsets)) return;
    await rest.update(namespace, name, { ...wanted, metadata: { ...current.metadata, labels: { ...current.metadata.labels, ...wanted.metadata.labels } } }, undefined);
  }
}
