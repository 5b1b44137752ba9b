// What a container process sees: its environment and argv. There is no image, so the command line
// is `command` followed by `args`, and the environment is a small base (PATH, HOME, HOSTNAME), then
// the keys of `envFrom`'s ConfigMaps and Secrets, then `env` in order — plain values, the pod's own
// fields, the container's resources, ConfigMap and Secret keys — never the agent's own environment,
// which may hold its credentials. `$(VAR)` references in env values, command and args expand as
// Kubernetes expands them; the Services the pod is told of (service-env.ts) fill in what the container
// does not set itself, and may be referred to. A ConfigMap or Secret (or key) that is missing and not optional is a
// ContainerConfigError: the container waits (CreateContainerConfigError) until it appears.
import type { ConfigMap, Secret } from '../shared/api/config.js';
import type { Container, EnvVarSource, Pod } from '../shared/api/core.js';
import { ENV_FIELD_SUBSCRIPT } from '../shared/api/rules.js';
import type { Service } from '../shared/api/service.js';
import { Quantity } from '../shared/quantity.js';
import { serviceEnv } from './service-env.js';

/** A ConfigMap or Secret the container reads, as fetched: the object, missing (404), or why it could not be read. */
export type ConfigSource<T> = { found: T } | { missing: true } | { error: string };

/** The ConfigMaps and Secrets of the pod's namespace its containers read, by name. */
export interface ConfigSources {
  configmaps: ReadonlyMap<string, ConfigSource<ConfigMap>>;
  secrets: ReadonlyMap<string, ConfigSource<Secret>>;
}

export const NO_CONFIG_SOURCES: ConfigSources = { configmaps: new Map(), secrets: new Map() };

/** What the pod's fields and the node add to a container's environment. */
export interface PodEnvContext {
  hostIP: string;
  /** The node's allocatable resources: the value of a limit the container does not set. */
  allocatable: Readonly<Record<string, string>>;
  /** The Services the agent knows of (all namespaces); none when absent. */
  services?: () => Iterable<Service>;
}

/** The container cannot be created from its spec as things stand (Kubernetes: CreateContainerConfigError). */
export class ContainerConfigError extends Error {}

/** Environment variable names Kubernetes accepts (an envFrom key that is not one is skipped). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Kubernetes' expansion: `$(NAME)` becomes NAME's value when NAME is defined and stays as written
 * otherwise; `$$` is an escaped `$` (so `$$(NAME)` is the literal text `$(NAME)`).
 */
export function expandVars(text: string, env: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '$' || i + 1 >= text.length) {
      out += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = text.indexOf(')', i + 2);
      if (close < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, close);
      out += Object.prototype.hasOwnProperty.call(env, name) ? env[name] : text.slice(i, close + 1);
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

function kindName(kind: 'configmaps' | 'secrets'): string {
  return kind === 'configmaps' ? 'ConfigMap' : 'Secret';
}

/** The object a reference names, or undefined when it may be left out (optional); throws when it must exist. */
function sourceOf<T>(sources: ConfigSources, kind: 'configmaps' | 'secrets', name: string, optional: boolean | undefined): T | undefined {
  const src = (sources[kind] as ReadonlyMap<string, ConfigSource<T>>).get(name);
  if (src && 'found' in src) return src.found;
  if (src && 'error' in src) throw new ContainerConfigError(src.error);
  if (optional) return undefined;
  throw new ContainerConfigError(`${kind === 'configmaps' ? 'configmap' : 'secret'} "${name}" not found`);
}

/** Every key of a ConfigMap (data and binaryData) or Secret (data, decoded), as text. */
function valuesOf(kind: 'configmaps' | 'secrets', obj: ConfigMap | Secret): [string, string][] {
  if (kind === 'secrets') return Object.entries((obj as Secret).data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]);
  const cm = obj as ConfigMap;
  return [...Object.entries(cm.data ?? {}), ...Object.entries(cm.binaryData ?? {}).map(([k, v]): [string, string] => [k, Buffer.from(v, 'base64').toString('utf8')])];
}

function keyValue(sources: ConfigSources, kind: 'configmaps' | 'secrets', namespace: string, ref: { name?: string | undefined; key: string; optional?: boolean | undefined }): string | undefined {
  const name = ref.name ?? '';
  const obj = sourceOf<ConfigMap | Secret>(sources, kind, name, ref.optional);
  if (obj === undefined) return undefined;
  const value = valuesOf(kind, obj).find(([k]) => k === ref.key)?.[1];
  if (value === undefined && !ref.optional) throw new ContainerConfigError(`couldn't find key ${ref.key} in ${kindName(kind)} ${namespace}/${name}`);
  return value;
}

/** The downward API: one field of the pod. */
function fieldValue(pod: Pick<Pod, 'metadata' | 'spec'>, path: string, ctx: PodEnvContext): string {
  const m = pod.metadata;
  const sub = ENV_FIELD_SUBSCRIPT.exec(path);
  if (sub) return (sub[1] === 'labels' ? m.labels : m.annotations)?.[sub[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return m.name ?? '';
    case 'metadata.namespace':
      return m.namespace ?? '';
    case 'metadata.uid':
      return m.uid ?? '';
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    // Containers are host processes: the pod's address is its node's.
    case 'status.hostIP':
    case 'status.hostIPs':
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.hostIP;
    default:
      return '';
  }
}

/** One of a container's requests or limits in `divisor` units, rounded up as Kubernetes rounds it. */
function resourceValue(pod: Pick<Pod, 'spec'>, self: Container, ref: NonNullable<EnvVarSource['resourceFieldRef']>, ctx: PodEnvContext): string {
  const c = ref.containerName ? [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((x) => x.name === ref.containerName) ?? self : self;
  const [kind, resource] = ref.resource.split('.') as ['limits' | 'requests', string];
  // An unset limit is the node's allocatable, as the kubelet reports it; an unset request is 0.
  const raw = c.resources[kind]?.[resource] ?? (kind === 'limits' ? ctx.allocatable[resource] : undefined) ?? '0';
  const milli = Quantity.parse(raw).milliValue();
  const divisor = Quantity.parse(ref.divisor ?? '1').milliValue();
  return String((milli + divisor - 1n) / divisor);
}

function sourcedValue(pod: Pick<Pod, 'metadata' | 'spec'>, c: Container, src: EnvVarSource, sources: ConfigSources, ctx: PodEnvContext): string | undefined {
  const ns = pod.metadata.namespace ?? '';
  if (src.fieldRef) return fieldValue(pod, src.fieldRef.fieldPath, ctx);
  if (src.resourceFieldRef) return resourceValue(pod, c, src.resourceFieldRef, ctx);
  if (src.configMapKeyRef) return keyValue(sources, 'configmaps', ns, src.configMapKeyRef);
  if (src.secretKeyRef) return keyValue(sources, 'secrets', ns, src.secretKeyRef);
  return undefined;
}

/**
 * The environment of one container: the base, then every key of `envFrom`'s sources (with their
 * prefix; a later source wins), then `env` in order (each may refer to earlier ones). Throws a
 * ContainerConfigError when a source it must read is missing.
 */
export function containerEnv(
  pod: Pick<Pod, 'metadata' | 'spec'>,
  container: Container,
  workDir: string,
  ctx: PodEnvContext,
  sources: ConfigSources = NO_CONFIG_SOURCES,
): Record<string, string> {
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  env.PATH = process.env.PATH || DEFAULT_PATH;
  env.HOME = workDir;
  env.HOSTNAME = pod.metadata.name ?? '';
  for (const from of container.envFrom ?? []) {
    const kind = from.configMapRef ? 'configmaps' : 'secrets';
    const ref = from.configMapRef ?? from.secretRef;
    const obj = ref ? sourceOf<ConfigMap | Secret>(sources, kind, ref.name ?? '', ref.optional) : undefined;
    if (!obj) continue;
    for (const [k, v] of valuesOf(kind, obj)) {
      const name = `${from.prefix ?? ''}${k}`;
      if (ENV_NAME.test(name)) env[name] = v;
    }
  }
  const services = ctx.services ? serviceEnv(pod, ctx.services()) : {};
  for (const v of container.env ?? []) {
    if (v.valueFrom) {
      const value = sourcedValue(pod, container, v.valueFrom, sources, ctx);
      if (value !== undefined) env[v.name] = value;
    } else {
      env[v.name] = expandVars(v.value ?? '', { ...services, ...env });
    }
  }
  return { ...services, ...env };
}

/** `command` + `args`, expanded against the container's environment. */
export function containerArgv(container: Container, env: Readonly<Record<string, string>>): string[] {
  return [...(container.command ?? []), ...(container.args ?? [])].map((a) => expandVars(a, env));
}
