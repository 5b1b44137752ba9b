// The server's discovery documents, as kubectl reads them: GET /apis, then
// /apis/<group>/<version> for every group version it names. cellctl asks only when a typed
// resource or a manifest's kind is not in the built-in table (a custom resource, another served
// version), and once per invocation (resources.ts keeps the answer). Each listed resource becomes a
// ResourceInfo: the registry's own object when it is a built-in one, else one built from the
// discovery entry, whose schema passes everything through (the server validates custom objects).
import { KubeObjectSchema, ObjectMetaSchema } from '../shared/api/meta.js';
import { ALL_VERBS, defineResource, resourceFor, type ResourceInfo, type SubresourceInfo, type Verb } from '../shared/api/registry.js';
import type { ApiClient } from '../shared/client/http-client.js';
import { NotFoundError } from '../shared/errors.js';

/** One resource (or `plural/subresource`) of an APIResourceList. */
export interface ApiResourceEntry {
  name: string;
  singularName?: string;
  namespaced?: boolean;
  kind?: string;
  verbs?: string[];
  shortNames?: string[];
  categories?: string[];
  /** The body kind's group and version, where not the resource's own (`deployments/scale` takes an autoscaling/v1 Scale). */
  group?: string;
  version?: string;
}

interface ApiResourceList {
  resources?: ApiResourceEntry[];
}

interface GroupVersionRef {
  groupVersion: string;
  version: string;
}

interface ApiGroupList {
  groups?: { name: string; versions?: GroupVersionRef[]; preferredVersion?: GroupVersionRef }[];
}

export interface DiscoveredResource {
  info: ResourceInfo;
  /** In its group's preferred version (the one an unqualified name means, and api-resources lists). */
  preferred: boolean;
}

/** Decodes any object unchanged: cellctl never validates custom objects itself, the server does against the definition's schema. */
const PASS_THROUGH = KubeObjectSchema.extend({ metadata: ObjectMetaSchema.loose() }).loose();

/** A verb cellctl knows (discovery may list others, such as a connect subresource's; none of them matter here). */
function isVerb(v: string): v is Verb {
  return (ALL_VERBS as readonly string[]).includes(v);
}

/** A ResourceInfo for one discovery entry of `group`/`version`, with the subresources listed beside it. */
export function discoveredResourceInfo(group: string, version: string, entry: ApiResourceEntry, subresources: readonly ApiResourceEntry[] = []): ResourceInfo {
  const kind = entry.kind ?? '';
  const subs: SubresourceInfo[] = subresources.map((s) => ({
    name: s.name.slice(s.name.indexOf('/') + 1),
    kind: s.kind ?? kind,
    ...(s.group !== undefined ? { group: s.group } : {}),
    ...(s.version !== undefined ? { version: s.version } : {}),
    verbs: (s.verbs ?? []).filter((v) => isVerb(v)),
  }));
  return defineResource({
    group,
    version,
    kind,
    resource: entry.name,
    namespaced: entry.namespaced === true,
    schema: PASS_THROUGH,
    validate: () => [],
    singularName: entry.singularName || kind.toLowerCase(),
    shortNames: entry.shortNames ?? [],
    categories: entry.categories ?? [],
    verbs: (entry.verbs ?? []).filter((v) => isVerb(v)),
    subresources: subs,
  });
}

/** The resources of one APIResourceList; built-in ones are the registry's objects, so identity checks (`info === podsResource`) hold. */
export function resourcesOfList(group: string, version: string, list: ApiResourceList): ResourceInfo[] {
  const entries = list.resources ?? [];
  return entries
    .filter((e) => !e.name.includes('/'))
    .map(
      (e) =>
        resourceFor(group, version, e.name) ??
        discoveredResourceInfo(group, version, e, entries.filter((s) => s.name.startsWith(`${e.name}/`))),
    );
}

/**
 * Every resource the server lists under /apis, preferred versions first (in the server's group
 * order), then the other served versions. The core group (/api/v1) is left out: nothing but the
 * built-in kinds lives there, and a custom resource never does.
 */
export async function discoverResources(client: ApiClient): Promise<DiscoveredResource[]> {
  const groups = (await client.request<ApiGroupList>('GET', '/apis')).groups ?? [];
  const wanted = groups.flatMap((g) =>
    (g.versions ?? []).map((v) => ({ group: g.name, version: v.version, preferred: v.version === (g.preferredVersion ?? g.versions?.[0])?.version })),
  );
  const lists = await Promise.all(
    wanted.map(async (gv) => {
      try {
        return await client.request<ApiResourceList>('GET', `/apis/${gv.group}/${gv.version}`);
      } catch (err) {
        // A definition deleted between the two requests: its group version is simply no longer served.
        if (err instanceof NotFoundError) return { resources: [] };
        throw err;
      }
    }),
  );
  const found = wanted.flatMap((gv, i) => resourcesOfList(gv.group, gv.version, lists[i]!).map((info) => ({ info, preferred: gv.preferred })));
  return [...found.filter((d) => d.preferred), ...found.filter((d) => !d.preferred)];
}
