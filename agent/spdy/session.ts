// The server end of a SPDY/3.1 connection, as kubectl port-forward speaks it: the client opens
// streams (SYN_STREAM with headers), the server answers each (SYN_REPLY), and both send DATA frames
// until each side's FIN. The bytes come from whatever carries the session — an HTTP connection
// upgraded to SPDY/3.1, or the binary messages of a WebSocket tunnelling it — as a plain byte
// stream: frame boundaries need not match message boundaries.
//
// What kubectl's SPDY library (spdystream) does not use is not implemented: flow control (it
// neither sends nor honours WINDOW_UPDATE; TCP is the backpressure here), server push, settings,
// and priorities. Unknown control frames are skipped, as the protocol asks.
import { Duplex } from 'node:stream';
import type { Logger } from '../../shared/logging.js';
import { HeaderBlockReader, HeaderBlockWriter, type HeaderPairs } from './header-block.js';
import { ProtocolError } from './protocol-error.js';

const VERSION = 3;
const TYPE = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;
const FLAG_FIN = 0x01;
const FLAG_UNIDIRECTIONAL = 0x02;
/** RST_STREAM statuses used here. */
export const RST = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5 } as const;
const GOAWAY_PROTOCOL_ERROR = 1;

/** The largest control frame accepted (a port-forward stream's are a few dozen bytes). */
const MAX_CONTROL_FRAME = 64 * 1024;
/** The largest DATA frame written; the protocol allows 16 MiB, smaller frames interleave streams. */
const MAX_DATA_FRAME = 64 * 1024;

/** What carries the session's bytes. */
export interface SpdyTransport {
  /** Sends bytes; `done` once they are handed to the socket (a write's backpressure). */
  send(bytes: Buffer, done: (err?: Error | null) => void): void;
  /** Stops and restarts reading from the client (a stream's reader is not keeping up). */
  pause(): void;
  resume(): void;
  /** Ends the connection. */
  close(): void;
}

interface Frame {
  control: boolean;
  /** Control frames: their type. Data frames: their stream. */
  typeOrStream: number;
  version: number;
  flags: number;
  payload: Buffer;
}

/** One stream the client opened: what it sends is read from it, what is written goes back. */
export class SpdyStream extends Duplex {
  /** The client sent FIN (or opened the stream with it). */
  remoteEnded = false;
  private localEnded = false;
  private replied = false;
  private reset = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: HeaderPairs,
    /** UNIDIRECTIONAL: nothing may be sent on it. */
    readonly receiveOnly: boolean,
  ) {
    super({ allowHalfOpen: true });
  }

  /** Accepts the stream (SYN_REPLY); written data waits for it. */
  reply(): void {
    if (this.replied || this.reset) return;
    this.replied = true;
    this.session.sendReply(this.id);
  }

  /** Data (or FIN) from the client. */
  deliver(data: Buffer, fin: boolean): void {
    if (this.remoteEnded) return;
    if (data.length > 0 && !this.push(data)) this.session.holdInput(this);
    if (fin) {
      this.remoteEnded = true;
      this.push(null);
    }
  }

  /** The client reset the stream: nothing more is sent or received. */
  resetByPeer(): void {
    this.reset = true;
    this.destroy();
  }

  override _read(): void {
    this.session.releaseInput(this);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.receiveOnly) return done(new ProtocolError(`stream ${this.id} is receive-only`));
    if (!this.replied) this.reply();
    this.session.sendData(this.id, chunk, false, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.localEnded = true;
    if (this.receiveOnly || this.reset) return done();
    if (!this.replied) this.reply();
    this.session.sendData(this.id, Buffer.alloc(0), true, done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    // Torn down before both sides finished: tell the client the stream is gone.
    if (!this.reset && !(this.localEnded && this.remoteEnded)) this.session.sendReset(this.id, RST.cancel);
    this.reset = true;
    this.session.forget(this);
    done(err);
  }
}

export interface SpdySessionOptions {
  /** Called for each stream the client opens; it replies to the stream or resets it. */
  onStream(stream: SpdyStream): void;
  /** Streams open at once, at most (beyond it a new one is refused). */
  maxStreams: number;
  log: Logger;
}

export class SpdySession {
  private input: Buffer[] = [];
  private inputBytes = 0;
  private readonly queue: Frame[] = [];
  private busy = false;
  private closed = false;
  private goneAway = false;
  private lastStreamId = 0;
  private readonly streams = new Map<number, SpdyStream>();
  private readonly holding = new Set<SpdyStream>();
  private readonly headersIn = new HeaderBlockReader();
  private readonly headersOut = new HeaderBlockWriter();
  private pingId = 0;
  private pingAnswered = true;

  constructor(
    private readonly transport: SpdyTransport,
    private readonly o: SpdySessionOptions,
  ) {}

  get openStreams(): number {
    return this.streams.size;
  }

  /** Bytes from the client, in order. */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    this.input.push(chunk);
    this.inputBytes += chunk.length;
    try {
      this.cutFrames();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.drain();
  }

  /**
   * Sends a PING (ids from the server are even); false when the last one was never answered, so a
   * client that vanished without closing can be dropped.
   */
  ping(): boolean {
    if (!this.pingAnswered) return false;
    this.pingAnswered = false;
    this.pingId += 2;
    const body = Buffer.alloc(4);
    body.writeUInt32BE(this.pingId);
    this.send(controlFrame(TYPE.ping, 0, body));
    return true;
  }

  /** Ends every stream and the connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.streams.values()]) s.destroy();
    this.headersIn.close();
    this.transport.close();
  }

  sendReply(id: number): void {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(id);
    this.send(controlFrame(TYPE.synReply, 0, Buffer.concat([head, this.headersOut.encode(new Map())])));
  }

  sendData(id: number, data: Buffer, fin: boolean, done: (err?: Error | null) => void): void {
    if (this.closed) return done(new ProtocolError('the connection is closed'));
    for (let at = 0; at < data.length || (at === 0 && fin); at += MAX_DATA_FRAME) {
      const piece = data.subarray(at, at + MAX_DATA_FRAME);
      const last = at + MAX_DATA_FRAME >= data.length;
      const head = Buffer.alloc(8);
      head.writeUInt32BE(id & 0x7fffffff, 0);
      head.writeUInt32BE(((last && fin ? FLAG_FIN : 0) << 24) | piece.length, 4);
      this.transport.send(Buffer.concat([head, piece]), last ? done : noop);
      if (last) return;
    }
  }

  sendReset(id: number, status: number): void {
    if (this.closed) return;
    const body = Buffer.alloc(8);
    body.writeUInt32BE(id & 0x7fffffff, 0);
    body.writeUInt32BE(status, 4);
    this.send(controlFrame(TYPE.rstStream, 0, body));
  }

  forget(stream: SpdyStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
    this.releaseInput(stream);
    if (this.goneAway && this.streams.size === 0) this.close();
  }

  /** A stream's reader is full: stop reading the connection until it has room. */
  holdInput(stream: SpdyStream): void {
    if (this.holding.size === 0) this.transport.pause();
    this.holding.add(stream);
  }

  releaseInput(stream: SpdyStream): void {
    if (!this.holding.delete(stream)) return;
    if (this.holding.size === 0 && !this.closed) this.transport.resume();
  }

  private send(bytes: Buffer): void {
    if (!this.closed) this.transport.send(bytes, noop);
  }

  /** Moves every complete frame from the input to the queue. */
  private cutFrames(): void {
    while (this.inputBytes >= 8) {
      const head = this.input.length === 1 ? this.input[0]! : Buffer.concat(this.input);
      this.input = [head];
      const first = head.readUInt32BE(0);
      const flagsAndLength = head.readUInt32BE(4);
      const length = flagsAndLength & 0xffffff;
      const control = (first & 0x80000000) !== 0;
      if (control && length > MAX_CONTROL_FRAME) throw new ProtocolError(`a control frame of ${length} bytes`);
      if (head.length < 8 + length) return;
      this.queue.push({
        control,
        typeOrStream: control ? first & 0xffff : first & 0x7fffffff,
        version: control ? (first >>> 16) & 0x7fff : VERSION,
        flags: flagsAndLength >>> 24,
        // Copied: the rest of the buffer is let go as soon as it is read.
        payload: Buffer.from(head.subarray(8, 8 + length)),
      });
      const rest = head.subarray(8 + length);
      this.input = rest.length > 0 ? [rest] : [];
      this.inputBytes = rest.length;
    }
  }

  /** Handles queued frames in order; a frame with a header block waits for its inflate. */
  private drain(): void {
    while (!this.busy && !this.closed && this.queue.length > 0) {
      const frame = this.queue.shift()!;
      try {
        const pending = this.handle(frame);
        if (pending) {
          this.busy = true;
          pending.then(
            () => {
              this.busy = false;
              this.drain();
            },
            (err: unknown) => this.fail(err),
          );
        }
      } catch (err) {
        this.fail(err);
      }
    }
  }

  private handle(f: Frame): Promise<void> | undefined {
    if (!f.control) {
      const stream = this.streams.get(f.typeOrStream);
      // Data for a stream already reset or finished here: the client had not heard yet.
      stream?.deliver(f.payload, (f.flags & FLAG_FIN) !== 0);
      return undefined;
    }
    if (f.version !== VERSION) throw new ProtocolError(`SPDY version ${f.version}; this server speaks 3`);
    const p = f.payload;
    switch (f.typeOrStream) {
      case TYPE.synStream: {
        if (p.length < 10) throw new ProtocolError('a SYN_STREAM frame cut short');
        const id = p.readUInt32BE(0) & 0x7fffffff;
        return this.headersIn.read(p.subarray(10)).then((headers) => this.open(id, f.flags, headers));
      }
      case TYPE.headers: {
        if (p.length < 4) throw new ProtocolError('a HEADERS frame cut short');
        const id = p.readUInt32BE(0) & 0x7fffffff;
        // Read to keep the header stream in step; a stream's later headers mean nothing here.
        return this.headersIn.read(p.subarray(4)).then(() => {
          if ((f.flags & FLAG_FIN) !== 0) this.streams.get(id)?.deliver(Buffer.alloc(0), true);
        });
      }
      case TYPE.synReply:
        // The client's answer to a stream this server opened: it opens none.
        throw new ProtocolError('SYN_REPLY for a stream this server did not open');
      case TYPE.rstStream: {
        if (p.length < 8) throw new ProtocolError('a RST_STREAM frame cut short');
        this.streams.get(p.readUInt32BE(0) & 0x7fffffff)?.resetByPeer();
        return undefined;
      }
      case TYPE.ping: {
        if (p.length < 4) throw new ProtocolError('a PING frame cut short');
        const id = p.readUInt32BE(0);
        // Odd ids are the client's own pings, answered with the same frame; even ones answer ours.
        if (id % 2 === 1) this.send(controlFrame(TYPE.ping, 0, p.subarray(0, 4)));
        else if (id === this.pingId) this.pingAnswered = true;
        return undefined;
      }
      case TYPE.goAway:
        // The client opens no more streams: the connection ends with the last one.
        this.goneAway = true;
        if (this.streams.size === 0) this.close();
        return undefined;
      default:
        // SETTINGS, WINDOW_UPDATE, and any type this server does not know: nothing to do.
        return undefined;
    }
  }

  private open(id: number, flags: number, headers: HeaderPairs): void {
    // Client streams are odd and increasing; anything else is a broken client.
    if (id === 0 || id % 2 === 0 || id <= this.lastStreamId) {
      this.sendReset(id, RST.protocolError);
      return;
    }
    this.lastStreamId = id;
    if (this.goneAway || this.streams.size >= this.o.maxStreams) {
      this.sendReset(id, RST.refusedStream);
      return;
    }
    const stream = new SpdyStream(this, id, headers, (flags & FLAG_UNIDIRECTIONAL) !== 0);
    this.streams.set(id, stream);
    // Its own errors (a write after the connection closed) end only the stream.
    stream.on('error', (err) => this.o.log.debug('port-forward stream failed', { stream: id, error: err.message }));
    if ((flags & FLAG_FIN) !== 0) stream.deliver(Buffer.alloc(0), true);
    this.o.onStream(stream);
  }

  /** A broken peer: say so (GOAWAY with PROTOCOL_ERROR) and end the connection. */
  private fail(err: unknown): void {
    if (this.closed) return;
    if (err instanceof ProtocolError) this.o.log.info('port-forward client broke the SPDY protocol: closing', { error: err.message });
    else this.o.log.warn('port-forward session failed: closing', { error: err instanceof Error ? err.message : String(err) });
    const body = Buffer.alloc(8);
    body.writeUInt32BE(this.lastStreamId, 0);
    body.writeUInt32BE(GOAWAY_PROTOCOL_ERROR, 4);
    this.send(controlFrame(TYPE.goAway, 0, body));
    this.close();
  }
}

function controlFrame(type: number, flags: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE((0x80000000 | (VERSION << 16) | type) >>> 0, 0);
  head.writeUInt32BE(((flags << 24) | body.length) >>> 0, 4);
  return Buffer.concat([head, body]);
}

function noop(): void {}
