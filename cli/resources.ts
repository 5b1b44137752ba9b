// Turning what a user typed (`po`, `pods,nodes`, `pod/web-1`, `all`,
// `podgroups.scheduling.x-k8s.io`) into resources and names, through the shared registry, and
// addressing them (namespace or not) for the API client.
import { resolveResource, resourcesInCategory, RESOURCES, type ResourceInfo } from '../shared/api/registry.js';
import type { ResourceRef } from '../shared/client/http-client.js';
import { UsageError } from './errors.js';

export function resolveType(typed: string): ResourceInfo {
  const info = resolveResource(typed);
  if (!info) throw new UsageError(`the server doesn't have a resource type "${typed}"`);
  return info;
}

export interface Target {
  info: ResourceInfo;
  /** Empty: every object (of the namespace, or matching the selector). */
  names: string[];
}

export interface ParsedTargets {
  targets: Target[];
  /** Several types were asked for (or a category): names print as `pod/x` so rows stay unambiguous. */
  multipleTypes: boolean;
}

/**
 * `TYPE[,TYPE…] [NAME…]` or `TYPE/NAME…`, kubectl's two forms (not mixed). Categories (`all`)
 * expand to their members when `categories` is set.
 */
export function parseTargets(args: readonly string[], opts: { categories?: boolean } = {}): ParsedTargets {
  if (args.length === 0) throw new UsageError('you must specify the type of resource (e.g. pods, nodes; see "cellctl api-resources")');
  const slashed = args.filter((a) => a.includes('/'));
  if (slashed.length > 0) {
    if (slashed.length !== args.length) {
      throw new UsageError(`there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'cellctl get resource/<resource_name>' instead of 'cellctl get resource resource/<resource_name>')`);
    }
    const targets: Target[] = [];
    for (const a of args) {
      const slash = a.indexOf('/');
      const type = a.slice(0, slash);
      const name = a.slice(slash + 1);
      if (type === '' || name === '') throw new UsageError(`arguments in resource/name form must have a single resource and name, not "${a}"`);
      const info = resolveType(type);
      const existing = targets.find((t) => t.info === info);
      if (existing) existing.names.push(name);
      else targets.push({ info, names: [name] });
    }
    return { targets, multipleTypes: targets.length > 1 };
  }
  const [typeList, ...names] = args;
  const infos: ResourceInfo[] = [];
  let category = false;
  for (const t of typeList!.split(',').filter((s) => s !== '')) {
    const members = opts.categories ? resourcesInCategory(t.toLowerCase()) : [];
    if (members.length > 0 && !resolveResource(t)) {
      category = true;
      for (const m of members) if (!infos.includes(m)) infos.push(m);
      continue;
    }
    const info = resolveType(t);
    if (!infos.includes(info)) infos.push(info);
  }
  if (infos.length === 0) throw new UsageError('you must specify the type of resource');
  return { targets: infos.map((info) => ({ info, names: [...names] })), multipleTypes: infos.length > 1 || category };
}

/** The API address of a resource (collection when `name` is absent); the namespace is dropped for cluster-scoped kinds. */
export function refFor(info: ResourceInfo, namespace: string | undefined, name?: string, subresource?: string): ResourceRef {
  const ref: ResourceRef = { group: info.group, version: info.version, resource: info.resource };
  if (info.namespaced && namespace !== undefined) ref.namespace = namespace;
  if (name !== undefined) ref.name = name;
  if (subresource !== undefined) ref.subresource = subresource;
  return ref;
}

/** Every name a user may type for a resource type (for completion and `api-resources`). */
export function typeNames(): string[] {
  return [...new Set(RESOURCES.flatMap((r) => [r.resource, r.singularName, ...r.shortNames]))].sort();
}
