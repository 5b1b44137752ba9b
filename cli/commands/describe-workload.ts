// `cellctl describe workload NAME`: a Kueue Workload as one page — which queue it waits in and at
// what priority, what each pod set asks for, where its quota is reserved (ClusterQueue, flavor per
// resource, usage), and its conditions, which say why it waits, or who preempted it and why.
import type { KubeObject } from '../../shared/api/meta.js';
import type { Workload } from '../../shared/api/kueue.js';
import { podRequests } from '../../shared/pod-resources.js';
import { toResourceList } from '../../shared/resources.js';
import type { DescribeWriter } from '../output/describe.js';
import { keyValues } from '../output/describe.js';

function list(map: Record<string, string | number> | undefined): string {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${String(v)}`).join(', ');
}

export function describeWorkload(w: DescribeWriter, obj: KubeObject): void {
  const wl = obj as unknown as Workload;
  w.line(0, 'Name:', wl.metadata.name ?? '');
  w.line(0, 'Namespace:', wl.metadata.namespace ?? '');
  w.multiline(0, 'Labels:', keyValues(wl.metadata.labels));
  const owner = wl.metadata.ownerReferences?.find((r) => r.controller === true);
  if (owner) w.line(0, 'Controlled By:', `${owner.kind}/${owner.name}`);
  w.line(0, 'Queue Name:', wl.spec.queueName ?? '<none>');
  w.line(0, 'Priority:', String(wl.spec.priority ?? 0));
  w.line(0, 'Active:', String(wl.spec.active !== false));
  w.line(0, 'Pod Sets:');
  for (const ps of wl.spec.podSets) {
    w.line(1, `${ps.name}:`);
    w.line(2, 'Count:', String(ps.count));
    w.line(2, 'Requests (each pod):', list(toResourceList(podRequests({ spec: ps.template.spec }))));
    if (ps.template.spec.nodeSelector) w.line(2, 'Node Selector:', list(ps.template.spec.nodeSelector));
  }
  const admission = wl.status.admission;
  if (!admission) w.line(0, 'Admission:', '<none>');
  else {
    w.line(0, 'Admission:');
    w.line(1, 'Cluster Queue:', admission.clusterQueue);
    for (const a of admission.podSetAssignments) {
      w.line(1, `${a.name}:`);
      w.line(2, 'Count:', String(a.count ?? ''));
      w.line(2, 'Flavors:', list(a.flavors));
      w.line(2, 'Resource Usage:', list(a.resourceUsage));
    }
  }
  const conditions = wl.status.conditions ?? [];
  if (conditions.length === 0) w.line(0, 'Conditions:', '<none>');
  else {
    w.line(0, 'Conditions:');
    w.table(1, ['Type', 'Status', 'Reason', 'Message'], conditions.map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']));
  }
}
