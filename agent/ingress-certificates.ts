// The certificates Ingresses terminate TLS with: each `spec.tls` entry names a Secret of type
// kubernetes.io/tls in the Ingress's namespace and the hosts it is for. The agent reads those
// Secrets by name — a node may read exactly the ones cell's Ingresses name
// (apiserver/auth/node-config-access.ts) — again whenever the served Ingresses change and every
// `refreshMs`, so a renewed certificate is served without a restart. Each TLS handshake gets one
// by the server name the client asked for: the host exactly, then a wildcard entry (`*.example.com`,
// one label), then an entry without hosts (Kubernetes: "the controller's default"), and last a
// self-signed certificate made at start, as ingress controllers serve when nothing matches.
import tls from 'node:tls';
import type { Ingress } from '../shared/api/networking.js';
import type { Secret } from '../shared/api/config.js';
import type { ApiClient } from '../shared/client/http-client.js';
import { errorMessage, ForbiddenError, NotFoundError } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import { issueCertificate, type KeyPair } from '../shared/pki.js';

const TLS_SECRET_TYPE = 'kubernetes.io/tls';
const DEFAULT_REFRESH_MS = 60_000;
/** The fallback certificate's name, the one ingress controllers commonly use. */
const FALLBACK_HOST = 'ingress.local';

export interface IngressCertificatesOptions {
  client: ApiClient;
  /** The Ingresses served now (cell's classes). */
  served: () => Ingress[];
  log: Logger;
  refreshMs?: number;
}

/** A Secret's certificate, read at one resourceVersion. */
interface Loaded {
  resourceVersion: string;
  /** Undefined when the Secret is not a usable TLS Secret (logged once per version). */
  context: tls.SecureContext | undefined;
}

/** The fallback: a throwaway CA and a certificate it signs for FALLBACK_HOST. */
function fallbackPair(): KeyPair {
  const ca = issueCertificate({ commonName: 'cell ingress fallback CA', usage: 'ca' });
  return issueCertificate({ commonName: FALLBACK_HOST, usage: 'server', hosts: [FALLBACK_HOST] }, ca);
}

function decode(secret: Secret, key: string): string | undefined {
  const data = secret.data?.[key];
  return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
}

export class IngressCertificates {
  /** The fallback's key pair (served when nothing matches, and to clients that send no name). */
  readonly fallback: KeyPair = fallbackPair();
  private readonly fallbackContext = tls.createSecureContext({ cert: this.fallback.certPem, key: this.fallback.keyPem });
  private readonly loaded = new Map<string, Loaded>();
  private exact = new Map<string, tls.SecureContext>();
  private wildcard = new Map<string, tls.SecureContext>();
  private hostless: tls.SecureContext | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly o: IngressCertificatesOptions) {}

  start(): void {
    this.changed();
    this.timer = setInterval(() => this.changed(), this.o.refreshMs ?? DEFAULT_REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** The served Ingresses changed (or a refresh is due): read their Secrets again, one pass at a time. */
  changed(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.refresh()
      .catch((err: unknown) => void this.o.log.warn('ingress certificates not refreshed', { error: errorMessage(err) }))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.changed();
        }
      });
  }

  /** The certificate for a handshake that asked for `servername` (undefined: none asked). */
  contextFor(servername: string | undefined): tls.SecureContext {
    if (!servername) return this.fallbackContext;
    const host = servername.toLowerCase();
    const dot = host.indexOf('.');
    return this.exact.get(host) ?? (dot > 0 ? this.wildcard.get(host.slice(dot + 1)) : undefined) ?? this.hostless ?? this.fallbackContext;
  }

  private async refresh(): Promise<void> {
    // Oldest Ingress first: where two name the same host, the older one's certificate is served.
    const ingresses = [...this.o.served()].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    const wanted = new Set<string>();
    for (const ing of ingresses) for (const t of ing.spec.tls ?? []) if (t.secretName) wanted.add(`${ing.metadata.namespace ?? ''}/${t.secretName}`);
    await Promise.all([...wanted].map((key) => this.load(key)));
    for (const key of [...this.loaded.keys()]) if (!wanted.has(key)) this.loaded.delete(key);
    const exact = new Map<string, tls.SecureContext>();
    const wildcard = new Map<string, tls.SecureContext>();
    let hostless: tls.SecureContext | undefined;
    for (const ing of ingresses) {
      for (const t of ing.spec.tls ?? []) {
        const context = t.secretName ? this.loaded.get(`${ing.metadata.namespace ?? ''}/${t.secretName}`)?.context : undefined;
        if (!context) continue;
        if ((t.hosts ?? []).length === 0) hostless ??= context;
        for (const h of t.hosts ?? []) {
          const host = h.toLowerCase();
          if (host.startsWith('*.')) {
            if (!wildcard.has(host.slice(2))) wildcard.set(host.slice(2), context);
          } else if (!exact.has(host)) exact.set(host, context);
        }
      }
    }
    this.exact = exact;
    this.wildcard = wildcard;
    this.hostless = hostless;
  }

  /** Reads one Secret; a missing, forbidden or unusable one serves nothing (and is said once). */
  private async load(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    let secret: Secret;
    try {
      secret = await this.o.client.get<Secret>({ version: 'v1', resource: 'secrets', namespace, name });
    } catch (err) {
      const had = this.loaded.get(key);
      if (had?.resourceVersion !== '') this.o.log.warn('ingress TLS secret not read', { secret: key, error: errorMessage(err) });
      // Gone or forbidden: nothing to serve. Anything else (the API out of reach): the certificate read last stays.
      if (err instanceof NotFoundError || err instanceof ForbiddenError || !had) this.loaded.set(key, { resourceVersion: '', context: undefined });
      return;
    }
    const resourceVersion = secret.metadata.resourceVersion ?? '';
    if (this.loaded.get(key)?.resourceVersion === resourceVersion) return;
    let context: tls.SecureContext | undefined;
    const cert = decode(secret, 'tls.crt');
    const keyPem = decode(secret, 'tls.key');
    if (secret.type !== TLS_SECRET_TYPE || cert === undefined || keyPem === undefined) {
      this.o.log.warn('ingress TLS secret is not a kubernetes.io/tls Secret with tls.crt and tls.key', { secret: key });
    } else {
      try {
        context = tls.createSecureContext({ cert, key: keyPem });
      } catch (err) {
        this.o.log.warn('ingress TLS secret holds no usable certificate and key', { secret: key, error: errorMessage(err) });
      }
    }
    this.loaded.set(key, { resourceVersion, context });
  }
}
