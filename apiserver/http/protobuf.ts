// Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), decoded
// into the JSON form the REST layer takes. kubectl's typed clients send a few kinds this way even
// when the server's discovery is JSON-only (`kubectl create rolebinding` / `clusterrolebinding`),
// so the kinds it does that for are decoded here; any other kind is a 415, as before.
// Wire format: the 4-byte magic `k8s\0`, then a runtime.Unknown message {typeMeta, raw, ...}
// whose `raw` is the object's own message. Field numbers are those of Kubernetes' generated.proto.
import { BadRequestError, UnsupportedMediaTypeError } from '../../shared/errors.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** How one message's fields map to JSON: field number → name and shape. */
type Field =
  | { name: string; type: 'string' | 'int' }
  | { name: string; type: 'strings' }
  | { name: string; type: 'map' }
  | { name: string; type: 'message'; of: Message; repeated?: boolean };
type Message = Record<number, Field>;

// ObjectMeta fields a client sets on create; server-set ones (timestamps, managedFields) are skipped.
const OBJECT_META: Message = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  11: { name: 'labels', type: 'map' },
  12: { name: 'annotations', type: 'map' },
  14: { name: 'finalizers', type: 'strings' },
};
const SUBJECT: Message = {
  1: { name: 'kind', type: 'string' },
  2: { name: 'apiGroup', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'namespace', type: 'string' },
};
const ROLE_REF: Message = {
  1: { name: 'apiGroup', type: 'string' },
  2: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
};
const BINDING: Message = {
  1: { name: 'metadata', type: 'message', of: OBJECT_META },
  2: { name: 'subjects', type: 'message', of: SUBJECT, repeated: true },
  3: { name: 'roleRef', type: 'message', of: ROLE_REF },
};

/** Kinds decoded from protobuf, by `apiVersion/kind`. */
const KINDS: Record<string, Message> = {
  'rbac.authorization.k8s.io/v1/RoleBinding': BINDING,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': BINDING,
};

const TYPE_META: Message = { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } };
const MAP_ENTRY: Message = { 1: { name: 'key', type: 'string' }, 2: { name: 'value', type: 'string' } };

interface WireField {
  no: number;
  /** Varint value (wire type 0). */
  int?: number;
  /** Length-delimited payload (wire type 2). */
  bytes?: Buffer;
}

function malformed(): BadRequestError {
  return new BadRequestError('the protobuf request body is malformed');
}

/** The fields of one message, in order; fixed-width fields are skipped (none of ours use them). */
function* wireFields(buf: Buffer): Generator<WireField> {
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (let n = 0; n < 10; n++) {
      if (i >= buf.length) throw malformed();
      const b = buf[i++]!;
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
    }
    throw malformed();
  };
  while (i < buf.length) {
    const tag = varint();
    const no = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0:
        yield { no, int: varint() };
        break;
      case 1:
        i += 8;
        break;
      case 2: {
        const len = varint();
        if (i + len > buf.length) throw malformed();
        yield { no, bytes: buf.subarray(i, i + len) };
        i += len;
        break;
      }
      case 5:
        i += 4;
        break;
      default:
        throw malformed();
    }
  }
  if (i !== buf.length) throw malformed();
}

function decodeMessage(buf: Buffer, message: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of wireFields(buf)) {
    const field = message[f.no];
    if (!field) continue;
    if (field.type === 'int') {
      if (f.int === undefined) throw malformed();
      out[field.name] = f.int;
      continue;
    }
    if (f.bytes === undefined) throw malformed();
    switch (field.type) {
      case 'string':
        // Empty strings are what proto2 sends for unset fields; JSON omits them.
        if (f.bytes.length > 0) out[field.name] = f.bytes.toString('utf8');
        break;
      case 'strings':
        out[field.name] = [...((out[field.name] as string[] | undefined) ?? []), f.bytes.toString('utf8')];
        break;
      case 'map': {
        const entry = decodeMessage(f.bytes, MAP_ENTRY);
        const map = (out[field.name] as Record<string, string> | undefined) ?? {};
        map[String(entry['key'] ?? '')] = String(entry['value'] ?? '');
        out[field.name] = map;
        break;
      }
      case 'message': {
        const value = decodeMessage(f.bytes, field.of);
        out[field.name] = field.repeated ? [...((out[field.name] as unknown[] | undefined) ?? []), value] : value;
        break;
      }
    }
  }
  return out;
}

/** A protobuf request body as the JSON object it stands for. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) throw malformed();
  let typeMeta: Record<string, unknown> = {};
  let raw: Buffer | undefined;
  for (const f of wireFields(body.subarray(MAGIC.length))) {
    if (f.no === 1 && f.bytes) typeMeta = decodeMessage(f.bytes, TYPE_META);
    else if (f.no === 2 && f.bytes) raw = f.bytes;
  }
  const apiVersion = String(typeMeta['apiVersion'] ?? '');
  const kind = String(typeMeta['kind'] ?? '');
  const message = KINDS[`${apiVersion}/${kind}`];
  if (!message) {
    throw new UnsupportedMediaTypeError(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
  }
  return { apiVersion, kind, ...decodeMessage(raw ?? Buffer.alloc(0), message) };
}
