// The default ClusterRoles and ClusterRoleBindings every cluster starts with (DESIGN §2). They
// reproduce the four built-in groups (system:masters, system:schedulers, system:nodes,
// system:viewers), give every authenticated user discovery and self-reviews, and provide
// Kubernetes' admin/edit/view roles for tenants (bound per namespace with RoleBindings).
// The server creates missing ones at start and puts back edited ones whose
// `rbac.authorization.kubernetes.io/autoupdate` annotation is not "false", as Kubernetes does.
import { isDeepStrictEqual } from 'node:util';
import { RESOURCES } from '../../shared/api/registry.js';
import { RBAC_API_VERSION, RBAC_GROUP, type ClusterRole, type ClusterRoleBinding, type PolicyRule } from '../../shared/api/rbac.js';
import { AlreadyExistsError, ConflictError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { KubeObject } from '../registry/object.js';
import type { RestResource } from '../registry/rest.js';
import { revisionOf } from '../storage/resource-version.js';
import { AUTHENTICATED_GROUP } from './rbac.js';

export const AUTOUPDATE_ANNOTATION = 'rbac.authorization.kubernetes.io/autoupdate';
const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };

/** The ClusterRole whose grants NodeRestriction narrows to the node's own objects (authorizer.ts). */
export const NODE_ROLE = 'system:node';

const READ = ['get', 'list', 'watch'];
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
  const groups = [...new Set(RESOURCES.map((r) => r.group))].filter((g) => g !== RBAC_GROUP);
  return [rule(groups, ['*'], READ)];
}

/**
 * Kinds tenants do not write even with `edit`: system-maintained heartbeats and records, and
 * their own namespace's quotas (as in Kubernetes, admin and edit only read ResourceQuotas).
 */
const NOT_EDITABLE = new Set(['leases', 'events', 'resourcequotas']);

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

function clusterRole(name: string, rules: PolicyRule[]): ClusterRole {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'ClusterRole',
    metadata: { name, labels: BOOTSTRAP_LABELS, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } },
    rules,
  };
}

function groupBinding(name: string, role: string, groups: string[]): ClusterRoleBinding {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: BOOTSTRAP_LABELS, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role },
    subjects: groups.map((g) => ({ kind: 'Group', apiGroup: RBAC_GROUP, name: g })),
  };
}

export function defaultClusterRoles(): ClusterRole[] {
  const view = readEverything();
  const edit = [...view, ...editWorkloads()];
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), { nonResourceURLs: ['*'], verbs: ['*'] }]),
    clusterRole('admin', [...edit, rule([RBAC_GROUP], ['roles', 'rolebindings'], [...READ, ...WRITE])]),
    clusterRole('edit', edit),
    clusterRole('view', view),
    // Discovery and version: what every client reads before anything else.
    clusterRole('system:discovery', [{ nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*', '/version', '/version/'], verbs: ['get'] }]),
    clusterRole('system:public-info-viewer', [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }]),
    // Asking about oneself: `kubectl auth can-i` and `kubectl auth whoami`.
    clusterRole('system:basic-user', [
      rule(['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], ['create']),
      rule(['authentication.k8s.io'], ['selfsubjectreviews'], ['create']),
    ]),
    clusterRole('system:monitoring', [{ nonResourceURLs: ['/metrics', '/metrics/*', '/healthz', '/livez', '/readyz'], verbs: ['get'] }]),
    // Exactly what a scheduler needs: read everything, bind, report status, evict, record events,
    // and hold its leader-election lease.
    clusterRole('system:cell-scheduler', [
      rule(['*'], ['*'], READ),
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
      rule(['scheduling.cell.dev'], ['nodeallocations'], READ),
    ]),
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
    groupBinding('system:monitoring', 'system:monitoring', ['system:monitoring', 'system:viewers', 'system:schedulers']),
  ];
}

/** The part of a default the reconciler keeps as shipped. */
function managedPart(obj: KubeObject): unknown {
  return obj.kind === 'ClusterRole' ? { rules: obj['rules'] } : { roleRef: obj['roleRef'], subjects: obj['subjects'] };
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
