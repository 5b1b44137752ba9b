// Service account tokens on their own (apiserver/auth/service-account-tokens.ts), with a clock the
// test moves: a token lives exactly as long as granted (the server's maximum caps a request), is
// not good before its time beyond the allowed skew, is refused once signed by another key, and is
// left to other authenticators when it is not this issuer's (or not a JWT at all).
import { expect } from 'chai';
import { createLogger } from '../../shared/logging.js';
import { UnauthorizedError } from '../../shared/errors.js';
import { MemoryStore } from '../../apiserver/storage/memory.js';
import { ServiceAccountTokens, type TokenSubjects } from '../../apiserver/auth/service-account-tokens.js';
import type { KubeObject } from '../../apiserver/registry/object.js';

const log = createLogger('test', 'error');
const ISSUER = 'https://issuer.test';
const T0 = Date.parse('2026-06-01T00:00:00Z');

function obj(namespace: string, name: string, uid: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace, name, uid } };
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(UnauthorizedError);
    return (err as Error).message;
  }
  throw new Error('expected the token to be refused');
}

describe('service account tokens', () => {
  const accounts = new Map<string, KubeObject>();
  const subjects: TokenSubjects = { serviceAccount: (ns, name) => accounts.get(`${ns}/${name}`), bound: () => undefined };
  let tokens: ServiceAccountTokens;
  const sa = obj('apps', 'bot', 'uid-1');

  before(async () => {
    accounts.set('apps/bot', sa);
    tokens = await ServiceAccountTokens.load(new MemoryStore(), log, { issuer: ISSUER, apiAudiences: ['api'], maxExpirationSeconds: 7200 }, subjects);
  });

  it('lives as long as granted, capped by the server, and not before its time', () => {
    const { status, expirationSeconds } = tokens.issue(sa, { audiences: [], expirationSeconds: 86_400 }, T0);
    expect(expirationSeconds).to.equal(7200);
    expect(status.expirationTimestamp).to.equal('2026-06-01T02:00:00Z');
    const id = tokens.authenticate(status.token, ['api'], T0 + 7199_000);
    expect(id?.user).to.deep.include({ name: 'system:serviceaccount:apps:bot', uid: 'uid-1' });
    expect(id?.audiences).to.deep.equal(['api']);
    expect(refusal(() => tokens.authenticate(status.token, ['api'], T0 + 7200_000))).to.equal('Unauthorized: token has expired');
    // Another replica's clock may be a little behind: a minute of skew is allowed, not more.
    expect(tokens.authenticate(status.token, ['api'], T0 - 59_000)).to.not.equal(undefined);
    expect(refusal(() => tokens.authenticate(status.token, ['api'], T0 - 61_000))).to.equal('Unauthorized: token is not valid yet');
  });

  it("leaves other issuers' tokens and non-JWTs to other authenticators, and refuses another key's", async () => {
    expect(tokens.authenticate('plain-static-token', ['api'], T0)).to.equal(undefined);
    expect(tokens.authenticate('a.b.c', ['api'], T0)).to.equal(undefined);
    const other = await ServiceAccountTokens.load(new MemoryStore(), log, { issuer: 'https://elsewhere.test', apiAudiences: ['api'] }, subjects);
    expect(tokens.authenticate(other.issue(sa, { audiences: [], expirationSeconds: 3600 }, T0).status.token, ['api'], T0)).to.equal(undefined);
    // Same issuer, another cluster's key: a forgery as far as this cluster knows.
    const sameName = await ServiceAccountTokens.load(new MemoryStore(), log, { issuer: ISSUER, apiAudiences: ['api'] }, subjects);
    const forged = sameName.issue(sa, { audiences: [], expirationSeconds: 3600 }, T0).status.token;
    expect(refusal(() => tokens.authenticate(forged, ['api'], T0))).to.equal("Unauthorized: token was not signed with this cluster's key");
  });

  it('serves the key it signs with as a JWK, and the same store gives every replica the same key', async () => {
    const store = new MemoryStore();
    const a = await ServiceAccountTokens.load(store, log, { issuer: ISSUER, apiAudiences: ['api'] }, subjects);
    const b = await ServiceAccountTokens.load(store, log, { issuer: ISSUER, apiAudiences: ['api'] }, subjects);
    expect(b.jwks()).to.deep.equal(a.jwks());
    expect(a.jwks().keys[0]).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(a.jwks().keys[0]).to.not.have.property('d');
    const token = a.issue(sa, { audiences: [], expirationSeconds: 3600 }, T0).status.token;
    expect(b.authenticate(token, ['api'], T0)?.user.name).to.equal('system:serviceaccount:apps:bot');
  });
});
