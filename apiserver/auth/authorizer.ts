// Authorization (DESIGN §2): four built-in groups, plus node restriction for agents. Request-level
// rules are here; object-level node restriction (is this pod bound to the calling node?) is
// `nodeMayTouchPod`, called by the handlers once they have the object.
import { ForbiddenError } from '../../shared/errors.js';
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

const READ_VERBS = new Set(['get', 'list', 'watch']);
const NODE_PREFIX = 'system:node:';

/** The node a user acts for, when it is a node agent. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.groups.includes('system:nodes') || !user.name.startsWith(NODE_PREFIX)) return undefined;
  return user.name.slice(NODE_PREFIX.length);
}

function schedulerAllows(a: RequestAttributes): boolean {
  if (READ_VERBS.has(a.verb)) return true;
  const r = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  switch (r) {
    case 'pods/binding':
    case 'placements':
      return a.verb === 'create';
    case 'pods/status':
    case 'podgroups/status':
      return a.verb === 'update' || a.verb === 'patch';
    case 'pods':
      // Preemption evicts victims by graceful delete.
      return a.verb === 'delete';
    case 'events':
      return a.verb === 'create' || a.verb === 'update' || a.verb === 'patch';
    case 'leases':
      return a.verb !== 'deletecollection';
    default:
      return false;
  }
}

function nodeAllows(node: string, a: RequestAttributes): boolean {
  const r = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  switch (r) {
    case 'nodes':
    case 'nodes/status':
      if (READ_VERBS.has(a.verb)) return true;
      // A create names no object in its URL: nodeMayCreate checks the body's name.
      if (r === 'nodes' && a.verb === 'create' && a.name === undefined) return true;
      return ['create', 'update', 'patch'].includes(a.verb) && a.name === node;
    case 'leases':
      if (a.namespace !== 'kube-node-lease') return false;
      if (a.verb === 'create' && a.name === undefined) return true;
      return a.name === node && ['get', 'create', 'update', 'patch'].includes(a.verb);
    case 'pods':
      if (a.verb === 'list' || a.verb === 'watch') return a.nodeNameSelector === node;
      // Single-pod reads and deletes are checked against the object by nodeMayTouchPod.
      return a.verb === 'get' || a.verb === 'delete';
    case 'pods/status':
      return a.verb === 'get' || a.verb === 'update' || a.verb === 'patch';
    case 'events':
      return a.verb === 'create' || a.verb === 'update' || a.verb === 'patch';
    case 'namespaces':
    case 'nodeallocations':
      return READ_VERBS.has(a.verb);
    default:
      return false;
  }
}

export function authorize(user: UserInfo, a: RequestAttributes): void {
  const g = user.groups;
  if (g.includes('system:masters')) return;
  if (g.includes('system:schedulers') && schedulerAllows(a)) return;
  const node = nodeNameOf(user);
  if (node !== undefined && nodeAllows(node, a)) return;
  if (g.includes('system:viewers') && READ_VERBS.has(a.verb)) return;
  const what = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  const group = a.group === '' ? '""' : `"${a.group}"`;
  throw new ForbiddenError(
    `${a.name ? `${what} "${a.name}"` : what} is forbidden: User "${user.name}" cannot ${a.verb} resource "${what}" in API group ${group}${where}`,
    { name: a.name, group: a.group, kind: a.resource },
  );
}

/**
 * Node restriction on a create, once the body is read: a node may create only its own Node and its
 * own Lease (the URL of a create names no object, so `authorize` could not check the name).
 */
export function nodeMayCreate(user: UserInfo, a: RequestAttributes, objectName: string | undefined): void {
  const node = nodeNameOf(user);
  if (node === undefined || a.verb !== 'create' || a.subresource !== undefined) return;
  if (a.resource !== 'nodes' && a.resource !== 'leases') return;
  // Allowed by a broader rule than the node's own.
  if (user.groups.includes('system:masters') || (user.groups.includes('system:schedulers') && schedulerAllows(a))) return;
  if (objectName !== node) {
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
  if (node === undefined || user.groups.includes('system:masters')) return;
  if (podNodeName !== node) {
    throw new ForbiddenError(`pods "${podName}" is forbidden: node "${node}" can only access pods bound to it`, {
      name: podName,
      kind: 'pods',
    });
  }
}
