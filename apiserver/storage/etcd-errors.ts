// What etcd's (and gRPC's) failures mean, in one table: which typed error each becomes, whether
// etcd certainly did not execute the request (so even a write may be sent again), and whether
// etcd refused it while checking it, before applying anything (so a group-committed batch may be
// split and resent). etcd reports these only as messages; every check reads this table.
import {
  ClientClosedError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
} from 'etcd3';
import {
  BadRequestError,
  InternalError,
  TxnTooLargeError,
  UnavailableError,
  errorMessage,
  isCellError,
  type CellError,
} from '../../shared/errors.js';

interface EtcdFailure {
  /** A substring of the error message. */
  message: string;
  error: (msg: string) => CellError;
  /** Certainly not executed: nothing was sent, or the member refused before proposing it. */
  notExecuted?: boolean;
  /** Refused while etcd checked the request, before applying any of it. */
  refusedBeforeApply?: boolean;
  /** The member is fine; the cluster is only busy (do not mark the member failed). */
  busy?: boolean;
}

const unavailable = (msg: string) => new UnavailableError(`etcd unavailable: ${msg}`);

const NO_LEADER = 'etcdserver: no leader';

const FAILURES: EtcdFailure[] = [
  { message: 'No connection established', error: unavailable, notExecuted: true }, // grpc-js: nothing was sent
  { message: 'Channel closed before call started', error: unavailable, notExecuted: true },
  { message: 'Channel has been shut down', error: unavailable, notExecuted: true }, // a call on a closed store's own channel
  { message: NO_LEADER, error: unavailable, notExecuted: true }, // the require-leader check, first of all
  { message: 'etcdserver: too many requests', error: unavailable, notExecuted: true, busy: true }, // apply backlog
  { message: 'etcdserver: not capable', error: unavailable, notExecuted: true },
  { message: 'raft proposal dropped', error: unavailable, notExecuted: true }, // never entered the raft log
  { message: 'etcdserver: leader changed', error: unavailable },
  { message: 'etcdserver: request timed out', error: unavailable },
  {
    message: 'too many operations in txn request',
    error: (msg) => new TxnTooLargeError(`etcd refused the transaction: too many operations (${msg})`),
    refusedBeforeApply: true,
  },
  { message: 'request is too large', error: (msg) => new TxnTooLargeError(`etcd refused the request as too large (${msg})`), refusedBeforeApply: true },
  {
    message: 'duplicate key given in txn request',
    error: (msg) => new BadRequestError(`transaction writes a key more than once (${msg})`),
    refusedBeforeApply: true,
  },
];

/** etcd's answer to a read or compaction below the compacted revision. */
export const COMPACTED = 'required revision has been compacted';
/** etcd's answer to a read or compaction above the current revision. */
export const FUTURE = 'required revision is a future revision';

function entry(err: unknown): EtcdFailure | undefined {
  const msg = errorMessage(err);
  return FAILURES.find((f) => msg.includes(f.message));
}

/** etcd / gRPC failure → the project's error hierarchy. */
export function mapEtcdError(err: unknown): CellError {
  if (isCellError(err)) return err;
  const msg = errorMessage(err);
  if (err instanceof ClientClosedError) return new UnavailableError('etcd client is closed');
  const known = entry(err);
  if (known) return known.error(msg);
  if (err instanceof GRPCResourceExhastedError) return new TxnTooLargeError(`etcd refused the request as too large (${msg})`);
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof GRPCCancelledError ||
    // cockatiel's BrokenCircuitError, should a caller-supplied policy ever be in play
    (err instanceof Error && err.name === 'BrokenCircuitError')
  ) {
    return unavailable(msg);
  }
  return new InternalError(`etcd: ${msg}`);
}

/** etcd certainly did not execute the request: a write may be sent again, to any member. */
export function notExecuted(err: unknown): boolean {
  return err instanceof ClientClosedError || entry(err)?.notExecuted === true;
}

/** etcd refused the request while checking it: nothing of it was applied. */
export function refusedBeforeApply(err: unknown): boolean {
  return entry(err)?.refusedBeforeApply === true;
}

/** The member answered that it has no leader (a call refused, or a watch cancelled, by require-leader). */
export function lostLeader(err: unknown): boolean {
  return errorMessage(err).includes(NO_LEADER);
}

/** The cluster is busy, not the member broken: try elsewhere without marking it failed. */
export function busy(err: unknown): boolean {
  return entry(err)?.busy === true;
}
