// A test client for pods/portforward that speaks the wire protocol by hand, as client-go does:
// SPDY/3.1 on an upgraded connection or inside a WebSocket's binary messages, its header blocks
// deflated with the SPDY/3 dictionary through one zlib stream (so the server's inflate is tested
// against real compressed input), each forwarded connection a pair of streams (error, data).
import { createHash, randomBytes } from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { HeaderBlockReader, SPDY3_DICTIONARY } from '../../agent/spdy/header-block.js';

export type Transport = 'spdy' | 'websocket';

interface StreamState {
  replied: boolean;
  data: Buffer[];
  ended: boolean;
  reset: boolean;
  waiters: (() => void)[];
}

export class SpdyTestClient {
  private nextId = 1;
  private readonly streams = new Map<number, StreamState>();
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  private deflated: Buffer[] = [];
  private readonly inflate = new HeaderBlockReader();
  private input = Buffer.alloc(0);
  private reading = Promise.resolve();
  /** Control frames of types other than SYN_REPLY and RST_STREAM, as [type, payload]. */
  readonly controlFrames: [number, Buffer][] = [];
  closed = false;
  private closeWaiters: (() => void)[] = [];

  private constructor(private readonly sendBytes: (b: Buffer) => void, private readonly closeTransport: () => void) {
    this.deflate.on('data', (c: Buffer) => this.deflated.push(c));
  }

  /**
   * Opens pods/{pod}/portforward over `transport`; rejects with the refusal's status and body. The
   * WebSocket is made by hand: the WebSocket library refuses this subprotocol's name (it holds a
   * '/'), which kubectl's Go library sends as it is.
   */
  static connect(o: { url: string; pod: string; token: string; ca: string; transport: Transport }): Promise<SpdyTestClient> {
    const key = randomBytes(16).toString('base64');
    const headers: Record<string, string> =
      o.transport === 'websocket'
        ? { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Protocol': 'SPDY/3.1+portforward.k8s.io' }
        : { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' };
    return new Promise((resolve, reject) => {
      const req = https.request(`${o.url}/api/v1/namespaces/default/pods/${o.pod}/portforward`, {
        method: o.transport === 'websocket' ? 'GET' : 'POST',
        ca: o.ca,
        headers: { Authorization: `Bearer ${o.token}`, ...headers },
      });
      req.on('upgrade', (res, socket: Duplex, head: Buffer) => {
        // As Go's sockets (kubectl's): no Nagle delay on the small frames.
        if (socket instanceof net.Socket) socket.setNoDelay(true);
        socket.on('error', () => socket.destroy());
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        const agreed =
          o.transport === 'websocket'
            ? res.headers['sec-websocket-accept'] === accept && res.headers['sec-websocket-protocol'] === 'SPDY/3.1+portforward.k8s.io'
            : res.headers['x-stream-protocol-version'] === 'portforward.k8s.io';
        if (!agreed) {
          socket.destroy();
          return reject(new Error(`a bad handshake: ${JSON.stringify(res.headers)}`));
        }
        let client: SpdyTestClient;
        if (o.transport === 'websocket') {
          const frames = new WebSocketFrames(socket, (payload) => client.receive(payload));
          client = new SpdyTestClient((b) => frames.send(0x2, b), () => frames.close());
          if (head.length > 0) frames.receive(head);
        } else {
          client = new SpdyTestClient((b) => socket.write(b), () => socket.end());
          socket.on('data', (d: Buffer) => client.receive(d));
          if (head.length > 0) client.receive(head);
        }
        socket.on('close', () => client.onClosed());
        resolve(client);
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => reject(new Error(`refused ${res.statusCode ?? 0}: ${body}`)));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Sends raw bytes (a broken client). */
  sendRaw(b: Buffer): void {
    this.sendBytes(b);
  }

  /** Opens one forwarded connection to `port`: its error and data streams. */
  async forward(port: number, requestId: number): Promise<{ error: number; data: number }> {
    const error = await this.open([['port', String(port)], ['requestid', String(requestId)], ['streamtype', 'error']]);
    this.sendData(error, Buffer.alloc(0), true);
    const data = await this.open([['port', String(port)], ['requestid', String(requestId)], ['streamtype', 'data']]);
    return { error, data };
  }

  async open(headers: [string, string][]): Promise<number> {
    const id = this.nextId;
    this.nextId += 2;
    this.streams.set(id, { replied: false, data: [], ended: false, reset: false, waiters: [] });
    const block = await this.headerBlock(headers);
    const body = Buffer.concat([u32(id), u32(0), Buffer.from([0, 0]), block]);
    this.sendBytes(Buffer.concat([u32(0x80030001), u32(body.length), body]));
    return id;
  }

  sendData(id: number, data: Buffer, fin: boolean): void {
    this.sendBytes(Buffer.concat([u32(id), u32(((fin ? 1 : 0) << 24) | data.length), data]));
  }

  ping(id: number): void {
    this.sendBytes(Buffer.concat([u32(0x80030006), u32(4), u32(id)]));
  }

  /** What the stream received, once `cond` holds of it (or it ended, or was reset). */
  async until(id: number, cond: (s: { bytes: Buffer; ended: boolean; reset: boolean; replied: boolean }) => boolean, timeoutMs = 20_000): Promise<{ bytes: Buffer; ended: boolean; reset: boolean; replied: boolean }> {
    const s = this.streams.get(id)!;
    const view = () => ({ bytes: Buffer.concat(s.data), ended: s.ended, reset: s.reset, replied: s.replied });
    const deadline = Date.now() + timeoutMs;
    while (!cond(view())) {
      if (this.closed) throw new Error(`the connection closed while waiting on stream ${id}`);
      if (Date.now() > deadline) throw new Error(`stream ${id}: timed out (${JSON.stringify({ ...view(), bytes: view().bytes.length })})`);
      await new Promise<void>((r) => {
        s.waiters.push(r);
        setTimeout(r, 200);
      });
    }
    return view();
  }

  closedPromise(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((r) => this.closeWaiters.push(r));
  }

  close(): void {
    this.closeTransport();
    this.inflate.close();
    this.deflate.close();
  }

  private headerBlock(pairs: [string, string][]): Promise<Buffer> {
    const parts = [u32(pairs.length)];
    for (const [n, v] of pairs) parts.push(u32(n.length), Buffer.from(n), u32(Buffer.byteLength(v)), Buffer.from(v));
    return new Promise((resolve) => {
      this.deflate.write(Buffer.concat(parts));
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const b = Buffer.concat(this.deflated);
        this.deflated = [];
        resolve(b);
      });
    });
  }

  onClosed(): void {
    this.closed = true;
    this.closeWaiters.splice(0).forEach((w) => w());
    for (const s of this.streams.values()) s.waiters.splice(0).forEach((w) => w());
  }

  receive(chunk: Buffer): void {
    this.input = Buffer.concat([this.input, chunk]);
    while (this.input.length >= 8) {
      const len = this.input.readUInt32BE(4) & 0xffffff;
      if (this.input.length < 8 + len) break;
      const frame = this.input.subarray(0, 8 + len);
      this.input = this.input.subarray(8 + len);
      // In order: a SYN_REPLY's header block must be read before the next one.
      this.reading = this.reading.then(() => this.handle(frame));
    }
  }

  private async handle(f: Buffer): Promise<void> {
    const first = f.readUInt32BE(0);
    const flags = f.readUInt8(4);
    const payload = f.subarray(8);
    if ((first & 0x80000000) === 0) {
      const s = this.streams.get(first & 0x7fffffff);
      if (!s) return;
      s.data.push(Buffer.from(payload));
      if (flags & 1) s.ended = true;
      s.waiters.splice(0).forEach((w) => w());
      return;
    }
    const type = first & 0xffff;
    if (type === 2) {
      await this.inflate.read(payload.subarray(4));
      const s = this.streams.get(payload.readUInt32BE(0) & 0x7fffffff);
      if (s) {
        s.replied = true;
        if (flags & 1) s.ended = true;
        s.waiters.splice(0).forEach((w) => w());
      }
    } else if (type === 3) {
      const s = this.streams.get(payload.readUInt32BE(0) & 0x7fffffff);
      if (s) {
        s.reset = true;
        s.waiters.splice(0).forEach((w) => w());
      }
    } else {
      // The server's pings (even ids) are answered, as spdystream does.
      if (type === 6 && payload.readUInt32BE(0) % 2 === 0) this.sendBytes(f);
      else this.controlFrames.push([type, Buffer.from(payload)]);
    }
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** A client's WebSocket framing, minimal: masked binary frames out; data, pings and close in. */
class WebSocketFrames {
  private input = Buffer.alloc(0);

  constructor(
    private readonly socket: Duplex,
    private readonly onData: (payload: Buffer) => void,
  ) {
    socket.on('data', (d: Buffer) => this.receive(d));
  }

  send(opcode: number, payload: Buffer): void {
    const mask = randomBytes(4);
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : len < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]) : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), u64(len)]);
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i % 4]!;
    this.socket.write(Buffer.concat([head, mask, masked]));
  }

  close(): void {
    this.send(0x8, Buffer.from([0x03, 0xe8]));
    this.socket.end();
  }

  receive(chunk: Buffer): void {
    this.input = Buffer.concat([this.input, chunk]);
    for (;;) {
      if (this.input.length < 2) return;
      const opcode = this.input[0]! & 0x0f;
      let len = this.input[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.input.length < 4) return;
        len = this.input.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.input.length < 10) return;
        len = Number(this.input.readBigUInt64BE(2));
        at = 10;
      }
      if (this.input.length < at + len) return;
      const payload = this.input.subarray(at, at + len);
      this.input = this.input.subarray(at + len);
      if (opcode === 0x9) this.send(0xa, payload);
      else if (opcode === 0x8) this.socket.end();
      else if (opcode <= 0x2) this.onData(Buffer.from(payload));
    }
  }
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
