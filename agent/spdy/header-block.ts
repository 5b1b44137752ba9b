// SPDY/3 header blocks (the name/value pairs of SYN_STREAM, SYN_REPLY and HEADERS frames). On the
// wire each block is a piece of one zlib stream per direction, primed with the protocol's fixed
// dictionary and cut at a sync flush, so a block can only be read after every block before it.
//
// Reading uses a real inflate stream. Writing does not compress at all: each block goes out as a
// deflate "stored" block and a sync flush, which any inflater reads, needs no state beyond the
// first block's zlib header, and for the few bytes the agent ever sends (empty replies) is about
// as small as compressed.
import zlib from 'node:zlib';
import { ProtocolError } from './protocol-error.js';

/** The header names and values the dictionary is primed with, each written length-prefixed. */
const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive',
  'origin',
];

/** The dictionary's tail: common values run together without lengths. */
const DICTIONARY_TAIL = [
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505',
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized',
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable',
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT',
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,',
  'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.',
].join('');

/** SPDY/3's zlib dictionary (the draft's section 2.6.10.1): both ends must use exactly these bytes. */
export const SPDY3_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.flatMap((w) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    return [len, Buffer.from(w, 'latin1')];
  }),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

/** A header block's pairs: names lower-case; a value holding several is NUL-separated on the wire. */
export type HeaderPairs = ReadonlyMap<string, string>;

/** Most bytes one header block may inflate to: a port-forward stream's headers are a few dozen. */
const MAX_HEADER_BLOCK_BYTES = 64 * 1024;

/** Reads the peer's header blocks, in the order they arrived, from its one zlib stream. */
export class HeaderBlockReader {
  private readonly inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  private out: Buffer[] = [];
  private outBytes = 0;
  private failed: Error | undefined;

  constructor() {
    this.inflate.on('data', (chunk: Buffer) => {
      this.outBytes += chunk.length;
      if (this.outBytes <= MAX_HEADER_BLOCK_BYTES) this.out.push(chunk);
    });
    // A corrupt stream is reported to the read that fed it (below), not thrown from the emitter.
    this.inflate.on('error', (err) => (this.failed = err));
  }

  /** The pairs of the next block. Blocks must be read one at a time, in the order they came. */
  read(compressed: Buffer): Promise<HeaderPairs> {
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(new ProtocolError(`header compression failed: ${this.failed.message}`));
      this.inflate.write(compressed);
      this.inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const raw = Buffer.concat(this.out);
        const size = this.outBytes;
        this.out = [];
        this.outBytes = 0;
        if (this.failed) return reject(new ProtocolError(`header compression failed: ${this.failed.message}`));
        if (size > MAX_HEADER_BLOCK_BYTES) return reject(new ProtocolError(`a header block over ${MAX_HEADER_BLOCK_BYTES} bytes`));
        try {
          resolve(parsePairs(raw));
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  close(): void {
    this.inflate.destroy();
  }
}

function parsePairs(raw: Buffer): HeaderPairs {
  const pairs = new Map<string, string>();
  let at = 0;
  const take = (what: string): Buffer => {
    if (at + 4 > raw.length) throw new ProtocolError(`a header block cut short in ${what}`);
    const len = raw.readUInt32BE(at);
    at += 4;
    if (at + len > raw.length) throw new ProtocolError(`a header block cut short in ${what}`);
    const b = raw.subarray(at, at + len);
    at += len;
    return b;
  };
  if (raw.length < 4) throw new ProtocolError('a header block without its count');
  const count = raw.readUInt32BE(0);
  at = 4;
  for (let i = 0; i < count; i++) {
    const name = take('a name').toString('latin1').toLowerCase();
    const value = take('a value').toString('utf8');
    if (pairs.has(name)) throw new ProtocolError(`header ${name.slice(0, 40)} given twice`);
    pairs.set(name, value);
  }
  if (at !== raw.length) throw new ProtocolError('bytes after the last header pair');
  return pairs;
}

/** Writes this end's header blocks: the first one opens the zlib stream. */
export class HeaderBlockWriter {
  private started = false;

  encode(pairs: HeaderPairs): Buffer {
    const parts: Buffer[] = [u32(pairs.size)];
    for (const [name, value] of pairs) {
      const n = Buffer.from(name.toLowerCase(), 'latin1');
      const v = Buffer.from(value, 'utf8');
      parts.push(u32(n.length), n, u32(v.length), v);
    }
    const raw = Buffer.concat(parts);
    if (raw.length > 0xffff) throw new ProtocolError('a header block over 65,535 bytes');
    // The zlib header (first block only): deflate with a 32 KiB window, no preset dictionary.
    const head = this.started ? [] : [Buffer.from([0x78, 0x01])];
    this.started = true;
    // The pairs as a stored block (BFINAL 0, BTYPE 00, padding to the byte, the length and its
    // complement, the bytes as they are), then an empty stored block: a sync flush, which is what
    // makes an inflater hand over the block's bytes without waiting for the next block's header.
    const stored = Buffer.alloc(5);
    stored.writeUInt16LE(raw.length, 1);
    stored.writeUInt16LE(~raw.length & 0xffff, 3);
    return Buffer.concat([...head, stored, raw, SYNC_FLUSH]);
  }
}

const SYNC_FLUSH = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
