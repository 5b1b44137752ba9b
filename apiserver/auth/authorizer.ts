// Authorization (DESIGN §2): system:masters may do anything (as Kubernetes' privileged group);
// everyone else gets what RBAC grants (rbac.ts). NodeRestriction stays code, as in Kubernetes:
// what a node agent is allowed only through the system:node role is narrowed to its own Node,
// its own Lease and the pods bound to it. Request-level checks are here; the object-level one
// (is this pod bound to the calling node?) is `nodeMayTouchPod`, called once the object is read.
import { ForbiddenError } from '../../shared/errors.js';
import { NODE_LEASE_NAMESPACE } from '../../shared/api/coordination.js';
import { NODE_ROLE } from './rbac-defaults.js';
import { appliesIn, ruleAllowsNonResource, ruleAllowsResource, type Grant, type RbacAuthorizer, type ResourceRequest } from './rbac.js';
import type { UserInfo } from './tokens.js';

export interface RequestAttributes {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** For list/watch: the `spec.nodeName` the field selector pins, if any. */
  nodeNameSelector?: string;
}

/** A resource request as reviews and escalation checks ask it: any verb (`bind`, `escalate`). */
export interface AccessAttributes extends ResourceRequest {
  nodeNameSelector?: string | undefined;
}

export interface Decision {
  allowed: boolean;
  /** Why, in Kubernetes' words (`RBAC: allowed by ...`), for SubjectAccessReview status.reason. */
  reason: string;
  /**
   * Allowed only through the system:node role for a ConfigMap or Secret: the node named here may
   * read it only while a pod bound to it uses it, which the handler checks on the pods.
   */
  nodeScoped?: string;
}

/** Kinds a node reads only for the pods bound to it. */
const NODE_SCOPED_RESOURCES = new Set(['configmaps', 'secrets']);

export const PRIVILEGED_GROUP = 'system:masters';
const READ_VERBS = new Set(['get', 'list', 'watch']);
const NODE_PREFIX = 'system:node:';

/** The node a user acts for, when it is a node agent. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.groups.includes('system:nodes') || !user.name.startsWith(NODE_PREFIX)) return undefined;
  return user.name.slice(NODE_PREFIX.length);
}

/**
 * What NodeRestriction lets node `node` do with a request its role allows. Names in URLs are
 * checked here; a create names no object in its URL (nodeMayCreate checks the body's name), and
 * single pods are checked against the object (nodeMayTouchPod).
 */
function nodeRestrictionAllows(node: string, a: AccessAttributes): boolean {
  const r = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  switch (r) {
    case 'nodes':
    case 'nodes/status':
      if (READ_VERBS.has(a.verb)) return true;
      if (r === 'nodes' && a.verb === 'create' && a.name === undefined) return true;
      return a.name === node;
    case 'leases':
      if (a.namespace !== NODE_LEASE_NAMESPACE) return false;
      if (a.verb === 'create' && a.name === undefined) return true;
      return a.name === node;
    case 'pods':
      if (a.verb === 'list' || a.verb === 'watch') return a.nodeNameSelector === node;
      return true;
    case 'configmaps':
    case 'secrets':
      // One by name, never a list; whether a pod of this node uses it is checked on the object (node-config-access.ts).
      return a.verb === 'get' && a.name !== undefined && a.name !== '';
    default:
      return true;
  }
}

/** `/api/v1/namespaces/x` is in namespace x for RBAC, as Kubernetes treats it. */
function rbacView(a: AccessAttributes): AccessAttributes {
  if (a.group === '' && a.resource === 'namespaces' && a.namespace === undefined && a.name) return { ...a, namespace: a.name };
  return a;
}

function forbiddenMessage(user: UserInfo, a: AccessAttributes): string {
  const what = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  const group = a.group === '' ? '""' : `"${a.group}"`;
  // As Kubernetes names it: the group-qualified resource (`deployments.apps`), without the subresource.
  const subject = a.group === '' ? a.resource : `${a.resource}.${a.group}`;
  return `${a.name ? `${subject} "${a.name}"` : subject} is forbidden: User "${user.name}" cannot ${a.verb} resource "${what}" in API group ${group}${where}`;
}

export class Authorizer {
  constructor(private readonly rbac: RbacAuthorizer) {}

  /**
   * The decision for one resource request. `implicitAuthenticated`: the user came through an
   * authenticator (so is in system:authenticated); false for a SubjectAccessReview about someone else.
   */
  decide(user: UserInfo, attrs: AccessAttributes, implicitAuthenticated = true): Decision {
    if (user.groups.includes(PRIVILEGED_GROUP)) return { allowed: true, reason: '' };
    const a = rbacView(attrs);
    const node = nodeNameOf(user);
    let viaNodeRole: Grant | undefined;
    for (const g of this.rbac.grantsOf(user, implicitAuthenticated)) {
      if (!appliesIn(g, a.namespace) || !g.rules.some((r) => ruleAllowsResource(r, a))) continue;
      if (node !== undefined && g.clusterRole === NODE_ROLE) {
        viaNodeRole ??= g;
        continue;
      }
      return { allowed: true, reason: `RBAC: allowed by ${g.source}` };
    }
    if (viaNodeRole && node !== undefined) {
      if (nodeRestrictionAllows(node, a)) {
        const decision: Decision = { allowed: true, reason: `RBAC: allowed by ${viaNodeRole.source}` };
        if (a.group === '' && NODE_SCOPED_RESOURCES.has(a.resource)) decision.nodeScoped = node;
        return decision;
      }
      return { allowed: false, reason: `node "${node}" may only access its own Node, its own Lease in ${NODE_LEASE_NAMESPACE}, pods bound to it and the ConfigMaps and Secrets they use` };
    }
    return { allowed: false, reason: '' };
  }

  decideNonResource(user: UserInfo, verb: string, path: string, implicitAuthenticated = true): Decision {
    if (user.groups.includes(PRIVILEGED_GROUP)) return { allowed: true, reason: '' };
    for (const g of this.rbac.grantsOf(user, implicitAuthenticated)) {
      // RoleBindings never grant non-resource URLs.
      if (g.namespace !== undefined) continue;
      if (g.rules.some((r) => ruleAllowsNonResource(r, { verb, path }))) return { allowed: true, reason: `RBAC: allowed by ${g.source}` };
    }
    return { allowed: false, reason: '' };
  }

  /** Throws 403 unless `user` may make this request; the decision otherwise (see `nodeScoped`). */
  authorize(user: UserInfo, a: RequestAttributes | AccessAttributes): Decision {
    const decision = this.decide(user, a);
    if (decision.allowed) return decision;
    throw new ForbiddenError(forbiddenMessage(user, a), { name: a.name, group: a.group, kind: a.resource });
  }

  /** Throws 403 unless `user` may `verb` the non-resource URL `path`. */
  authorizeNonResource(user: UserInfo, verb: string, path: string): void {
    if (this.decideNonResource(user, verb, path).allowed) return;
    throw new ForbiddenError(`forbidden: User "${user.name}" cannot ${verb} path "${path}"`);
  }

  /**
   * Node restriction on a create, once the body is read: a node may create only its own Node and
   * its own Lease (the URL of a create names no object, so `authorize` could not check the name).
   */
  nodeMayCreate(user: UserInfo, a: RequestAttributes, objectName: string | undefined): void {
    const node = nodeNameOf(user);
    if (node === undefined || a.verb !== 'create' || a.subresource !== undefined) return;
    if (a.resource !== 'nodes' && a.resource !== 'leases') return;
    if (objectName === node) return;
    // Allowed with that name by a broader grant than the node's own?
    if (this.decide(user, { ...a, name: objectName ?? '' }).allowed && objectName !== undefined) return;
    const what = a.resource === 'nodes' ? 'Node' : 'Lease';
    throw new ForbiddenError(`${a.resource} "${objectName ?? ''}" is forbidden: node "${node}" can only create its own ${what}`, {
      name: objectName,
      group: a.group,
      kind: a.resource,
    });
  }
}

/** Node restriction on a concrete pod: an agent may only touch pods bound to its node. */
export function nodeMayTouchPod(user: UserInfo, podNodeName: string | undefined, podName: string): void {
  const node = nodeNameOf(user);
  if (node === undefined || user.groups.includes(PRIVILEGED_GROUP)) return;
  if (podNodeName !== node) {
    throw new ForbiddenError(`pods "${podName}" is forbidden: node "${node}" can only access pods bound to it`, {
      name: podName,
      kind: 'pods',
    });
  }
}
