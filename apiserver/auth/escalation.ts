// Escalation prevention for RBAC writes, as in Kubernetes: no one grants what they do not hold.
// A Role/ClusterRole write needs every rule in it to be covered by the caller's own rules (in the
// role's namespace, or cluster-wide for a ClusterRole) unless the caller may `escalate` roles —
// also when only a ClusterRole's labels change, since labels feed aggregated roles, and an
// aggregationRule needs `escalate` outright; a binding write needs the referenced role's rules
// (aggregated ones included) covered unless the caller may `bind` that role.
// Runs on the object as it will be written (after a patch is applied), inside the REST write.
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../registry/object.js';
import { RBAC_GROUP, type PolicyRule, type RoleRef } from '../../shared/api/rbac.js';
import { ForbiddenError, InvalidError, NotFoundError } from '../../shared/errors.js';
import { PRIVILEGED_GROUP, type Authorizer } from './authorizer.js';
import { appliesIn, type RbacAuthorizer } from './rbac.js';
import type { UserInfo } from './tokens.js';

export const RBAC_RESOURCES = new Set(['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings']);

function has(list: readonly string[] | undefined, v: string): boolean {
  return (list ?? []).some((x) => x === '*' || x === v);
}

function resourceCovers(owner: readonly string[] | undefined, requested: string): boolean {
  for (const r of owner ?? []) {
    if (r === '*' || r === requested) return true;
    const slash = requested.indexOf('/');
    if (slash >= 0 && r === `*${requested.slice(slash)}`) return true;
  }
  return false;
}

function urlCovers(owner: readonly string[] | undefined, requested: string): boolean {
  for (const u of owner ?? []) {
    if (u === '*' || u === requested) return true;
    if (u.endsWith('*') && requested.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** One requested rule broken into single verb × group × resource × name (or URL) grants. */
function* breakdown(rule: PolicyRule): Generator<PolicyRule> {
  for (const verb of rule.verbs) {
    for (const url of rule.nonResourceURLs ?? []) yield { verbs: [verb], nonResourceURLs: [url] };
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) yield { verbs: [verb], apiGroups: [group], resources: [resource] };
        for (const name of names) yield { verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: [name] };
      }
    }
  }
}

/** Whether one owner rule covers a single-grant rule (Kubernetes' ruleCovers on a broken-down rule). */
function covers(owner: PolicyRule, simple: PolicyRule): boolean {
  const verb = simple.verbs[0]!;
  if (!has(owner.verbs, verb)) return false;
  const url = simple.nonResourceURLs?.[0];
  if (url !== undefined) return urlCovers(owner.nonResourceURLs, url);
  const group = simple.apiGroups?.[0] ?? '';
  const resource = simple.resources?.[0] ?? '';
  if (!has(owner.apiGroups, group) || !resourceCovers(owner.resources, resource)) return false;
  const ownerNames = owner.resourceNames ?? [];
  const name = simple.resourceNames?.[0];
  if (ownerNames.length === 0) return true;
  return name !== undefined && ownerNames.includes(name);
}

/** The requested rules the owner's rules do not cover, as single grants (for the 403 message). */
export function uncovered(owner: readonly PolicyRule[], requested: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const r of requested) for (const simple of breakdown(r)) if (!owner.some((o) => covers(o, simple))) out.push(simple);
  return out;
}

/** Rules as Kubernetes prints them in an escalation error. */
function formatRules(rules: PolicyRule[]): string {
  const shown = rules.slice(0, 10).map((r) =>
    r.nonResourceURLs
      ? `{NonResourceURLs:[${r.nonResourceURLs.join(' ')}], Verbs:[${r.verbs.join(' ')}]}`
      : `{APIGroups:[${(r.apiGroups ?? []).map((g) => `"${g}"`).join(' ')}], Resources:[${(r.resources ?? []).map((x) => `"${x}"`).join(' ')}]${r.resourceNames ? `, ResourceNames:[${r.resourceNames.map((n) => `"${n}"`).join(' ')}]` : ''}, Verbs:[${r.verbs.map((v) => `"${v}"`).join(' ')}]}`,
  );
  return `[${shown.join(' ')}${rules.length > 10 ? ` and ${rules.length - 10} more` : ''}]`;
}

export class EscalationCheck {
  constructor(
    private readonly authorizer: Authorizer,
    private readonly rbac: RbacAuthorizer,
  ) {}

  /** The rules `user` holds in `namespace` (undefined: cluster-wide rules only). */
  private ownerRules(user: UserInfo, namespace: string | undefined): PolicyRule[] {
    return this.rbac.grantsOf(user).filter((g) => appliesIn(g, namespace)).flatMap((g) => g.rules);
  }

  /**
   * The check for one write of an RBAC object: `next` as it will be stored, `current` the object
   * it replaces (undefined for a create). Also enforces that a binding's roleRef never changes.
   */
  check(user: UserInfo, resource: string, next: KubeObject, current: KubeObject | undefined): void {
    const namespace = next.metadata.namespace;
    const name = next.metadata.name ?? '';
    const isBinding = resource === 'rolebindings' || resource === 'clusterrolebindings';
    if (isBinding && current && !isDeepStrictEqual(next['roleRef'], current['roleRef'])) {
      throw new InvalidError(`${next.kind ?? 'RoleBinding'} "${name}" is invalid: roleRef: Invalid value: cannot change roleRef`, { kind: next.kind, name }, [
        { reason: 'FieldValueInvalid', field: 'roleRef', message: 'Invalid value: cannot change roleRef' },
      ]);
    }
    if (user.groups.includes(PRIVILEGED_GROUP)) return;
    const forbidden = (detail: string) =>
      new ForbiddenError(`${resource}.${RBAC_GROUP} "${name}" is forbidden: ${detail}`, { name, group: RBAC_GROUP, kind: resource });

    if (!isBinding) {
      const rules = (next['rules'] as PolicyRule[] | undefined) ?? [];
      const aggregation = next['aggregationRule'];
      // A ClusterRole's labels say which aggregated roles take its rules: a label change grants.
      const sameGrants =
        current !== undefined &&
        isDeepStrictEqual(rules, current['rules']) &&
        isDeepStrictEqual(aggregation, current['aggregationRule']) &&
        (resource !== 'clusterroles' || isDeepStrictEqual(next.metadata.labels ?? {}, current.metadata.labels ?? {}));
      // Only other metadata changed (annotations, finalizers): nothing is granted anew.
      if (sameGrants) return;
      if (this.authorizer.decide(user, { verb: 'escalate', group: RBAC_GROUP, resource, namespace, name }).allowed) return;
      // An aggregationRule could take in any role's rules (cluster-admin's): as in Kubernetes, only
      // those who may escalate set one.
      if (aggregation !== undefined && !isDeepStrictEqual(aggregation, current?.['aggregationRule'])) {
        throw forbidden(`user "${user.name}" (groups=${JSON.stringify(user.groups)}) must have cluster-admin privileges to use the aggregationRule`);
      }
      const missing = uncovered(this.ownerRules(user, namespace), rules);
      if (missing.length > 0) {
        throw forbidden(`user "${user.name}" (groups=${JSON.stringify(user.groups)}) is attempting to grant RBAC permissions not currently held: ${formatRules(missing)}`);
      }
      return;
    }

    const ref = next['roleRef'] as RoleRef;
    if (current && isDeepStrictEqual(next['subjects'], current['subjects'])) return;
    const roleResource = ref.kind === 'Role' ? 'roles' : 'clusterroles';
    if (this.authorizer.decide(user, { verb: 'bind', group: RBAC_GROUP, resource: roleResource, namespace, name: ref.name }).allowed) return;
    const rules = this.rbac.roleRules(ref, namespace ?? '');
    // As Kubernetes: without `bind`, a binding to a role that does not exist cannot be judged.
    if (!rules) throw new NotFoundError(`${roleResource}.${RBAC_GROUP} "${ref.name}" not found`, { name: ref.name, group: RBAC_GROUP, kind: roleResource });
    const missing = uncovered(this.ownerRules(user, namespace), rules);
    if (missing.length > 0) {
      throw forbidden(`user "${user.name}" (groups=${JSON.stringify(user.groups)}) is attempting to grant RBAC permissions not currently held: ${formatRules(missing)}`);
    }
  }
}
