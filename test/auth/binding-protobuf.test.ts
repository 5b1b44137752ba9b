// The protobuf request bodies kubectl sends for `create rolebinding` / `create clusterrolebinding`
// (apiserver/http/protobuf.ts): decoded to the JSON object they stand for; anything else refused.
// The kubectl tests cover the real client; these pin the wire details with hand-encoded bodies.
import { expect } from 'chai';
import { decodeProtobufObject } from '../../apiserver/http/protobuf.js';
import { BadRequestError, UnsupportedMediaTypeError } from '../../shared/errors.js';

/** Protobuf wire encoding of a message given as [field number, string | nested message][] pairs. */
type Pb = [number, string | Buffer | Pb][];
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
function encode(fields: Pb): Buffer {
  return Buffer.concat(
    fields.map(([no, v]) => {
      const payload = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.isBuffer(v) ? v : encode(v);
      return Buffer.concat([varint(no * 8 + 2), varint(payload.length), payload]);
    }),
  );
}
function envelope(apiVersion: string, kind: string, raw: Pb): Buffer {
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), encode([[1, [[1, apiVersion], [2, kind]]], [2, encode(raw)], [3, ''], [4, '']])]);
}

describe('protobuf request bodies (RBAC bindings)', () => {
  it('decodes a RoleBinding: metadata, subjects, roleRef; empty proto2 strings are left out', () => {
    const body = envelope('rbac.authorization.k8s.io/v1', 'RoleBinding', [
      [1, [[1, 'tenant-pods'], [3, 'team-a'], [11, [[1, 'team'], [2, 'a']]]]],
      [2, [[1, 'User'], [2, 'rbac.authorization.k8s.io'], [3, 'tenant'], [4, '']]],
      [2, [[1, 'ServiceAccount'], [2, ''], [3, 'builder'], [4, 'team-a']]],
      [3, [[1, 'rbac.authorization.k8s.io'], [2, 'Role'], [3, 'pod-editor']]],
    ]);
    expect(decodeProtobufObject(body)).to.deep.equal({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'tenant-pods', namespace: 'team-a', labels: { team: 'a' } },
      subjects: [
        { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'tenant' },
        { kind: 'ServiceAccount', name: 'builder', namespace: 'team-a' },
      ],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-editor' },
    });
  });

  it('refuses other kinds with 415 and broken bodies with 400', () => {
    expect(() => decodeProtobufObject(envelope('v1', 'Pod', [[1, [[1, 'web']]]]))).to.throw(UnsupportedMediaTypeError);
    expect(() => decodeProtobufObject(Buffer.from('{"kind":"RoleBinding"}'))).to.throw(BadRequestError);
    const good = envelope('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', [[1, [[1, 'x']]]]);
    expect(() => decodeProtobufObject(good.subarray(0, good.length - 3))).to.throw(BadRequestError);
  });
});
