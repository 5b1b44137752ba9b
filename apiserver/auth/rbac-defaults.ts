// The default ClusterRoles and ClusterRoleBindings every cluster starts with (DESIGN §2). They
// reproduce the four built-in groups (system:masters, system:schedulers, system:nodes,
// system:viewers), give every authenticated user discovery and self-reviews, provide
// Kubernetes' admin/edit/view roles for tenants (bound per namespace with RoleBindings), and give
// cell-controller-manager's user exactly what its control loops do.
// The server creates missing ones at start and puts back edited ones whose
// `rbac.authorization.kubernetes.io/autoupdate` annotation is not "false", as Kubernetes does.
import { isDeepStrictEqual } from 'node:util';
import { METRICS_GROUP } from '../../shared/api/metrics.js';
import { RESOURCES, type SubresourceInfo } from '../../shared/api/registry.js';
import { SERVICE_ACCOUNTS_GROUP } from '../../shared/api/serviceaccount.js';
import { AGGREGATE_TO_LABEL, RBAC_API_VERSION, RBAC_GROUP, type AggregationRule, type ClusterRole, type ClusterRoleBinding, type PolicyRule } from '../../shared/api/rbac.js';
import { AlreadyExistsError, ConflictError, errorMessage } from '../../shared/errors.js';
import { PROXY_KEYS_PATH } from '../../shared/proxy-signature.js';
import type { Logger } from '../../shared/logging.js';
import type { KubeObject } from '../registry/object.js';
import type { RestResource } from '../registry/rest.js';
import { revisionOf } from '../storage/resource-version.js';
import { AUTHENTICATED_GROUP } from './rbac.js';
import { OIDC_DISCOVERY_PATH, OIDC_JWKS_PATH } from './service-account-tokens.js';

export const AUTOUPDATE_ANNOTATION = 'rbac.authorization.kubernetes.io/autoupdate';
const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };

/** The ClusterRole whose grants NodeRestriction narrows to the node's own objects (authorizer.ts). */
export const NODE_ROLE = 'system:node';
/** The user cell-controller-manager runs as, and its ClusterRole. */
export const CONTROLLER_MANAGER_USER = 'system:cell-controller-manager';
const KUEUE_GROUP = 'kueue.x-k8s.io';

const READ = ['get', 'list', 'watch'];
/** What only `edit` and above read (a viewer could otherwise read every credential in the namespace). */
const SECRET_RESOURCES = new Set(['secrets']);
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

function rule(apiGroups: string[], resources: string[], verbs: string[]): PolicyRule {
  return { apiGroups, resources, verbs };
}

/**
 * Read access to everything served outside RBAC (system:viewers read every resource and
 * subresource, as before RBAC). The groups come from the resource table, so a kind added later
 * is readable by viewers without touching this file.
 */
function readEverything(): PolicyRule[] {
  const groups = [...new Set(RESOURCES.map((r) => r.group))].filter((g) => g !== RBAC_GROUP && g !== '');
  // The core group by name: everything but Secrets, which `view` does not read in Kubernetes either.
  const readable = (s: SubresourceInfo) => s.verbs.includes('get') && s.connect !== true;
  const core = RESOURCES.filter((r) => r.group === '' && !SECRET_RESOURCES.has(r.resource)).flatMap((r) => [r.resource, ...r.subresources.filter(readable).map((s) => `${r.resource}/${s.name}`)]);
  // The metrics API (`kubectl top`), as Kubernetes' system:aggregated-metrics-reader adds it to view.
  return [rule([''], core, READ), rule(groups, ['*'], READ), rule([METRICS_GROUP], ['pods', 'nodes'], ['get', 'list'])];
}

/**
 * Kinds tenants do not write even with `edit`: system-maintained heartbeats and records (a
 * DaemonSet's revision history among them), and their own namespace's quotas and limit ranges (as
 * in Kubernetes, admin and edit only read them).
 */
const NOT_EDITABLE = new Set(['leases', 'events', 'resourcequotas', 'limitranges', 'controllerrevisions']);

/** Writes on the namespaced workload kinds (and their non-status subresources). */
function editWorkloads(): PolicyRule[] {
  const byGroup = new Map<string, string[]>();
  for (const r of RESOURCES) {
    if (!r.namespaced || r.group === RBAC_GROUP || NOT_EDITABLE.has(r.resource) || !r.verbs.some((v) => WRITE.includes(v))) continue;
    // status is the controllers' to write; binding is the scheduler's.
    const subs = r.subresources.filter((s) => s.name !== 'status' && s.name !== 'binding' && s.verbs.some((v) => WRITE.includes(v)));
    byGroup.set(r.group, [...(byGroup.get(r.group) ?? []), r.resource, ...subs.map((s) => `${r.resource}/${s.name}`)]);
  }
  return [...byGroup].map(([g, resources]) => rule([g], resources, WRITE));
}

/**
 * The garbage collector's writes: it removes finalizers and owner references (update) and deletes
 * dependents (delete) of every kind it watches — the built-in ones (garbage-collector/kinds.ts)
 * and every custom kind a CustomResourceDefinition adds while the cluster runs. Those groups
 * cannot be listed in a role made at start, so the grant is every group and resource, as
 * Kubernetes' collector role has it (get, list, watch, patch, update and delete on `*`). That is
 * broad: every kind and every subresource, Secrets, Namespaces, Nodes and RBAC objects included.
 * What still bounds it: no create, patch or deletecollection; and an update of an RBAC object
 * passes escalation prevention (auth/escalation.ts), so the controller manager grants no one,
 * itself included, anything it does not hold. Deleting an RBAC object is not checked that way
 * (it grants nothing), as in Kubernetes.
 */
function collectGarbage(): PolicyRule[] {
  return [rule(['*'], ['*'], ['update', 'delete'])];
}

/**
 * cell-controller-manager (controllers/catalog.ts), rule by rule as its loops use the API. Reading
 * is everything: the garbage collector watches every kind and the quota controller counts them.
 * It creates no namespaces, nodes, bindings, placements or RBAC objects; it updates and deletes
 * objects of every kind (the collector's, below), and its updates of RBAC objects still pass
 * escalation prevention, so it cannot grant itself more.
 */
function controllerManagerRules(): PolicyRule[] {
  return [
    rule(['*'], ['*'], READ),
    ...collectGarbage(),
    // Leader election (kube-system/cell-controller-manager), and Events from every loop (a repeat
    // is counted into the stored one by a patch).
    rule(['coordination.k8s.io'], ['leases'], ['create', 'update']),
    rule([''], ['events'], ['create', 'patch']),
    // Node lifecycle: Ready=Unknown and the unreachable taint; pods of lost nodes failed. Pod GC too.
    rule([''], ['nodes'], ['update']),
    rule([''], ['nodes/status'], ['update', 'patch']),
    rule([''], ['pods/status'], ['update', 'patch']),
    // ReplicaSet and Job controllers: pods created and deleted, adopted and released (patch of
    // ownerReferences), the Job tracking finalizer removed (JSON patch).
    rule([''], ['pods'], ['create', 'delete', 'patch']),
    rule(['apps'], ['replicasets'], ['create', 'update', 'patch', 'delete']),
    rule(['apps'], ['replicasets/status', 'deployments/status', 'daemonsets/status', 'statefulsets/status'], ['update', 'patch']),
    // DaemonSet and StatefulSet controllers: their templates' history.
    rule(['apps'], ['controllerrevisions'], ['create', 'update', 'patch', 'delete']),
    // Deployment controller: the revision annotation.
    rule(['apps'], ['deployments'], ['patch']),
    // Job controller: status, TTL deletes, a gang Job's PodGroup. CronJob controller: its Jobs
    // created, replaced and pruned, its status.
    rule(['batch'], ['jobs'], ['create', 'delete']),
    rule(['batch'], ['cronjobs/status'], ['update', 'patch']),
    rule(['batch'], ['jobs/status'], ['update', 'patch']),
    rule(['scheduling.x-k8s.io'], ['podgroups'], ['create']),
    // ServiceAccount controller: each namespace's `default` account.
    rule([''], ['serviceaccounts'], ['create']),
    // Endpoints and endpointslice controllers: each selector Service's Endpoints and EndpointSlices.
    rule([''], ['endpoints'], ['create', 'update', 'delete']),
    rule(['discovery.k8s.io'], ['endpointslices'], ['create', 'update', 'delete']),
    // Ingress status: where cell's agents serve each Ingress.
    rule(['networking.k8s.io'], ['ingresses/status'], ['update', 'patch']),
    // Horizontal pod autoscaler: the replica count of what it scales, through the scale
    // subresource, and its own status (it reads pod usage through the metrics API, above).
    rule(['apps'], ['deployments/scale', 'replicasets/scale', 'statefulsets/scale'], ['update', 'patch']),
    rule(['autoscaling'], ['horizontalpodautoscalers/status'], ['update', 'patch']),
    // Disruption and resource quota controllers: their status.
    rule(['policy'], ['poddisruptionbudgets/status'], ['update', 'patch']),
    rule([''], ['resourcequotas/status'], ['update', 'patch']),
    // Queue admission (Kueue's API): a Workload per queued Job, admitted through its status, the
    // queues' and flavors' finalizers and status; an admitted Job is resumed (unsuspended, with its
    // flavor's node selector).
    rule([KUEUE_GROUP], ['workloads'], ['create', 'update', 'patch', 'delete']),
    rule([KUEUE_GROUP], ['clusterqueues', 'localqueues', 'resourceflavors'], ['update', 'patch']),
    rule([KUEUE_GROUP], ['workloads/status', 'clusterqueues/status', 'localqueues/status', 'resourceflavors/status'], ['update', 'patch']),
    rule(['batch'], ['jobs'], ['update', 'patch']),
  ];
}

function clusterRole(name: string, rules: PolicyRule[], aggregationRule?: AggregationRule): ClusterRole {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'ClusterRole',
    metadata: { name, labels: BOOTSTRAP_LABELS, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } },
    rules,
    ...(aggregationRule ? { aggregationRule } : {}),
  };
}

/**
 * Kubernetes' aggregation labels for a default role: a role labelled aggregate-to-view joins view,
 * edit and admin; aggregate-to-edit joins edit and admin (Kubernetes gets there by labelling view
 * and edit in turn; selecting each label directly gives the same rules without a chain).
 */
function aggregating(...to: (keyof typeof AGGREGATE_TO_LABEL)[]): AggregationRule {
  return { clusterRoleSelectors: to.map((t) => ({ matchLabels: { [AGGREGATE_TO_LABEL[t]]: 'true' } })) };
}

function binding(name: string, role: string, subjects: ClusterRoleBinding['subjects']): ClusterRoleBinding {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: BOOTSTRAP_LABELS, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role },
    subjects,
  };
}

function groupBinding(name: string, role: string, groups: string[]): ClusterRoleBinding {
  return binding(name, role, groups.map((g) => ({ kind: 'Group', apiGroup: RBAC_GROUP, name: g })));
}

export function defaultClusterRoles(): ClusterRole[] {
  const view = readEverything();
  const edit = [...view, rule([''], [...SECRET_RESOURCES], READ), ...editWorkloads()];
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), { nonResourceURLs: ['*'], verbs: ['*'] }]),
    // Each also grants the rules of every ClusterRole labelled to join it (a custom kind's roles).
    clusterRole('admin', [...edit, rule([RBAC_GROUP], ['roles', 'rolebindings'], [...READ, ...WRITE])], aggregating('admin', 'edit', 'view')),
    clusterRole('edit', edit, aggregating('edit', 'view')),
    clusterRole('view', view, aggregating('view')),
    // Discovery and version: what every client reads before anything else.
    clusterRole('system:discovery', [{ nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*', '/version', '/version/'], verbs: ['get'] }]),
    clusterRole('system:public-info-viewer', [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }]),
    // Asking about oneself: `kubectl auth can-i` and `kubectl auth whoami`.
    clusterRole('system:basic-user', [
      rule(['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], ['create']),
      rule(['authentication.k8s.io'], ['selfsubjectreviews'], ['create']),
    ]),
    // For servers that authenticate and authorize their own clients through this one (a webhook).
    clusterRole('system:auth-delegator', [
      rule(['authentication.k8s.io'], ['tokenreviews'], ['create']),
      rule(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
    ]),
    // Where programs outside the cluster find the key service account tokens are signed with.
    clusterRole('system:service-account-issuer-discovery', [{ nonResourceURLs: [OIDC_DISCOVERY_PATH, OIDC_JWKS_PATH], verbs: ['get'] }]),
    // The per-check health paths (/readyz/etcd) give the reason a check fails; the lists are public.
    clusterRole('system:monitoring', [{ nonResourceURLs: ['/metrics', '/metrics/*', '/healthz', '/healthz/*', '/livez', '/livez/*', '/readyz', '/readyz/*'], verbs: ['get'] }]),
    // Exactly what a scheduler needs: read everything, bind, report status, evict, record events,
    // and hold its leader-election lease.
    clusterRole('system:cell-scheduler', [
      // Everything a viewer reads: no Secrets, no RBAC objects.
      ...readEverything(),
      rule([''], ['pods/binding'], ['create']),
      rule(['scheduling.cell.dev'], ['placements'], ['create']),
      rule([''], ['pods/status'], ['update', 'patch']),
      rule(['scheduling.x-k8s.io'], ['podgroups/status'], ['update', 'patch']),
      // Preemption evicts victims by graceful delete.
      rule([''], ['pods'], ['delete']),
      rule([''], ['events'], ['create', 'update', 'patch']),
      rule(['coordination.k8s.io'], ['leases'], ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']),
    ]),
    // A node agent's rules; NodeRestriction (authorizer.ts) narrows them to its own Node, Lease and pods.
    clusterRole(NODE_ROLE, [
      rule([''], ['nodes'], ['get', 'list', 'watch', 'create', 'update', 'patch']),
      rule([''], ['nodes/status'], ['get', 'update', 'patch']),
      rule(['coordination.k8s.io'], ['leases'], ['get', 'create', 'update', 'patch']),
      rule([''], ['pods'], ['get', 'list', 'watch', 'delete']),
      rule([''], ['pods/status'], ['get', 'update', 'patch']),
      rule([''], ['events'], ['create', 'update', 'patch']),
      rule([''], ['namespaces'], READ),
      // Node ports, cluster IPs and Ingresses: each agent relays them to the Services' endpoints
      // (agent/service-proxy.ts, agent/ingress-proxy.ts).
      rule([''], ['services', 'endpoints'], READ),
      rule(['networking.k8s.io'], ['ingresses', 'ingressclasses'], READ),
      rule(['discovery.k8s.io'], ['endpointslices'], READ),
      rule(['scheduling.cell.dev'], ['nodeallocations'], READ),
      // What its pods' env reads: NodeRestriction lets a node get only those its own pods use.
      rule([''], ['configmaps', 'secrets'], ['get']),
      // The public keys that API servers' requests to agents are signed with (shared/proxy-signature.ts).
      { nonResourceURLs: [PROXY_KEYS_PATH], verbs: ['get'] },
    ]),
    clusterRole(CONTROLLER_MANAGER_USER, controllerManagerRules()),
  ];
}

export function defaultClusterRoleBindings(): ClusterRoleBinding[] {
  return [
    groupBinding('cluster-admin', 'cluster-admin', ['system:masters']),
    groupBinding('system:cell-scheduler', 'system:cell-scheduler', ['system:schedulers']),
    groupBinding(NODE_ROLE, NODE_ROLE, ['system:nodes']),
    groupBinding('system:viewers', 'view', ['system:viewers']),
    groupBinding('system:discovery', 'system:discovery', [AUTHENTICATED_GROUP]),
    groupBinding('system:public-info-viewer', 'system:public-info-viewer', [AUTHENTICATED_GROUP]),
    groupBinding('system:basic-user', 'system:basic-user', [AUTHENTICATED_GROUP]),
    groupBinding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [SERVICE_ACCOUNTS_GROUP]),
    groupBinding('system:monitoring', 'system:monitoring', ['system:monitoring', 'system:viewers', 'system:schedulers']),
    binding(CONTROLLER_MANAGER_USER, CONTROLLER_MANAGER_USER, [{ kind: 'User', apiGroup: RBAC_GROUP, name: CONTROLLER_MANAGER_USER }]),
  ];
}

/** The part of a default the reconciler keeps as shipped. */
function managedPart(obj: KubeObject): unknown {
  return obj.kind === 'ClusterRole' ? { rules: obj['rules'], aggregationRule: obj['aggregationRule'] } : { roleRef: obj['roleRef'], subjects: obj['subjects'] };
}

/**
 * Create the defaults that are missing and restore edited ones (unless their autoupdate
 * annotation says "false"). Another API server replica doing the same at once is harmless.
 * Resolves once the watch caches (and so the RBAC view) reflect what it wrote.
 */
export async function reconcileDefaults(rest: { clusterroles: RestResource; clusterrolebindings: RestResource }, log: Logger): Promise<void> {
  const written = new Map<RestResource, number>();
  const wrote = (resource: RestResource, obj: KubeObject) => written.set(resource, Number(obj.metadata.resourceVersion ?? 0));
  const plan: [RestResource, KubeObject[]][] = [
    [rest.clusterroles, defaultClusterRoles()],
    [rest.clusterrolebindings, defaultClusterRoleBindings()],
  ];
  for (const [resource, defaults] of plan) {
    for (const want of defaults) {
      const name = want.metadata.name ?? '';
      const have = await resource.objects.tryGet(undefined, name);
      try {
        if (!have) {
          wrote(resource, await resource.create(undefined, want));
        } else if (have.metadata.annotations?.[AUTOUPDATE_ANNOTATION] !== 'false' && !isDeepStrictEqual(managedPart(have), managedPart(want))) {
          if (have.kind === 'ClusterRoleBinding' && !isDeepStrictEqual(have['roleRef'], want['roleRef'])) {
            // roleRef is immutable: replace the binding.
            await resource.delete(undefined, name);
            wrote(resource, await resource.create(undefined, want));
          } else {
            wrote(resource, await resource.update(undefined, name, { ...have, ...(managedPart(want) as object) }, undefined));
          }
          log.info('restored a default RBAC object', { kind: want.kind, name });
        }
      } catch (err) {
        // Another replica created or restored it first; its copy is the same default.
        if (!(err instanceof AlreadyExistsError) && !(err instanceof ConflictError)) throw err;
        log.debug('default RBAC object created concurrently', { kind: want.kind, name, error: errorMessage(err) });
      }
    }
  }
  for (const [resource, version] of written) {
    if (!(await resource.objects.cache.waitForRevision(revisionOf(version), 10_000))) {
      log.warn('the RBAC view has not caught up with the default roles yet', { resource: resource.def.resource });
    }
  }
}
