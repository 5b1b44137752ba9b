// Client-side checks of etcd's request limits, shared by both backends so that the memory store
// refuses exactly what etcd would, and the etcd store refuses it before sending (with a message
// that says which limit was hit rather than etcd's terse "request is too large").

import { BadRequestError, TxnTooLargeError } from '../../shared/errors.js';
import { MAX_REQUEST_BYTES, MAX_TXN_OPS, type TxnOp, type TxnRequest } from './store.js';

// Per-field protobuf framing (tag + length varints, the revision varint of a compare) is a few bytes;
// these are deliberately generous so that a request we accept is never refused by etcd, whose own
// check also counts the raft envelope around the request.
const PER_OP_OVERHEAD = 16;
const PER_COMPARE_OVERHEAD = 24;
const ENVELOPE_OVERHEAD = 256;

/** UTF-8 size of a string without allocating a Buffer for it. */
export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** An upper bound on the encoded size of `req` on the wire, keys including the backend's prefix. */
export function estimateTxnBytes(req: TxnRequest, keyPrefixBytes: number): number {
  let total = ENVELOPE_OVERHEAD;
  for (const c of req.compares) total += keyPrefixBytes + utf8Bytes(c.key) + PER_COMPARE_OVERHEAD;
  const ops = (list: TxnOp[] | undefined) => {
    for (const op of list ?? []) {
      total += keyPrefixBytes + utf8Bytes(op.key) + PER_OP_OVERHEAD;
      if (op.type === 'put') total += utf8Bytes(op.value);
    }
  };
  ops(req.success);
  ops(req.failure);
  return total;
}

/**
 * Refuses a transaction etcd would refuse: more than MAX_TXN_OPS compares or ops in a branch
 * (etcd counts each list separately), more than MAX_REQUEST_BYTES in total, or one branch writing
 * the same key twice (etcd: "duplicate key given in txn request").
 */
export function checkTxn(req: TxnRequest, keyPrefixBytes: number): void {
  const lists: [string, number][] = [
    ['compares', req.compares.length],
    ['success ops', req.success.length],
    ['failure ops', req.failure?.length ?? 0],
  ];
  for (const [what, n] of lists) {
    if (n > MAX_TXN_OPS) {
      throw new TxnTooLargeError(
        `transaction has ${n} ${what}; etcd allows at most ${MAX_TXN_OPS} per transaction (--max-txn-ops)`,
      );
    }
  }
  const bytes = estimateTxnBytes(req, keyPrefixBytes);
  if (bytes > MAX_REQUEST_BYTES) {
    throw new TxnTooLargeError(
      `transaction is about ${bytes} bytes; etcd accepts at most ${MAX_REQUEST_BYTES} bytes per request (--max-request-bytes)`,
    );
  }
  for (const branch of [req.success, req.failure ?? []]) {
    const written = new Set<string>();
    for (const op of branch) {
      if (op.type === 'get') continue;
      if (written.has(op.key)) {
        throw new BadRequestError(`transaction writes key ${op.key} more than once`);
      }
      written.add(op.key);
    }
  }
}
