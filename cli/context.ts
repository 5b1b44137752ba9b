// What every command gets: the global flags resolved into an API client (lazily, so `config`,
// `completion` and `version --client` work with no server configured), the resource types
// (built-in, then discovered), the namespace to use, and the output streams with their colour palettes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadKubeconfig } from '../shared/client/kubeconfig.js';
import { ApiClient } from '../shared/client/http-client.js';
import type { TlsOptions } from '../shared/client/transport.js';
import { parseDuration } from '../shared/duration.js';
import { errorMessage } from '../shared/errors.js';
import { ConfigError, UsageError } from './errors.js';
import { configExists, configLocation, missingConfigMessage, type ConfigLocation } from './config-file.js';
import { colorWanted, palette, type Palette } from './output/color.js';
import { discoverResources } from './discovery.js';
import { ResourceTypes } from './resources.js';

export interface GlobalOptions {
  server?: string;
  token?: string;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  requestTimeout?: string;
}

/** cellctl's own version: package.json's, found by walking up from this file (source or dist/). */
export function clientVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cell' && pkg.version) return `v${pkg.version}`;
    } catch (err) {
      // Not here (ENOENT) or not ours: keep walking up.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
    }
    dir = path.dirname(dir);
  }
  return 'v0.0.0-unknown';
}

function normaliseServer(raw: string): string {
  // kubectl assumes https:// for a bare host:port; so do we.
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `https://${raw}`;
  try {
    const u = new URL(withScheme);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`invalid server "${raw}": only http and https are supported`);
    return withScheme.replace(/\/+$/, '');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`invalid server "${raw}": ${errorMessage(err)}`);
  }
}

export class Cli {
  private apiClient: ApiClient | undefined;
  private resourceTypes: ResourceTypes | undefined;
  private contextNamespace: string | undefined;
  private resolved = false;
  readonly out: Palette;
  readonly err: Palette;

  constructor(readonly opts: GlobalOptions) {
    this.out = palette(colorWanted(process.stdout));
    this.err = palette(colorWanted(process.stderr));
  }

  get stdoutIsTTY(): boolean {
    return process.stdout.isTTY === true;
  }

  get configLocation(): ConfigLocation {
    return configLocation(this.opts.kubeconfig);
  }

  private kubeconfigOptions(): { context?: string } {
    return this.opts.context ? { context: this.opts.context } : {};
  }

  /** Flags beat the kubeconfig field by field, as in kubectl. */
  private resolve(): { servers: string[]; token?: string; tls?: TlsOptions } {
    const loc = this.configLocation;
    let servers: string[] = [];
    let token: string | undefined;
    let tls: TlsOptions | undefined;
    if (configExists(loc)) {
      const kc = loadKubeconfig(loc.paths, this.kubeconfigOptions());
      servers = kc.servers;
      token = kc.token;
      tls = kc.tls;
      this.contextNamespace = kc.namespace;
    } else if (loc.source !== 'default' || !this.opts.server || this.opts.context) {
      throw new ConfigError(missingConfigMessage(loc));
    }
    this.resolved = true;
    if (this.opts.server) servers = this.opts.server.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (this.opts.token) token = this.opts.token;
    return { servers: servers.map(normaliseServer), ...(token !== undefined ? { token } : {}), ...(tls !== undefined ? { tls } : {}) };
  }

  /** The API client, built on first use. */
  get client(): ApiClient {
    if (!this.apiClient) {
      const { servers, token, tls } = this.resolve();
      const timeoutMs = this.opts.requestTimeout ? parseDuration(this.opts.requestTimeout) : undefined;
      this.apiClient = new ApiClient({
        servers,
        ...(token !== undefined ? { token } : {}),
        ...(tls !== undefined ? { tls } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
        userAgent: `cellctl/${clientVersion()}`,
        // One quick retry: a person is waiting, and "connection refused" rarely fixes itself.
        retries: 1,
      });
    }
    return this.apiClient;
  }

  /**
   * How typed resource names and manifest kinds resolve: the built-in table, then (custom
   * resources) the server's discovery documents, read at most once for the whole command.
   */
  get types(): ResourceTypes {
    this.resourceTypes ??= new ResourceTypes(() => discoverResources(this.client));
    return this.resourceTypes;
  }

  /** Drop the client's idle keep-alive connections: the command is done. */
  close(): void {
    this.apiClient?.close();
  }

  /** -n, else the context's namespace, else `default`. */
  get namespace(): string {
    if (this.opts.namespace) return this.opts.namespace;
    if (!this.resolved) {
      const loc = this.configLocation;
      if (configExists(loc)) this.contextNamespace = loadKubeconfig(loc.paths, this.kubeconfigOptions()).namespace;
      this.resolved = true;
    }
    return this.contextNamespace ?? 'default';
  }

  /** Was -n given? (A manifest's own namespace must then agree with it.) */
  get namespaceExplicit(): boolean {
    return this.opts.namespace !== undefined && this.opts.namespace !== '';
  }

  print(text: string): void {
    process.stdout.write(text);
  }

  /** A line on stderr that is not an error (`Defaulted container …`, `No resources found`). */
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  warn(text: string): void {
    process.stderr.write(`${this.err.yellow('warning:')} ${text}\n`);
  }

  /** One failed item among several (the command goes on, and exits 1 at the end). */
  error(text: string): void {
    process.stderr.write(`${this.err.red('error:')} ${text}\n`);
  }
}
