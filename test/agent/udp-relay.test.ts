// The UDP relay on its own, over real loopback sockets: a flow per client, the flow cap, idle
// flows ending, and a flow whose endpoint refuses giving way to the next endpoint.
import { expect } from 'chai';
import dgram from 'node:dgram';
import { UdpRelay } from '../../agent/udp-relay.js';
import type { Backend } from '../../agent/service-backends.js';
import { createLogger } from '../../shared/logging.js';
import { waitFor } from './helpers.js';

/** A UDP server on loopback answering `NAME datagram`. */
async function echo(name: string): Promise<{ socket: dgram.Socket; backend: Backend }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (m, r) => socket.send(`${name} ${m.toString()}`, r.port, r.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, backend: { ip: '127.0.0.1', port: socket.address().port } };
}

async function client(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

/** The reply to one datagram, or undefined after `ms`. */
function ask(s: dgram.Socket, port: number, text: string, ms = 1_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      s.off('message', onMessage);
      resolve(v);
    };
    const onMessage = (m: Buffer) => done(m.toString());
    const timer = setTimeout(() => done(undefined), ms);
    s.on('message', onMessage);
    s.send(text, port, '127.0.0.1');
  });
}

describe('agent: UDP relay', () => {
  const log = createLogger('udp-relay-test', 'error');
  const opened: { close(): void }[] = [];
  afterEach(() => {
    for (const o of opened.splice(0)) o.close();
  });

  async function relay(backends: () => Backend[], opts: { idleMs?: number; maxFlows?: number } = {}): Promise<{ relay: UdpRelay; port: number; started: (Backend | undefined)[] }> {
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const port = probe.address().port;
    probe.close();
    const started: (Backend | undefined)[] = [];
    const r = new UdpRelay({ host: '127.0.0.1', port, choose: backends, flowStarted: (_ip, b) => started.push(b), log, ...opts });
    await new Promise<void>((resolve, reject) => r.open(resolve, reject));
    opened.push(r);
    return { relay: r, port, started };
  }

  it('keeps each client with its endpoint, caps the flows, and ends idle ones', async () => {
    const a = await echo('a');
    const b = await echo('b');
    opened.push(a.socket, b.socket);
    let turn = 0;
    const { relay: r, port } = await relay(() => (turn++ % 2 === 0 ? [a.backend, b.backend] : [b.backend, a.backend]), { idleMs: 1_000, maxFlows: 2 });
    const [c1, c2, c3] = [await client(), await client(), await client()];
    opened.push(c1, c2, c3);
    expect(await ask(c1, port, 'x')).to.equal('a x');
    expect(await ask(c2, port, 'y')).to.equal('b y');
    expect(await ask(c1, port, 'z')).to.equal('a z');
    // A third client while two flows are open: dropped.
    expect(await ask(c3, port, 'w', 150)).to.equal(undefined);
    expect(r.flowCount).to.equal(2);
    // Quiet flows end; then the third client gets one.
    await waitFor(() => r.flowCount === 0, 'idle flows ended', 5_000, 20);
    expect(await ask(c3, port, 'w')).to.match(/^[ab] w$/);
  });

  it('a flow whose endpoint refuses ends, and the next datagram goes to the next endpoint', async () => {
    const gone = await echo('gone');
    const b = await echo('b');
    opened.push(b.socket);
    gone.socket.close();
    let turn = 0;
    const { port, started } = await relay(() => (turn++ === 0 ? [gone.backend, b.backend] : [b.backend, gone.backend]));
    const c = await client();
    opened.push(c);
    // The first datagram goes to the closed port; its refusal ends the flow.
    expect(await ask(c, port, 'first', 300)).to.equal(undefined);
    await waitFor(async () => (await ask(c, port, 'again', 300)) === 'b again', 'the next endpoint answering', 5_000, 20);
    expect(started[0]).to.deep.equal(gone.backend);
    expect(started.at(-1)).to.deep.equal(b.backend);
  });
});
