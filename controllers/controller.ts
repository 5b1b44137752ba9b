// What a control loop is in cell-controller-manager: a small object the manager starts when it wins
// leader election and stops when it loses it. Every controller is a client of the API like any other
// (the typed HTTP client, shared informers, Events) — none of them touches the store.
import type { Registry } from 'prom-client';
import type { ApiClient } from '../shared/client/http-client.js';
import type { EventRecorder } from '../shared/client/events.js';
import type { Logger } from '../shared/logging.js';
import type { ControllerConfig } from './config.js';
import type { SharedInformers } from './informers.js';
import type { WorkQueueMetrics } from './work-queue.js';

export interface ControllerContext {
  client: ApiClient;
  /** One informer per resource (and selector), shared by every controller of this process. */
  informers: SharedInformers;
  log: Logger;
  /** Events are recorded under the controller's own component name. */
  events(component: string): EventRecorder;
  /** The manager's Prometheus registry (served on its /metrics): a controller's own metrics go here. */
  registry: Registry;
  /** What a controller's work queues report to (pass as WorkQueueOptions.metrics, named after the controller). */
  queueMetrics: WorkQueueMetrics;
  /** Per-controller settings from the manager's flags; absent fields take Kubernetes' defaults. */
  config?: ControllerConfig;
}

export interface Controller {
  readonly name: string;
  /** Register handlers on informers and start workers; informers are started by the manager afterwards. */
  start(): void | Promise<void>;
  /** Stop workers and wait for in-flight work; the manager stops informers after every controller stopped. */
  stop(): Promise<void>;
}

/** How a controller is declared in the manager's catalog (controllers/catalog.ts). */
export interface ControllerDefinition {
  /** Kubernetes' --controllers name, e.g. `replicaset`, `job`, `garbagecollector`. */
  name: string;
  create(ctx: ControllerContext): Controller;
}
