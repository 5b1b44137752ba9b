// A client that declares a body and leaves before sending it (issue #21, item 11): an ordinary
// event any client can cause. It must be counted (cell_apiserver_request_aborts_total) and logged
// at debug level, never as a server error, and it must write nothing.
import net from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { podBody, raw, waitFor } from '../apiserver/helpers.js';

interface LogEntry {
  level: string;
  message: string;
  stack?: unknown;
}

const PODS = '/api/v1/namespaces/default/pods';

/** Send the head of a request and `bodyBytes` of its body, then close the connection. */
async function abortMidBody(url: string, method: string, path: string, contentType: string, bodyBytes: string): Promise<void> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const head = `${method} ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${contentType}\r\nContent-Length: 100\r\n\r\n`;
  await new Promise<void>((resolve, reject) => socket.write(head + bodyBytes, (err) => (err ? reject(err) : resolve())));
  socket.destroy();
}

describe('client aborts mid-body (etcd)', function () {
  this.timeout(30_000);
  let t: TestApiServer;
  const entries: LogEntry[] = [];

  before(async () => {
    // Every entry, debug included, as the server writes it.
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        entries.push(JSON.parse(chunk.toString('utf8')) as LogEntry);
        done();
      },
    });
    const log = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
    t = await startTestApiServer({ backend: 'etcd', log });
    expect((await raw(t.url, 'POST', PODS, { body: podBody('target') })).status).to.equal(201);
  });
  after(async () => {
    await t?.close();
  });

  it('is counted and logged at debug level, not as an error, and writes nothing', async () => {
    const before = (await t.store.list('/')).items.length;
    const firstEntry = entries.length;
    const target = (await raw(t.url, 'GET', `${PODS}/target`)).body;
    // Declares 100 bytes, sends 12, leaves: a create, an update, a patch, and one with no body at all.
    await abortMidBody(t.url, 'POST', PODS, 'application/json', '{"metadata":');
    await abortMidBody(t.url, 'PUT', `${PODS}/target`, 'application/json', '{"metadata":');
    await abortMidBody(t.url, 'PATCH', `${PODS}/target`, 'application/merge-patch+json', '{"metadata":');
    await abortMidBody(t.url, 'POST', PODS, 'application/json', '');

    const metric = async () => {
      const res = await raw(t.url, 'GET', '/metrics');
      return /^cell_apiserver_request_aborts_total (\d+)$/m.exec(res.text)?.[1];
    };
    await waitFor('4 aborts counted', async () => (await metric()) === '4');

    const mine = entries.slice(firstEntry);
    const errors = mine.filter((e) => e.level === 'error' || e.level === 'warn');
    expect(errors, JSON.stringify(errors).slice(0, 1000)).to.deep.equal([]);
    const debug = mine.filter((e) => e.level === 'debug' && /aborted/.test(e.message));
    expect(debug).to.have.length(4);
    expect(debug.every((e) => e.stack === undefined)).to.equal(true);

    expect((await t.store.list('/')).items.length).to.equal(before);
    expect((await raw(t.url, 'GET', `${PODS}/target`)).body).to.deep.equal(target);
    // And the server carries on.
    expect((await raw(t.url, 'POST', PODS, { body: podBody('after') })).status).to.equal(201);
  });
});
