// The ingress status loop: every Ingress cell's agents serve (servedByCell) says where it is
// served, in `status.loadBalancer.ingress` — kubectl's ADDRESS — as an ingress controller
// publishes its own address: each Ready node whose agent serves Ingresses (the node's
// cell.dev/ingress-address annotation, `IP:PORT`), one entry per IP with its ports. A node that
// stops serving, or is no longer Ready, leaves it. Another controller's Ingresses are left alone.
import { isDeepStrictEqual } from 'node:util';
import type { Node } from '../../shared/api/core.js';
import type { Ingress, IngressClass } from '../../shared/api/networking.js';
import { NETWORKING_GROUP, NODE_INGRESS_ADDRESS_ANNOTATION, servedByCell } from '../../shared/api/networking.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import type { Informer } from '../../shared/client/informer.js';
import { NotFoundError } from '../../shared/errors.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { WorkQueue } from '../work-queue.js';

export const INGRESS_STATUS_CONTROLLER = 'ingress-status';
const INGRESSES: ResourceRef = { group: NETWORKING_GROUP, version: 'v1', resource: 'ingresses' };
const INGRESS_CLASSES: ResourceRef = { group: NETWORKING_GROUP, version: 'v1', resource: 'ingressclasses' };
const NODES: ResourceRef = { version: 'v1', resource: 'nodes' };

type LoadBalancerIngress = NonNullable<NonNullable<NonNullable<Ingress['status']>['loadBalancer']>['ingress']>[number];

function isReady(node: Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Where the Ready serving nodes serve Ingresses: one entry per IP, its ports in order. */
export function servingAddresses(nodes: readonly Node[]): LoadBalancerIngress[] {
  const ports = new Map<string, Set<number>>();
  for (const node of nodes) {
    const address = node.metadata.annotations?.[NODE_INGRESS_ADDRESS_ANNOTATION];
    if (!address || !isReady(node)) continue;
    const colon = address.lastIndexOf(':');
    const port = Number(address.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port)) continue;
    const ip = address.slice(0, colon);
    ports.set(ip, (ports.get(ip) ?? new Set()).add(port));
  }
  return [...ports]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ip, set]) => ({ ip, ports: [...set].sort((a, b) => a - b).map((port) => ({ port, protocol: 'TCP' })) }));
}

export class IngressStatusController implements Controller {
  readonly name = INGRESS_STATUS_CONTROLLER;
  private readonly client: ApiClient;
  private readonly ingresses: Informer<Ingress>;
  private readonly classes: Informer<IngressClass>;
  private readonly nodes: Informer<Node>;
  private readonly queue: WorkQueue;
  private running = false;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.ingresses = ctx.informers.get<Ingress>(INGRESSES);
    this.classes = ctx.informers.get<IngressClass>(INGRESS_CLASSES);
    this.nodes = ctx.informers.get<Node>(NODES);
    // The queue's key is an Ingress's `namespace/name`.
    this.queue = new WorkQueue({ name: INGRESS_STATUS_CONTROLLER, sync: (key) => this.sync(key), log: ctx.log, workers: 2, metrics: ctx.queueMetrics });
  }

  start(): void {
    this.running = true;
    const one = (ing: Ingress) => this.queue.add(`${ing.metadata.namespace ?? ''}/${ing.metadata.name ?? ''}`);
    const all = () => this.ingresses.list().forEach(one);
    this.ingresses.addHandlers({ add: one, update: (_old, ing) => one(ing) });
    this.classes.addHandlers({ add: all, update: all, delete: all });
    // Only a change of what a node says about serving moves any status.
    const nodeChanged = (old: Node | undefined, node: Node) => {
      const was = old ? servingAddresses([old]) : [];
      if (!isDeepStrictEqual(was, servingAddresses([node]))) all();
    };
    this.nodes.addHandlers({ add: (n) => nodeChanged(undefined, n), update: nodeChanged, delete: (n) => nodeChanged(n, { ...n, metadata: { ...n.metadata, annotations: {} } }) });
    void Promise.all([this.ingresses.hasSynced(), this.classes.hasSynced(), this.nodes.hasSynced()]).then(() => {
      if (this.running) {
        all();
        this.queue.start();
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const ing = this.ingresses.get(key.slice(0, slash), key.slice(slash + 1));
    if (!ing || servedByCell([ing], this.classes.list()).length === 0) return;
    const wanted = servingAddresses(this.nodes.list());
    if (isDeepStrictEqual(ing.status?.loadBalancer?.ingress ?? [], wanted)) return;
    const ref = { ...INGRESSES, namespace: ing.metadata.namespace ?? '', name: ing.metadata.name ?? '', subresource: 'status' };
    try {
      // A stale resourceVersion is a 409: the queue retries once the informer has the newer one.
      await this.client.update(ref, { ...ing, status: { loadBalancer: wanted.length > 0 ? { ingress: wanted } : {} } });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
}

export const ingressStatusControllerDefinition: ControllerDefinition = {
  name: INGRESS_STATUS_CONTROLLER,
  create: (ctx) => new IngressStatusController(ctx),
};
