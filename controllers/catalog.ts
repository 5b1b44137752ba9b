// Every control loop cell-controller-manager can run, by its --controllers name.
import type { ControllerDefinition } from './controller.js';
import { disruptionController } from './disruption/controller.js';
import { garbageCollectorDefinition } from './garbage-collector/controller.js';
import { cronJobControllerDefinition } from './cronjob/controller.js';
import { jobControllerDefinition } from './job/controller.js';
import { nodeLifecycleController } from './node-lifecycle/controller.js';
import { podGcController } from './pod-gc/controller.js';
import { replicaSetControllerDefinition } from './replicaset/controller.js';
import { deploymentControllerDefinition } from './deployment/controller.js';
import { daemonSetControllerDefinition } from './daemonset/controller.js';
import { statefulSetControllerDefinition } from './statefulset/controller.js';
import { resourceQuotaController } from './resource-quota/controller.js';
import { kueueControllerDefinition } from './kueue/controller.js';
import { endpointsControllerDefinition } from './endpoints/controller.js';
import { endpointSliceControllerDefinition } from './endpointslice/controller.js';
import { ingressStatusControllerDefinition } from './ingress/controller.js';
import { serviceAccountControllerDefinition } from './serviceaccount/controller.js';
import { horizontalPodAutoscalerControllerDefinition } from './podautoscaler/controller.js';

export const CONTROLLERS: readonly ControllerDefinition[] = [
  nodeLifecycleController,
  podGcController,
  disruptionController,
  garbageCollectorDefinition,
  jobControllerDefinition,
  cronJobControllerDefinition,
  resourceQuotaController,
  replicaSetControllerDefinition,
  deploymentControllerDefinition,
  daemonSetControllerDefinition,
  statefulSetControllerDefinition,
  kueueControllerDefinition,
  serviceAccountControllerDefinition,
  endpointsControllerDefinition,
  endpointSliceControllerDefinition,
  ingressStatusControllerDefinition,
  horizontalPodAutoscalerControllerDefinition,
];
