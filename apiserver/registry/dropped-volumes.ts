// Pods here are host processes with no volumes of their own, so `volumes` and `volumeMounts` are
// dropped on decode (shared/api/registry.ts lists them among the fields cell ignores). Dropping
// them silently would leave a user wondering why a ConfigMap never shows up as files: a write
// that carried them is answered with a Warning naming each pod spec that had volumes.
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** How deep a pod spec may sit in an object (a CronJob's is spec.jobTemplate.spec.template.spec). */
const MAX_DEPTH = 8;

/** The Warning texts for the pod specs in `raw` (a request's object) that carry volumes. */
export function droppedVolumeWarnings(raw: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, path: string, depth: number) => {
    if (!isRecord(v) || depth > MAX_DEPTH) return;
    if (Array.isArray(v['containers']) && Array.isArray(v['volumes']) && v['volumes'].length > 0) {
      out.push(`${path ? `${path}.` : ''}volumes: dropped: cell runs a pod's containers as host processes, without volumes or volumeMounts`);
    }
    for (const [k, child] of Object.entries(v)) if (k !== 'metadata' && k !== 'status') walk(child, path ? `${path}.${k}` : k, depth + 1);
  };
  walk(raw, '', 0);
  return out;
}
