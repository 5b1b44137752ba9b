// The agent's SPDY/3.1 session (agent/spdy/) on its own, against a recording transport: frames cut
// anywhere by the carrier are put back together, replies and data go out as the protocol says,
// and no input — cut short, malformed, or random — makes it throw or write after it closed.
import { expect } from 'chai';
import zlib from 'node:zlib';
import { HeaderBlockReader, HeaderBlockWriter, SPDY3_DICTIONARY } from '../../agent/spdy/header-block.js';
import { SpdySession, type SpdyStream } from '../../agent/spdy/session.js';
import { createLogger } from '../../shared/logging.js';
import { seededRandom } from '../../shared/seeded-random.js';

const log = createLogger('test', 'error');

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** A client's side: header blocks deflated through one stream with the dictionary, as Go's. */
class ClientFrames {
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  private out: Buffer[] = [];

  constructor() {
    this.deflate.on('data', (c: Buffer) => this.out.push(c));
  }

  synStream(id: number, headers: [string, string][], flags = 0): Promise<Buffer> {
    const parts = [u32(headers.length)];
    for (const [n, v] of headers) parts.push(u32(n.length), Buffer.from(n), u32(v.length), Buffer.from(v));
    return new Promise((resolve) => {
      this.deflate.write(Buffer.concat(parts));
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const block = Buffer.concat(this.out);
        this.out = [];
        const body = Buffer.concat([u32(id), u32(0), Buffer.from([0, 0]), block]);
        resolve(Buffer.concat([u32(0x80030001), u32((flags << 24) | body.length), body]));
      });
    });
  }

  close(): void {
    this.deflate.close();
  }
}

function data(id: number, payload: Buffer, fin = false): Buffer {
  return Buffer.concat([u32(id), u32(((fin ? 1 : 0) << 24) | payload.length), payload]);
}

/** A session whose output is recorded as frames. */
function recorded(onStream: (s: SpdyStream) => void = (s) => s.reply()) {
  const sent: Buffer[] = [];
  let closed = false;
  let sentAfterClose = 0;
  const session = new SpdySession(
    {
      send: (b, done) => {
        if (closed) sentAfterClose++;
        sent.push(b);
        done();
      },
      pause: () => undefined,
      resume: () => undefined,
      close: () => (closed = true),
    },
    { onStream, maxStreams: 8, log },
  );
  return { session, sent, isClosed: () => closed, sentAfterClose: () => sentAfterClose };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('SPDY session (agent/spdy)', () => {
  it('header blocks: the dictionary is SPDY/3\u2019s, and what the writer encodes an inflater reads back, block after block', async () => {
    expect(SPDY3_DICTIONARY.length).to.equal(1423);
    // The zlib stream of a client that primes with it names it by its Adler-32.
    const first = zlib.deflateSync(Buffer.alloc(1), { dictionary: SPDY3_DICTIONARY });
    expect(first.subarray(2, 6).toString('hex')).to.equal('e3c6a7c2');
    const writer = new HeaderBlockWriter();
    const inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
    const got: Buffer[] = [];
    inflate.on('data', (c: Buffer) => got.push(c));
    for (const pairs of [new Map<string, string>(), new Map([['status', '200']]), new Map([['a', 'b'], ['c', 'd']])]) {
      await new Promise<void>((r) => {
        inflate.write(writer.encode(pairs));
        inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r());
      });
      const raw = Buffer.concat(got.splice(0));
      expect(raw.readUInt32BE(0)).to.equal(pairs.size);
    }
    const reader = new HeaderBlockReader();
    const client = new ClientFrames();
    const syn = await client.synStream(1, [['port', '80'], ['streamtype', 'data']]);
    expect([...(await reader.read(syn.subarray(18)))]).to.deep.equal([['port', '80'], ['streamtype', 'data']]);
    reader.close();
    client.close();
  });

  it('puts frames back together however the carrier cuts them, replies to each stream, and passes data both ways', async () => {
    const streams: SpdyStream[] = [];
    const got: string[] = [];
    const { session, sent } = recorded((s) => {
      streams.push(s);
      s.reply();
      s.on('data', (d: Buffer) => got.push(d.toString()));
      s.on('end', () => s.end('bye'));
    });
    const client = new ClientFrames();
    const bytes = Buffer.concat([await client.synStream(1, [['streamtype', 'data']]), data(1, Buffer.from('hello ')), data(1, Buffer.from('world'), true)]);
    // One byte at a time.
    for (const b of bytes) session.receive(Buffer.from([b]));
    await settle();
    expect(streams.map((s) => [s.id, s.headers.get('streamtype')])).to.deep.equal([[1, 'data']]);
    expect(got.join('')).to.equal('hello world');
    // SYN_REPLY for 1, then 'bye' and the FIN.
    expect(sent[0]!.readUInt32BE(0)).to.equal(0x80030002);
    expect(sent[0]!.readUInt32BE(8)).to.equal(1);
    const out = sent.slice(1).filter((f) => (f.readUInt32BE(0) & 0x80000000) === 0);
    expect(Buffer.concat(out.map((f) => f.subarray(8))).toString()).to.equal('bye');
    expect(out.at(-1)!.readUInt8(4)).to.equal(1);
    expect(session.openStreams).to.equal(0);
    session.close();
    client.close();
  });

  it('refuses even or reused stream ids and streams beyond its limit; answers the client\u2019s pings', async () => {
    const { session, sent } = recorded();
    const client = new ClientFrames();
    session.receive(await client.synStream(2, []));
    session.receive(await client.synStream(3, []));
    session.receive(await client.synStream(3, []));
    for (let id = 5; id <= 21; id += 2) session.receive(await client.synStream(id, []));
    session.receive(Buffer.concat([u32(0x80030006), u32(4), u32(9)]));
    await settle();
    const resets = sent.filter((f) => f.readUInt32BE(0) === 0x80030003).map((f) => [f.readUInt32BE(8), f.readUInt32BE(12)]);
    // 2 (even) and the second 3: protocol errors; past 8 open streams: refused.
    expect(resets).to.deep.include.members([[2, 1], [3, 1], [19, 3], [21, 3]]);
    expect(sent.some((f) => f.readUInt32BE(0) === 0x80030006 && f.readUInt32BE(8) === 9)).to.equal(true);
    session.close();
    client.close();
  });

  it('never throws on bad input and writes nothing after it closed: 3,000 random and mutated inputs', async () => {
    const random = seededRandom(4242);
    const client = new ClientFrames();
    const valid = [await client.synStream(1, [['port', '80'], ['streamtype', 'error']]), data(1, Buffer.from('x')), await client.synStream(3, [['port', '80']])];
    client.close();
    let closedCount = 0;
    const sessions: ReturnType<typeof recorded>[] = [];
    for (let i = 0; i < 3000; i++) {
      const r = recorded();
      let input: Buffer;
      if (i % 2 === 0) {
        input = Buffer.alloc(Math.floor(random() * 64));
        for (let j = 0; j < input.length; j++) input[j] = Math.floor(random() * 256);
        // Often a control frame of version 3, so the type switch is reached.
        if (input.length >= 4 && random() < 0.5) input.writeUInt32BE((0x80030000 | Math.floor(random() * 12)) >>> 0, 0);
      } else {
        input = Buffer.from(Buffer.concat(valid));
        for (let k = 0; k < 3; k++) input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
      }
      expect(() => r.session.receive(input)).to.not.throw();
      await new Promise((res) => setImmediate(res));
      if (r.isClosed()) closedCount++;
      r.session.close();
      sessions.push(r);
    }
    // Header blocks still being inflated when their session closed come to nothing.
    await settle();
    expect(sessions.map((r) => r.sentAfterClose()).filter((n) => n > 0)).to.deep.equal([]);
    // Most broken inputs end their session; none ended the process.
    expect(closedCount).to.be.greaterThan(100);
  });
});
