// Discovery documents, so real clients (kubectl, client libraries) find the resources:
// /version, /api, /api/v1, /apis, /apis/{group}/{version}. Served in the legacy (non-aggregated)
// form, which every client version understands.
import type { ServedResource } from './resources.js';
import { apiVersionOf } from '../registry/rest.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '30',
  gitVersion: 'v1.30.0-cell.0.1.0',
  gitCommit: 'cell',
  gitTreeState: 'clean',
  buildDate: '2026-11-20T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'tsc',
  platform: `${process.platform}/${process.arch}`,
};

/**
 * An API group served by a handler of its own rather than from stored objects (the metrics API),
 * as kube-apiserver lists an aggregated server's groups beside its own.
 */
export interface HandledGroup {
  group: string;
  version: string;
  resources: readonly { name: string; singularName: string; namespaced: boolean; kind: string; verbs: readonly string[] }[];
}

function groupVersions(resources: ServedResource[], handled: readonly HandledGroup[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (group: string, version: string) => {
    if (!out.has(group)) out.set(group, new Set());
    out.get(group)!.add(version);
  };
  for (const r of resources) add(r.rest.def.group, r.rest.def.version);
  for (const h of handled) add(h.group, h.version);
  return out;
}

export function apiVersions() {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '' }],
  };
}

export function apiGroupList(resources: ServedResource[], handled: readonly HandledGroup[] = []) {
  const groups = [...groupVersions(resources, handled)].filter(([g]) => g !== '');
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map(([name, versions]) => {
      const vs = [...versions].map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions: vs, preferredVersion: vs[0] };
    }),
  };
}

export function apiGroup(resources: ServedResource[], group: string, handled: readonly HandledGroup[] = []) {
  const versions = groupVersions(resources, handled).get(group);
  if (!versions) return undefined;
  const vs = [...versions].map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: vs, preferredVersion: vs[0] };
}

export function apiResourceList(resources: ServedResource[], group: string, version: string, handled: readonly HandledGroup[] = []) {
  const own = handled.find((h) => h.group === group && h.version === version);
  if (own) return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources: own.resources };
  const mine = resources.filter((r) => r.rest.def.group === group && r.rest.def.version === version);
  if (mine.length === 0) return undefined;
  const entries: Record<string, unknown>[] = [];
  for (const r of mine) {
    const d = r.rest.def;
    entries.push({
      name: d.resource,
      singularName: r.singularName,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: r.verbs,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length > 0 ? { categories: r.categories } : {}),
    });
    for (const sub of r.subresources) {
      const info = r.subresourceDetails.find((s) => s.name === sub);
      const verbs = info?.verbs ?? (sub === 'status' ? ['get', 'patch', 'update'] : sub === 'log' ? ['get'] : ['create']);
      const kind = info?.kind ?? d.kind;
      // kubectl drain evicts, and kubectl scale finds the Scale kind, only when discovery names the
      // body's group and version where they differ from the resource's own.
      const bodyGroup = info?.group !== undefined ? { group: info.group, version: info.version ?? d.version } : {};
      entries.push({ name: `${d.resource}/${sub}`, singularName: '', namespaced: d.namespaced, ...bodyGroup, kind, verbs });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources: entries,
  };
}
