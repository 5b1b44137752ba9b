// HTTP(S) under the API client: node:http/https with keep-alive agents (connections are reused
// across requests, as client-go does) and TLS settings from a kubeconfig — a cluster CA, or
// insecure-skip-tls-verify, and the user's client certificate. Node 20's fetch cannot take a
// custom CA or a client certificate without another copy of undici.
import http from 'node:http';
import https from 'node:https';
import WebSocket from 'ws';
import { BadRequestError, ResponseLostError, UnavailableError, UnreachableError } from '../errors.js';

export interface TlsOptions {
  /** PEM of the CA that signed the API server's certificate. */
  ca?: string;
  insecureSkipTlsVerify?: boolean;
  /** PEM client certificate (and chain) presented to the server: the user, for X.509 auth. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface StreamResponse {
  status: number;
  body: http.IncomingMessage;
}

/** Connection errors raised before any byte of a request reached a server. */
const NEVER_DELIVERED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function connectionMessage(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
      return 'host not found';
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return err.message;
  }
}

export class Transport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly httpsAgent: https.Agent;

  constructor(tls: TlsOptions = {}) {
    // Caught here too (not only by the kubeconfig loader), so a half pair never goes unused unnoticed.
    if ((tls.cert === undefined) !== (tls.key === undefined)) throw new BadRequestError('a client certificate needs its key, and a key its certificate');
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: Infinity,
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
      rejectUnauthorized: !tls.insecureSkipTlsVerify,
    });
  }

  private open(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
    onResponse: (res: http.IncomingMessage) => void,
    onError: (err: Error) => void,
  ): http.ClientRequest {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method,
      headers: body !== undefined ? { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } : headers,
      agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
      ...(signal ? { signal } : {}),
    });
    req.on('response', onResponse);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const message = `cannot reach the API server at ${url.origin}: ${connectionMessage(err)}`;
      onError(
        signal?.aborted
          ? new UnavailableError('request aborted')
          : NEVER_DELIVERED.has(err.code ?? '') ? new UnreachableError(message) : new ResponseLostError(message),
      );
    });
    if (body !== undefined) req.write(body);
    req.end();
    return req;
  }

  /**
   * A WebSocket (pods/exec) over this transport's TLS settings, offering `protocols`: open, or the
   * server's answer when it did not switch. UnavailableError when it cannot be reached in time.
   */
  upgrade(url: URL, headers: Record<string, string>, protocols: string[], timeoutMs: number): Promise<{ open: true; socket: WebSocket } | { open: false; response: RawResponse }> {
    const wsUrl = new URL(url);
    wsUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl, protocols, { headers, agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent, handshakeTimeout: timeoutMs, perMessageDeflate: false });
      socket.once('open', () => resolve({ open: true, socket }));
      socket.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ open: false, response: { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') } }));
        res.on('error', (err) => reject(new ResponseLostError(`response from ${url.origin} broke: ${err.message}`)));
      });
      // Before 'open' only: afterwards the caller listens for errors itself.
      socket.once('error', (err: NodeJS.ErrnoException) => reject(new UnavailableError(`cannot reach the API server at ${url.origin}: ${connectionMessage(err)}`)));
    });
  }

  /** A whole request and response; UnavailableError when the server cannot be reached or times out. */
  send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const req = this.open(
        url,
        method,
        headers,
        body,
        signal,
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(new ResponseLostError(`response from ${url.origin} broke: ${err.message}`));
          });
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        reject(new ResponseLostError(`request to ${url.origin} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  /**
   * A streaming response (watches, followed logs): resolves with the status and the body stream.
   * The response must begin within `headersTimeoutMs` (then a body can be held to SilenceLimit):
   * a server that died without closing its connections (power lost, a link cut) would otherwise
   * hold the request until the kernel's keepalive gives up — about eleven minutes with Linux's
   * defaults.
   */
  stream(url: URL, headers: Record<string, string>, signal: AbortSignal | undefined, headersTimeoutMs: number): Promise<StreamResponse> {
    return new Promise((resolve, reject) => {
      const req = this.open(
        url,
        'GET',
        headers,
        undefined,
        signal,
        (res) => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: res });
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        reject(new ResponseLostError(`${url.origin} did not begin its response within ${headersTimeoutMs} ms`));
      }, headersTimeoutMs);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/**
 * Destroys a response body with a ResponseLostError once `touch` has not been called for `idleMs`
 * (the reader calls it per chunk; a listener of our own would switch the stream to flowing mode
 * before its reader attached).
 */
export class SilenceLimit {
  private last = Date.now();
  private timer: NodeJS.Timeout;

  constructor(
    private readonly body: http.IncomingMessage,
    private readonly origin: string,
    private readonly idleMs: number,
  ) {
    this.timer = setTimeout(() => this.check(), idleMs);
  }

  touch(): void {
    this.last = Date.now();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private check(): void {
    if (this.body.destroyed) return;
    const quiet = Date.now() - this.last;
    if (quiet >= this.idleMs) {
      this.body.destroy(new ResponseLostError(`the stream from ${this.origin} brought nothing for ${quiet} ms`));
      return;
    }
    this.timer = setTimeout(() => this.check(), this.idleMs - quiet);
  }
}

/** The rest of a response body as text. */
export async function readAll(body: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
