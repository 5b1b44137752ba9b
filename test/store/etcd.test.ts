// etcd-backend specifics: that etcd's own refusals (which the client-side checks normally pre-empt)
// still map to the right errors, checked against the messages a real etcd sends.
import { expect } from 'chai';
import { Etcd3 } from 'etcd3';
import { mapEtcdError } from '../../apiserver/storage/etcd-errors.js';
import { BadRequestError, TxnTooLargeError, UnavailableError } from '../../shared/errors.js';
import { etcdEndpoints, randomPrefix } from './helpers.js';

describe('etcd store: error mapping against a real etcd', function () {
  let client: Etcd3;
  const prefix = randomPrefix();
  const key = (k: string) => Buffer.from(`${prefix}${k}`);

  // A fresh raw client per test: etcd3's default circuit breaker opens after a few refusals in a row.
  beforeEach(function () {
    client = new Etcd3({ hosts: etcdEndpoints() });
  });

  // Every request here is refused, so there is nothing to clean up under the prefix.
  afterEach(function () {
    client.close();
  });

  async function etcdError(p: Promise<unknown>): Promise<unknown> {
    try {
      await p;
    } catch (err) {
      return err;
    }
    throw new Error('etcd accepted the request');
  }

  it('too many operations → TxnTooLargeError', async function () {
    const err = await etcdError(
      client.kv.txn({
        success: Array.from({ length: 129 }, (_, i) => ({ request_put: { key: key(`/${i}`), value: Buffer.from('x') } })),
      }),
    );
    expect(mapEtcdError(err)).to.be.instanceOf(TxnTooLargeError);
  });

  it('a request over --max-request-bytes → TxnTooLargeError', async function () {
    const err = await etcdError(client.kv.put({ key: key('/big'), value: Buffer.alloc(1.6 * 1024 * 1024, 120) }));
    expect(mapEtcdError(err)).to.be.instanceOf(TxnTooLargeError);
    const huge = await etcdError(client.kv.put({ key: key('/huge'), value: Buffer.alloc(3 * 1024 * 1024, 120) }));
    expect(mapEtcdError(huge)).to.be.instanceOf(TxnTooLargeError);
  });

  it('a txn writing one key twice → BadRequestError', async function () {
    const put = { request_put: { key: key('/dup'), value: Buffer.from('x') } };
    const err = await etcdError(client.kv.txn({ success: [put, put] }));
    expect(mapEtcdError(err)).to.be.instanceOf(BadRequestError);
  });

  it('an unreachable endpoint → UnavailableError', async function () {
    const dead = new Etcd3({ hosts: 'http://127.0.0.1:1', faultHandling: { global: undefined } });
    try {
      const err = await etcdError(dead.kv.range({ key: key('/x') }));
      expect(mapEtcdError(err)).to.be.instanceOf(UnavailableError);
    } finally {
      dead.close();
    }
  });
});
