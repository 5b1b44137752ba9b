// The Services a container's environment describes, as the kubelet writes them: for each Service
// with a cluster IP in the pod's namespace (unless `enableServiceLinks: false`), and always for the
// `kubernetes` Service of the default namespace (the API server), `<NAME>_SERVICE_HOST`,
// `<NAME>_SERVICE_PORT` (the first port), `<NAME>_SERVICE_PORT_<PORT NAME>` per named port, and the
// Docker-link variables (`<NAME>_PORT=tcp://ip:port`, `<NAME>_PORT_<port>_TCP{,_PROTO,_PORT,_ADDR}`).
// Names are upper-cased with `-` as `_`. They come before the container's own `env` and `envFrom`,
// which win over them, and `$(VAR)` in `env`, command and args may refer to them.
import type { Pod } from '../shared/api/core.js';
import type { Service } from '../shared/api/service.js';
import { needsClusterIP } from '../shared/api/service.js';

/** The Service every pod is told about, whatever its namespace (Kubernetes' master service). */
export const API_SERVER_SERVICE = { namespace: 'default', name: 'kubernetes' } as const;

function envName(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** Has the Service a virtual IP (not headless, not ExternalName, allocated)? */
function hasClusterIP(svc: Service): boolean {
  return needsClusterIP(svc) && !!svc.spec.clusterIP;
}

/** One Service's variables. */
function variablesOf(svc: Service): [string, string][] {
  const name = envName(svc.metadata.name ?? '');
  const ip = svc.spec.clusterIP ?? '';
  const ports = svc.spec.ports ?? [];
  const out: [string, string][] = [[`${name}_SERVICE_HOST`, ip]];
  if (ports[0]) out.push([`${name}_SERVICE_PORT`, String(ports[0].port)]);
  for (const p of ports) if (p.name) out.push([`${name}_SERVICE_PORT_${envName(p.name)}`, String(p.port)]);
  ports.forEach((p, i) => {
    const protocol = p.protocol ?? 'TCP';
    const url = `${protocol.toLowerCase()}://${ip}:${p.port}`;
    const prefix = `${name}_PORT_${p.port}_${protocol}`;
    if (i === 0) out.push([`${name}_PORT`, url]);
    out.push([prefix, url], [`${prefix}_PROTO`, protocol.toLowerCase()], [`${prefix}_PORT`, String(p.port)], [`${prefix}_ADDR`, ip]);
  });
  return out;
}

/** The variables the pod's containers get from `services` (every Service the agent knows). */
export function serviceEnv(pod: Pick<Pod, 'metadata' | 'spec'>, services: Iterable<Service>): Record<string, string> {
  const namespace = pod.metadata.namespace ?? '';
  const links = pod.spec.enableServiceLinks !== false;
  const chosen = new Map<string, Service>();
  for (const svc of services) {
    if (!hasClusterIP(svc)) continue;
    const ns = svc.metadata.namespace ?? '';
    const name = svc.metadata.name ?? '';
    if (links && ns === namespace) chosen.set(name, svc);
    // The API server's Service unless one of the pod's own namespace has its name.
    else if (ns === API_SERVER_SERVICE.namespace && name === API_SERVER_SERVICE.name && !chosen.has(name)) chosen.set(name, svc);
  }
  const env: Record<string, string> = {};
  for (const name of [...chosen.keys()].sort()) for (const [k, v] of variablesOf(chosen.get(name)!)) env[k] = v;
  return env;
}
