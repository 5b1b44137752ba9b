// What kinds add to the generic REST layer: custom verbs and subresources, write hooks that commit
// ledgers with the writes they account for, and their own non-resource routes. Each area installs
// itself from the one set of dependencies below; a new area is one more line in installKinds.
import { defaultIngressClassAdmission } from '../networking/default-ingress-class.js';
import type { Express } from 'express';
import type { Logger } from '../../shared/logging.js';
import type { RequestAttributes } from '../auth/authorizer.js';
import { reviewHandlers } from '../auth/reviews.js';
import type { UserInfo } from '../auth/tokens.js';
import { installScale } from '../apps/scale.js';
import { installAgentIntegration } from '../controllers/install.js';
import type { AgentAddressAllowList } from '../controllers/agent-endpoint.js';
import { installDisruption } from '../disruption/routes.js';
import type { CustomHandler, ServedResource } from '../http/resources.js';
import type { ApiServerMetrics } from '../metrics.js';
import { installPlacement } from '../placement/routes.js';
import { installQuota, type QuotaAdmission } from '../quota/install.js';
import { installQueues } from '../queues/install.js';
import { clusterQueueLedger } from '../queues/audit.js';
import { resourceQuotaLedger } from '../quota/audit.js';
import { nodeAllocationLedger } from '../placement/audit.js';
import { installAudit } from '../ledgers/audit.js';
import type { Store } from '../storage/store.js';
import type { AgentProxyKey } from '../auth/agent-proxy-key.js';
import type { Authorization } from './access.js';
import { installServiceAccountRoutes } from '../auth/service-account-routes.js';
import { serviceAccountAdmission } from '../auth/service-account-admission.js';
import { podPriorityAdmission, singleDefaultClassHook } from '../priority/admission.js';
import { serviceAllocationHook } from '../services/allocation.js';
import type { ServiceRanges } from '../services/ranges.js';
import { limitRangeAdmission } from '../limits/admission.js';
import type { ServiceAccountTokens, TokenIdentity } from '../auth/service-account-tokens.js';

/** Everything an install may use (each takes the part it needs). */
export interface KindInstallDeps {
  store: Store;
  log: Logger;
  metrics: ApiServerMetrics;
  maxRequestBytes: number;
  served(resource: string): ServedResource;
  resources: Map<string, ServedResource>;
  /** Register a custom verb handler (`pods/binding:POST`, `placements:POST`, …) with the resource router. */
  addCustomHandler(key: string, handler: CustomHandler): void;
  /** The non-resource endpoints' app, for routes outside the resource URLs (/audit). */
  app: Express;
  /** The server's authorizer (RBAC): throws 403. */
  authorize(user: UserInfo, a: RequestAttributes): void;
  /** RBAC itself (the access reviews read its grants). */
  access: Authorization;
  /** Where the pods/log and pods/exec proxies may connect to agents; undefined = the default networks. */
  agentAddressAllow: AgentAddressAllowList | undefined;
  /** The cluster's key for signing requests to agents. */
  agentProxyKey: AgentProxyKey;
  /** Issues and checks service account tokens. */
  serviceAccountTokens: ServiceAccountTokens;
  /** Where Services' cluster IPs and node ports come from. */
  serviceRanges: ServiceRanges;
  /** Whose a bearer token is (any authenticator's), for TokenReview. */
  reviewToken(token: string, audiences: readonly string[]): TokenIdentity | undefined;
}

/** What later-served kinds need of the installs above. */
export interface KindInstalls {
  /** ResourceQuota admission (`count/<resource>.<group>`) for a custom kind's new store. */
  admitCustomKind: QuotaAdmission;
}

export function installKinds(d: KindInstallDeps): KindInstalls {
  // authorization.k8s.io: the access reviews behind `kubectl auth can-i` and `whoami`.
  for (const [key, handler] of Object.entries(reviewHandlers(d.access.authorizer, d.access.rbac, d.maxRequestBytes))) d.addCustomHandler(key, handler);
  // ServiceAccounts: tokens (serviceaccounts/token, TokenReview, OpenID Connect discovery), and
  // pods admitted only with an account that exists.
  installServiceAccountRoutes(d);
  // A new pod's admissions that read other objects, in Kubernetes' order: its namespace's
  // LimitRanges fill in and bound its resources; its account must exist; its priority comes from
  // its PriorityClass (scheduling.k8s.io), of which one may be the default. Quota comes last (a
  // write hook, committed with the pod).
  d.served('pods').rest.addCreateAdmission(limitRangeAdmission(d.served('limitranges').rest.objects));
  d.served('pods').rest.addCreateAdmission(serviceAccountAdmission(d.served('serviceaccounts').rest.objects));
  d.served('pods').rest.addCreateAdmission(podPriorityAdmission(d.served('priorityclasses').rest.objects));
  d.served('priorityclasses').rest.objects.addWriteHook(singleDefaultClassHook(d.served('priorityclasses').rest.objects));
  // networking.k8s.io/v1: an Ingress without a class gets the default IngressClass.
  d.served('ingresses').rest.addCreateAdmission(defaultIngressClassAdmission(d.served('ingressclasses').rest.objects));
  // v1 Service: cluster IPs and node ports, each claimed in the Service's own transaction.
  d.served('services').rest.objects.addWriteHook(serviceAllocationHook(d.store, d.serviceRanges));
  // scheduling.cell.dev: pods/binding, Placements, the node allocation ledgers.
  installPlacement(d);
  // policy/v1: the pods/eviction subresource, guarded by disruption budgets.
  installDisruption(d);
  // v1 ResourceQuota: admission committed with the write it admits (every namespaced kind).
  const admitCustomKind = installQuota(d.resources);
  // kueue.x-k8s.io: ClusterQueue reservations committed with each workload's admission and release.
  installQueues(d.resources);
  // apps/v1: the deployments/scale and replicasets/scale subresources.
  installScale(d);
  // Node agents: the pods/log and pods/exec proxies (their control loops run in cell-controller-manager).
  installAgentIntegration(d);
  // GET /audit: every ledger kind above, checked together at one revision (ledgers/ledger.ts).
  installAudit(d, [nodeAllocationLedger, resourceQuotaLedger(d.resources), clusterQueueLedger(d.resources)]);
  return { admitCustomKind };
}
