// Turning what a user typed (`po`, `pods,nodes`, `pod/web-1`, `all`,
// `podgroups.scheduling.x-k8s.io`, `widgets.example.com`) and what a manifest names (apiVersion
// and kind) into resources and names, and addressing them (namespace or not) for the API client.
// The built-in table answers first, without a request; what it does not know (custom resources,
// other served versions) is looked up in the server's discovery documents, read at most once per
// invocation. Every command resolves through one ResourceTypes (Cli.types).
import {
  RESOURCES,
  resolveResource,
  resolveResourceIn,
  resourceForKind,
  resourcesInCategory,
  type ResourceInfo,
} from '../shared/api/registry.js';
import type { ResourceRef } from '../shared/client/http-client.js';
import type { DiscoveredResource } from './discovery.js';
import { UsageError } from './errors.js';

export class ResourceTypes {
  private discovered: Promise<readonly DiscoveredResource[]> | undefined;

  /** `discover` reads the server's discovery documents (discovery.ts); it is called at most once. */
  constructor(private readonly discover: () => Promise<readonly DiscoveredResource[]>) {}

  /** What the server serves beyond the built-in table, asked for on first need only. */
  private served(): Promise<readonly DiscoveredResource[]> {
    this.discovered ??= this.discover();
    return this.discovered;
  }

  /** A typed resource name, or undefined when neither the built-in table nor the server knows it. */
  async find(typed: string): Promise<ResourceInfo | undefined> {
    const builtIn = resolveResource(typed);
    if (builtIn) return builtIn;
    return resolveResourceIn((await this.served()).map((d) => d.info), typed);
  }

  /** A typed resource name, or kubectl's error for an unknown one. */
  async resolve(typed: string): Promise<ResourceInfo> {
    const info = await this.find(typed);
    if (!info) throw new UsageError(`the server doesn't have a resource type "${typed}"`);
    return info;
  }

  /** By kind, optionally pinned to an apiVersion (a manifest gives both). */
  async forKind(kind: string, apiVersion?: string): Promise<ResourceInfo | undefined> {
    const builtIn = resourceForKind(kind, apiVersion);
    if (builtIn) return builtIn;
    return (await this.served()).find((d) => d.info.kind === kind && (apiVersion === undefined || d.info.apiVersion === apiVersion))?.info;
  }

  /**
   * A resource type, else the members of a category (`all`): the built-in members, then the server's
   * other resources that join it (custom kinds listing `all` in their categories, as kubectl finds
   * them in discovery). A built-in resource name never asks the server; a category always does.
   */
  async typeOrCategory(typed: string): Promise<{ infos: ResourceInfo[]; category: boolean }> {
    const builtIn = resolveResource(typed);
    if (builtIn) return { infos: [builtIn], category: false };
    const category = typed.toLowerCase();
    const members = resourcesInCategory(category);
    const info = members.length > 0 ? undefined : await this.find(typed);
    if (info) return { infos: [info], category: false };
    const isMember = (d: DiscoveredResource) => members.some((m) => m.group === d.info.group && m.resource === d.info.resource);
    const served = (await this.served()).filter((d) => d.preferred && d.info.categories.includes(category) && !isMember(d));
    if (members.length + served.length > 0) return { infos: [...members, ...served.map((d) => d.info)], category: true };
    throw new UsageError(`the server doesn't have a resource type "${typed}"`);
  }

  /**
   * The resource types `api-resources` lists: the built-in table, then the server's others in their
   * preferred version (custom resources; the metrics API). Asks the server, as kubectl does.
   */
  async listed(): Promise<ResourceInfo[]> {
    const builtIn = (d: DiscoveredResource) => RESOURCES.some((r) => r.group === d.info.group && r.resource === d.info.resource);
    const others = (await this.served()).filter((d) => d.preferred && !builtIn(d)).map((d) => d.info);
    return [...RESOURCES, ...others];
  }
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
export async function parseTargets(types: ResourceTypes, args: readonly string[], opts: { categories?: boolean } = {}): Promise<ParsedTargets> {
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
      const info = await types.resolve(type);
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
    const found = opts.categories ? await types.typeOrCategory(t) : { infos: [await types.resolve(t)], category: false };
    category ||= found.category;
    for (const info of found.infos) if (!infos.includes(info)) infos.push(info);
  }
  if (infos.length === 0) throw new UsageError('you must specify the type of resource');
  return { targets: infos.map((info) => ({ info, names: [...names] })), multipleTypes: infos.length > 1 || category };
}

/** One of the built-in kinds (whose shape cellctl knows), not a custom resource that may share its kind or plural. */
export function isBuiltIn(info: ResourceInfo): boolean {
  return RESOURCES.includes(info);
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
