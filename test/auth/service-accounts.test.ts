// ServiceAccounts end to end (real etcd, real HTTP, the serviceaccount controller in a controller
// manager): every namespace gets its `default` account back whatever happens to it; pods run as
// `default` unless they name an account that exists; a token from `serviceaccounts/token`
// authenticates as the account with its groups, is good for exactly what RBAC grants the account,
// on every API server replica, and stops working when the account (or the pod it is bound to) is
// deleted — also when a namesake is made again. TokenReview and OpenID Connect discovery let
// others check tokens; bad TokenRequests are 422s naming the field.
import { expect } from 'chai';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { causeFields, expectStatus, namespaceBody, podBody, sendAs, type RawResponse } from '../apiserver/helpers.js';
import { startTestControllerManager, type TestControllerManager } from '../controllers/helpers.js';
import { waitFor } from '../clients/helpers.js';

const NS = '/api/v1/namespaces/default';

interface TokenRequestView {
  kind: string;
  spec: { audiences: string[]; expirationSeconds: number; boundObjectRef?: { uid?: string } };
  status: { token: string; expirationTimestamp: string };
}
interface UserView {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}
interface ObjView {
  metadata: { name: string; uid: string; resourceVersion: string };
  spec?: { serviceAccountName?: string };
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('ServiceAccounts and their tokens', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let controllers: TestControllerManager;
  const as = (token: string, method: string, path: string, body?: unknown): Promise<RawResponse> => sendAs(api.url, token, { method, path, ...(body !== undefined ? { body } : {}) });
  const admin = (method: string, path: string, body?: unknown) => as(TEST_TOKENS.admin, method, path, body);
  const tokenFor = async (account: string, spec: Record<string, unknown> = {}, namespace = 'default'): Promise<TokenRequestView> => {
    const res = await admin('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${account}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec });
    expect(res.status, res.text).to.equal(201);
    return res.body as TokenRequestView;
  };
  const whoami = async (token: string): Promise<RawResponse> => as(token, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  const account = async (name: string, namespace = 'default'): Promise<ObjView> => {
    const res = await admin('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } });
    expect(res.status, res.text).to.equal(201);
    return res.body as ObjView;
  };

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd', auth: true });
    controllers = startTestControllerManager(api.url, { token: TEST_TOKENS.admin, enabled: ['serviceaccount'] });
  });
  after(async () => {
    await controllers?.stop();
    await api?.close();
  });

  it("keeps a `default` account in every namespace: made with the namespace, made again when deleted, none while it goes", async () => {
    const made = await admin('POST', '/api/v1/namespaces', namespaceBody('team-sa'));
    expect(made.status, made.text).to.equal(201);
    const first = await waitFor(async () => {
      const r = await admin('GET', '/api/v1/namespaces/team-sa/serviceaccounts/default');
      return r.status === 200 ? (r.body as ObjView) : undefined;
    }, 'the default account of team-sa');
    expect((await admin('GET', `${NS}/serviceaccounts/default`)).status).to.equal(200);
    const deleted = await admin('DELETE', '/api/v1/namespaces/team-sa/serviceaccounts/default');
    expect(deleted.status, deleted.text).to.equal(200);
    const again = await waitFor(async () => {
      const r = await admin('GET', '/api/v1/namespaces/team-sa/serviceaccounts/default');
      return r.status === 200 ? (r.body as ObjView) : undefined;
    }, 'the default account made again');
    expect(again.metadata.uid).to.not.equal(first.metadata.uid);
    // kubectl's columns.
    const table = await fetch(`${api.url}/api/v1/namespaces/team-sa/serviceaccounts`, {
      headers: { Authorization: `Bearer ${TEST_TOKENS.admin}`, Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    }).then((r) => r.json() as Promise<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }>);
    expect(table.columnDefinitions.map((c) => c.name)).to.deep.equal(['Name', 'Secrets', 'Age']);
    expect(table.rows.map((r) => r.cells.slice(0, 2))).to.deep.equal([['default', 0]]);
    // The namespace goes, and with it the account, which is not made again.
    expect((await admin('DELETE', '/api/v1/namespaces/team-sa')).status).to.equal(200);
    await waitFor(async () => ((await admin('GET', '/api/v1/namespaces/team-sa')).status === 404 ? true : undefined), 'team-sa gone', 20_000);
    await new Promise((r) => setTimeout(r, 500));
    expect((await admin('GET', '/api/v1/namespaces/team-sa/serviceaccounts/default')).status).to.equal(404);
  });

  it('runs a pod as `default` unless it names an account, and refuses one naming an account that does not exist', async () => {
    const plain = await admin('POST', `${NS}/pods`, podBody('sa-plain'));
    expect(plain.status, plain.text).to.equal(201);
    expect((plain.body as ObjView).spec?.serviceAccountName).to.equal('default');
    const missing = await admin('POST', `${NS}/pods`, { ...podBody('sa-missing'), spec: { ...(podBody('sa-missing')['spec'] as object), serviceAccountName: 'robot' } });
    expect(expectStatus(missing, 403, 'Forbidden').message).to.equal('pods "sa-missing" is forbidden: error looking up service account default/robot: serviceaccount "robot" not found');
    expect((await admin('GET', `${NS}/pods/sa-missing`)).status).to.equal(404);
    await account('robot');
    const named = await admin('POST', `${NS}/pods`, { ...podBody('sa-missing'), spec: { ...(podBody('sa-missing')['spec'] as object), serviceAccountName: 'robot' } });
    expect(named.status, named.text).to.equal(201);
    expect((named.body as ObjView).spec?.serviceAccountName).to.equal('robot');
  });

  it('issues a token that authenticates as the account, with its groups, and is good for what RBAC grants it', async () => {
    const sa = await account('ci');
    const tr = await tokenFor('ci');
    expect(tr.kind).to.equal('TokenRequest');
    expect(tr.spec.audiences).to.deep.equal(['https://cell.cluster.local']);
    expect(tr.spec.expirationSeconds).to.equal(3600);
    const expires = Date.parse(tr.status.expirationTimestamp);
    expect(expires - Date.now()).to.be.within(3590_000, 3610_000);
    const claims = claimsOf(tr.status.token);
    expect(claims['sub']).to.equal('system:serviceaccount:default:ci');
    expect(claims['iss']).to.equal('https://cell.cluster.local');

    const me = await whoami(tr.status.token);
    expect(me.status, me.text).to.equal(201);
    const user = (me.body as { status: { userInfo: UserView } }).status.userInfo;
    expect(user.username).to.equal('system:serviceaccount:default:ci');
    expect(user.uid).to.equal(sa.metadata.uid);
    expect(user.groups).to.deep.equal(['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
    expect(user.extra?.['authentication.kubernetes.io/credential-id']).to.deep.equal([`JTI=${String(claims['jti'])}`]);

    // Nothing granted yet; then view in default through a RoleBinding to the account.
    expect(expectStatus(await as(tr.status.token, 'GET', `${NS}/pods`), 403, 'Forbidden').message).to.include('User "system:serviceaccount:default:ci" cannot list resource "pods"');
    const rb = await admin('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'ci-view' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'ci', namespace: 'default' }],
    });
    expect(rb.status, rb.text).to.equal(201);
    await waitFor(async () => ((await as(tr.status.token, 'GET', `${NS}/pods`)).status === 200 ? true : undefined), 'the RoleBinding in effect');
    expect((await as(tr.status.token, 'GET', '/api/v1/namespaces/kube-system/pods')).status).to.equal(403);
    expect((await as(tr.status.token, 'POST', `${NS}/pods`, podBody('from-ci'))).status).to.equal(403);
    // A viewer does not mint tokens (nor does the account for itself without a grant).
    expect((await as(TEST_TOKENS.viewer, 'POST', `${NS}/serviceaccounts/ci/token`, { spec: {} })).status).to.equal(403);
    expect((await as(tr.status.token, 'POST', `${NS}/serviceaccounts/ci/token`, { spec: {} })).status).to.equal(403);
    expect((await as(TEST_TOKENS.node1, 'POST', `${NS}/serviceaccounts/ci/token`, { spec: {} })).status).to.equal(403);
  });

  it('is checked on every request: a tampered token, another audience, a deleted account or a namesake made since are 401', async () => {
    await account('short');
    const tr = await tokenFor('short');
    expect((await whoami(tr.status.token)).status).to.equal(201);
    // The payload changed to another account, the signature kept.
    const [h, p, s] = tr.status.token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claimsOf(tr.status.token), sub: 'system:serviceaccount:kube-system:default' })).toString('base64url');
    expect(p).to.not.equal(forged);
    const tampered = await whoami(`${h}.${forged}.${s}`);
    expect(expectStatus(tampered, 401, 'Unauthorized').message).to.equal('Unauthorized: token signature is invalid');
    // A token for someone else is no key to the API.
    const vault = await tokenFor('short', { audiences: ['vault'] });
    expect(expectStatus(await whoami(vault.status.token), 401, 'Unauthorized').message).to.match(/token audiences \["vault"\] are invalid/);
    // Deleted: refused; made again under the same name: still refused (another uid).
    expect((await admin('DELETE', `${NS}/serviceaccounts/short`)).status).to.equal(200);
    expect(expectStatus(await whoami(tr.status.token), 401, 'Unauthorized').message).to.equal('Unauthorized: service account default/short has been deleted');
    await account('short');
    await waitFor(async () => ((await whoami(tr.status.token)).text.includes('made again') ? true : undefined), 'the token refused for the namesake');
    const fresh = await tokenFor('short');
    expect((await whoami(fresh.status.token)).status).to.equal(201);
  });

  it('binds a token to a pod: it names the pod, and dies with it', async () => {
    await account('worker');
    const pod = await admin('POST', `${NS}/pods`, { ...podBody('bound-pod'), spec: { ...(podBody('bound-pod')['spec'] as object), serviceAccountName: 'worker' } });
    expect(pod.status, pod.text).to.equal(201);
    const uid = (pod.body as ObjView).metadata.uid;
    const tr = await tokenFor('worker', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'bound-pod' }, expirationSeconds: 7200 });
    expect(tr.spec.boundObjectRef?.uid).to.equal(uid);
    expect(tr.spec.expirationSeconds).to.equal(7200);
    const me = await whoami(tr.status.token);
    const user = (me.body as { status: { userInfo: UserView } }).status.userInfo;
    expect(user.extra?.['authentication.kubernetes.io/pod-name']).to.deep.equal(['bound-pod']);
    expect(user.extra?.['authentication.kubernetes.io/pod-uid']).to.deep.equal([uid]);
    // The pod runs as another account, or is another pod than the uid says: refused.
    const other = await admin('POST', `${NS}/serviceaccounts/ci/token`, { spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'bound-pod' } } });
    expect(expectStatus(other, 400, 'BadRequest').message).to.equal('cannot bind token for serviceaccount "ci" to pod "bound-pod" running with serviceaccount "worker"');
    const stale = await admin('POST', `${NS}/serviceaccounts/worker/token`, { spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'bound-pod', uid: 'not-its-uid' } } });
    expect(expectStatus(stale, 409, 'Conflict').message).to.match(/does not match the UID in record/);
    expect((await admin('POST', `${NS}/serviceaccounts/worker/token`, { spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'no-such-pod' } } })).status).to.equal(404);
    // An unbound pod is deleted at once: the token goes with it.
    expect((await admin('DELETE', `${NS}/pods/bound-pod`)).status).to.equal(200);
    expect(expectStatus(await whoami(tr.status.token), 401, 'Unauthorized').message).to.equal('Unauthorized: the token is bound to pod "bound-pod", which has been deleted');
  });

  it('refuses bad TokenRequests with the field that is wrong, and an account that does not exist with 404', async () => {
    const bad = async (spec: Record<string, unknown>) => causeFields(expectStatus(await admin('POST', `${NS}/serviceaccounts/ci/token`, { spec }), 422, 'Invalid'));
    expect(await bad({ expirationSeconds: 599 })).to.deep.equal(['spec.expirationSeconds']);
    expect(await bad({ expirationSeconds: 2 ** 33 })).to.deep.equal(['spec.expirationSeconds']);
    expect(await bad({ audiences: [''] })).to.deep.equal(['spec.audiences[0]']);
    expect(await bad({ boundObjectRef: { kind: 'Deployment', apiVersion: 'v1', name: 'x' } })).to.deep.equal(['spec.boundObjectRef.kind']);
    expect(await bad({ boundObjectRef: { kind: 'Pod', apiVersion: 'apps/v1', name: 'x' } })).to.deep.equal(['spec.boundObjectRef.apiVersion']);
    expect(await bad({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1' } })).to.deep.equal(['spec.boundObjectRef.name']);
    const missing = await admin('POST', `${NS}/serviceaccounts/nobody-here/token`, { spec: {} });
    expect(expectStatus(missing, 404, 'NotFound').message).to.equal('serviceaccounts "nobody-here" not found');
  });

  it('answers TokenReviews for service account and static tokens, and serves the key for checking tokens elsewhere', async () => {
    const tr = await tokenFor('ci', { audiences: ['vault', 'ci-system'] });
    const review = async (token: string, audiences?: string[]) => {
      const res = await admin('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } });
      expect(res.status, res.text).to.equal(201);
      return (res.body as { status: { authenticated?: boolean; user?: UserView; audiences?: string[]; error?: string } }).status;
    };
    const good = await review(tr.status.token, ['vault']);
    expect(good.authenticated).to.equal(true);
    expect(good.user?.username).to.equal('system:serviceaccount:default:ci');
    expect(good.audiences).to.deep.equal(['vault']);
    const wrongAudience = await review(tr.status.token);
    expect(wrongAudience.authenticated).to.equal(false);
    expect(wrongAudience.error).to.match(/audiences/);
    expect((await review(TEST_TOKENS.viewer)).user?.username).to.equal('viewer');
    expect(await review('nonsense')).to.deep.equal({ authenticated: false, error: 'invalid bearer token' });
    // Only those granted it review tokens (system:auth-delegator, admins).
    expect((await as(TEST_TOKENS.viewer, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', { spec: { token: 'x' } })).status).to.equal(403);
    expect(causeFields(expectStatus(await admin('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { spec: {} }), 422, 'Invalid'))).to.deep.equal(['spec.token']);

    // OpenID Connect discovery: any service account may read it; the token verifies with the key.
    const sa = (await tokenFor('ci')).status.token;
    const discovery = await as(sa, 'GET', '/.well-known/openid-configuration');
    expect(discovery.status, discovery.text).to.equal(200);
    const doc = discovery.body as { issuer: string; jwks_uri: string; id_token_signing_alg_values_supported: string[] };
    expect(doc.issuer).to.equal('https://cell.cluster.local');
    expect(doc.jwks_uri).to.equal('https://cell.cluster.local/openid/v1/jwks');
    const jwks = await as(sa, 'GET', '/openid/v1/jwks');
    expect(jwks.status, jwks.text).to.equal(200);
    const [key] = (jwks.body as { keys: (JsonWebKey & { kid: string; alg: string })[] }).keys;
    expect(key?.alg).to.equal('ES256');
    const [h, p, s] = tr.status.token.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString()) as unknown).to.deep.equal({ alg: 'ES256', kid: key?.kid });
    const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key: createPublicKey({ key: key!, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(s!, 'base64url'));
    expect(ok).to.equal(true);
    expect((await as(TEST_TOKENS.nobody, 'GET', '/openid/v1/jwks')).status).to.equal(403);
  });

  it('is accepted by every replica: the signing key is the cluster\'s, not one server\'s', async () => {
    const second = await startTestApiServer({ backend: 'etcd', auth: true, prefix: api.prefix });
    try {
      const tr = await tokenFor('ci');
      const me = await sendAs(second.url, tr.status.token, { method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
      expect(me.status, me.text).to.equal(201);
      // And the other way round.
      const res = await sendAs(second.url, TEST_TOKENS.admin, { method: 'POST', path: `${NS}/serviceaccounts/ci/token`, body: { spec: {} } });
      expect(res.status, res.text).to.equal(201);
      expect((await whoami((res.body as TokenRequestView).status.token)).status).to.equal(201);
    } finally {
      await second.close();
    }
  });
});
