// RBAC rule evaluation (DESIGN §2), from watch-cached views of Role, ClusterRole, RoleBinding and
// ClusterRoleBinding: no store read per request. Bindings are indexed by subject (user, group,
// service account) with their role's rules resolved, so a request costs a few map lookups and a
// scan of the rules granted to that user. The index is rebuilt lazily after any RBAC change.
import type { ResourceStore } from '../registry/resource-store.js';
import type { KubeObject } from '../registry/object.js';
import type { WatcherSink } from '../registry/watch-cache.js';
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject } from '../../shared/api/rbac.js';
import { errorMessage } from '../../shared/errors.js';
import { labelSelectorFromSpec } from '../../shared/labels.js';
import type { Logger } from '../../shared/logging.js';
import type { UserInfo } from './tokens.js';

/** Every authenticated user is in this group (Kubernetes adds it to each). */
export const AUTHENTICATED_GROUP = 'system:authenticated';

/** What one request asks to do, as RBAC sees it (verbs are open: `bind`, `escalate`, ...). */
export interface ResourceRequest {
  verb: string;
  group: string;
  resource: string;
  subresource?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
}

export interface NonResourceRequest {
  verb: string;
  path: string;
}

/** Rules one binding gives one subject. */
export interface Grant {
  /** The RoleBinding's namespace; undefined for a ClusterRoleBinding (everywhere). */
  namespace: string | undefined;
  /** The ClusterRole's name when the role is a ClusterRole (system:node is restricted by code). */
  clusterRole: string | undefined;
  rules: readonly PolicyRule[];
  /** For review reasons: `ClusterRoleBinding "x" of ClusterRole "y" to Group "z"`. */
  source: string;
}

function has(list: readonly string[] | undefined, value: string): boolean {
  if (!list) return false;
  for (const v of list) if (v === value || v === '*') return true;
  return false;
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const list = rule.resources ?? [];
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of list) {
    if (r === '*' || r === combined) return true;
    // `*/status` covers the status subresource of every resource.
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

export function ruleAllowsResource(rule: PolicyRule, r: ResourceRequest): boolean {
  if (!has(rule.verbs, r.verb) || !has(rule.apiGroups, r.group) || !resourceMatches(rule, r.resource, r.subresource)) return false;
  const names = rule.resourceNames ?? [];
  if (names.length === 0) return true;
  return r.name !== undefined && r.name !== '' && names.includes(r.name);
}

export function ruleAllowsNonResource(rule: PolicyRule, r: NonResourceRequest): boolean {
  if (!has(rule.verbs, r.verb)) return false;
  for (const url of rule.nonResourceURLs ?? []) {
    if (url === '*' || url === r.path) return true;
    if (url.endsWith('*') && r.path.startsWith(url.slice(0, -1))) return true;
  }
  return false;
}

/** The index key of a subject: ServiceAccounts are users named `system:serviceaccount:<ns>:<name>`. */
function subjectKey(s: Subject, bindingNamespace: string | undefined): string | undefined {
  switch (s.kind) {
    case 'User':
      return `User:${s.name}`;
    case 'Group':
      return `Group:${s.name}`;
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return ns ? `User:system:serviceaccount:${ns}:${s.name}` : undefined;
    }
    default:
      return undefined;
  }
}

function describeSubject(s: Subject): string {
  return s.kind === 'ServiceAccount' ? `ServiceAccount "${s.namespace ? `${s.namespace}/` : ''}${s.name}"` : `${s.kind} "${s.name}"`;
}

/** An immutable snapshot: subject key → what it is granted. */
/**
 * Each ClusterRole's rules with those its aggregationRule selects added: the rules of every other
 * ClusterRole whose labels a selector matches, and theirs in turn (a CRD's author labels a role
 * `aggregate-to-edit`, and every holder of `edit` gets it). Kubernetes writes the result into the
 * role with a controller; here it is computed where rules are read, so every replica agrees at
 * once and the stored role stays as written. A cycle adds each role once.
 */
function aggregatedRules(roles: ReadonlyMap<string, ClusterRole>): Map<string, readonly PolicyRule[]> {
  const out = new Map<string, readonly PolicyRule[]>();
  const visiting = new Set<string>();
  const visit = (name: string, role: ClusterRole): readonly PolicyRule[] => {
    const done = out.get(name);
    if (done) return done;
    const selectors = (role.aggregationRule?.clusterRoleSelectors ?? []).map((s) => labelSelectorFromSpec(s));
    if (selectors.length === 0) {
      out.set(name, role.rules);
      return role.rules;
    }
    // Met again while its own aggregation is being gathered: its own rules, once.
    if (visiting.has(name)) return role.rules;
    visiting.add(name);
    const rules = [...role.rules];
    for (const [other, r] of roles) {
      if (other !== name && selectors.some((s) => s.matches(r.metadata.labels))) rules.push(...visit(other, r));
    }
    visiting.delete(name);
    out.set(name, rules);
    return rules;
  };
  for (const [name, role] of roles) visit(name, role);
  return out;
}

class RbacIndex {
  readonly bySubject = new Map<string, Grant[]>();
  /** Each ClusterRole's rules, aggregated ones included. */
  private readonly clusterRoleRules: Map<string, readonly PolicyRule[]>;

  constructor(
    readonly roles: ReadonlyMap<string, Role>,
    readonly clusterRoles: ReadonlyMap<string, ClusterRole>,
    roleBindings: Iterable<RoleBinding>,
    clusterRoleBindings: Iterable<ClusterRoleBinding>,
  ) {
    this.clusterRoleRules = aggregatedRules(clusterRoles);
    for (const b of clusterRoleBindings) {
      const rules = this.clusterRoleRules.get(b.roleRef.name);
      // A binding to a missing role grants nothing (until the role appears).
      if (!rules || b.roleRef.kind !== 'ClusterRole') continue;
      this.add(b.subjects ?? [], undefined, rules, b.roleRef.name, `ClusterRoleBinding "${b.metadata.name ?? ''}" of ClusterRole "${b.roleRef.name}"`);
    }
    for (const b of roleBindings) {
      const ns = b.metadata.namespace ?? '';
      const rules = this.roleRules(b.roleRef, ns);
      if (!rules) continue;
      const cr = b.roleRef.kind === 'ClusterRole' ? b.roleRef.name : undefined;
      this.add(b.subjects ?? [], ns, rules, cr, `RoleBinding "${b.metadata.name ?? ''}/${ns}" of ${b.roleRef.kind} "${b.roleRef.name}"`);
    }
  }

  roleRules(ref: RoleRef, namespace: string): readonly PolicyRule[] | undefined {
    if (ref.kind === 'ClusterRole') return this.clusterRoleRules.get(ref.name);
    if (ref.kind === 'Role') return this.roles.get(`${namespace}/${ref.name}`)?.rules;
    return undefined;
  }

  private add(subjects: Subject[], namespace: string | undefined, rules: readonly PolicyRule[], clusterRole: string | undefined, source: string): void {
    for (const s of subjects) {
      const key = subjectKey(s, namespace);
      if (key === undefined) continue;
      let list = this.bySubject.get(key);
      if (!list) this.bySubject.set(key, (list = []));
      list.push({ namespace, clusterRole, rules, source: `${source} to ${describeSubject(s)}` });
    }
  }
}

/** The grants of one user, memoised per index generation. */
interface UserGrants {
  index: RbacIndex;
  grants: Grant[];
}

type Kind = 'roles' | 'clusterroles' | 'rolebindings' | 'clusterrolebindings';

export interface RbacStores {
  roles: ResourceStore;
  clusterroles: ResourceStore;
  rolebindings: ResourceStore;
  clusterrolebindings: ResourceStore;
}

export class RbacAuthorizer {
  private readonly objects: Record<Kind, Map<string, KubeObject>> = {
    roles: new Map(),
    clusterroles: new Map(),
    rolebindings: new Map(),
    clusterrolebindings: new Map(),
  };
  private index: RbacIndex | undefined;
  /** Keyed by the UserInfo object: an authenticator hands out the same object for the same credential. */
  private memo = new WeakMap<UserInfo, UserGrants>();
  private readonly stops: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly log: Logger) {}

  /** Follow the four kinds' watch caches; resolves once their current state is loaded. */
  async start(stores: RbacStores): Promise<void> {
    await Promise.all((Object.keys(this.objects) as Kind[]).map((kind) => this.follow(kind, stores[kind])));
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.stops.splice(0)) s();
  }

  private async follow(kind: Kind, store: ResourceStore): Promise<void> {
    const map = this.objects[kind];
    map.clear();
    this.changed();
    const sink: WatcherSink = {
      send: (type, watched) => {
        const obj = watched.object();
        const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
        if (type === 'DELETED') map.delete(key);
        else map.set(key, obj);
        this.changed();
        return true;
      },
      bookmark: () => undefined,
      close: (err) => {
        if (this.stopped || err === undefined) return;
        // The cache re-listed (its store watch broke): start over from its fresh state.
        this.log.warn('RBAC view lost its watch; reloading', { kind, error: err.message });
        void this.follow(kind, store).catch((e: unknown) => this.log.error('RBAC view could not reload', { kind, error: errorMessage(e) }));
      },
    };
    this.stops.push(await store.cache.watch(undefined, { keyPrefix: store.keyPrefix(undefined) }, sink));
  }

  private changed(): void {
    this.index = undefined;
  }

  private current(): RbacIndex {
    if (!this.index) {
      const typed = <T>(kind: Kind) => this.objects[kind] as unknown as Map<string, T>;
      this.index = new RbacIndex(
        typed<Role>('roles'),
        new Map([...typed<ClusterRole>('clusterroles').values()].map((r) => [r.metadata.name ?? '', r])),
        typed<RoleBinding>('rolebindings').values(),
        typed<ClusterRoleBinding>('clusterrolebindings').values(),
      );
      this.memo = new WeakMap();
    }
    return this.index;
  }

  /**
   * Everything `user` is granted. `implicitAuthenticated` adds system:authenticated, as every
   * authenticated request has it; a SubjectAccessReview about someone else asks with the groups given.
   */
  grantsOf(user: UserInfo, implicitAuthenticated = true): readonly Grant[] {
    const index = this.current();
    const memo = implicitAuthenticated ? this.memo.get(user) : undefined;
    if (memo && memo.index === index) return memo.grants;
    const grants: Grant[] = [];
    const add = (key: string) => {
      const g = index.bySubject.get(key);
      if (g) grants.push(...g);
    };
    add(`User:${user.name}`);
    for (const group of user.groups) add(`Group:${group}`);
    if (implicitAuthenticated && !user.groups.includes(AUTHENTICATED_GROUP)) add(`Group:${AUTHENTICATED_GROUP}`);
    if (implicitAuthenticated) this.memo.set(user, { index, grants });
    return grants;
  }

  /** The rules a role reference names, or undefined when that role does not exist. */
  roleRules(ref: RoleRef, namespace: string): readonly PolicyRule[] | undefined {
    return this.current().roleRules(ref, namespace);
  }
}

/** Grants that apply to a request in `namespace` (undefined: cluster-scoped or non-resource). */
export function appliesIn(g: Grant, namespace: string | undefined): boolean {
  return g.namespace === undefined || g.namespace === namespace;
}
