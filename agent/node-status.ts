// The Node's conditions as the agent reports them (Ready=True, no pressure), and keeping them so:
// the node lifecycle controller sets Ready=Unknown when the Lease lapses; once the agent is back it
// sees that through its node watch and reports Ready=True again. The status is also re-posted every
// report interval, as the kubelet does, so lastHeartbeatTime stays meaningful.
import { formatTime } from '../shared/api/meta.js';
import type { Node, NodeCondition } from '../shared/api/core.js';
import type { ApiClient } from '../shared/client/http-client.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';

const PRESSURE = [
  { type: 'MemoryPressure', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
  { type: 'DiskPressure', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
  { type: 'PIDPressure', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
] as const;

/** Healthy conditions; a condition's lastTransitionTime is kept when its status does not change. */
export function healthyConditions(existing: readonly NodeCondition[] = [], at = new Date()): NodeCondition[] {
  const now = formatTime(at);
  const keep = (type: string, status: NodeCondition['status']) => {
    const prev = existing.find((c) => c.type === type);
    return prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
  };
  return [
    ...PRESSURE.map((p) => ({ type: p.type, status: 'False' as const, lastHeartbeatTime: now, lastTransitionTime: keep(p.type, 'False'), reason: p.reason, message: p.message })),
    { type: 'Ready', status: 'True', lastHeartbeatTime: now, lastTransitionTime: keep('Ready', 'True'), reason: 'KubeletReady', message: 'cell-agent is posting ready status' },
  ];
}

export function isReady(node: Pick<Node, 'status'>): boolean {
  return node.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

/** Report healthy conditions for `name` (a strategic merge: conditions merge by type). */
export async function postReady(client: ApiClient, name: string, existing: readonly NodeCondition[] | undefined): Promise<void> {
  await client.patch({ resource: 'nodes', name, subresource: 'status' }, { status: { conditions: healthyConditions(existing) } }, 'strategic');
}

/** Keeps one node's conditions healthy: on every observed change that lost Ready, and periodically. */
export class NodeStatusKeeper {
  private timer: NodeJS.Timeout | undefined;
  private inflight = false;
  private again = false;
  private last: Node | undefined;
  private stopped = false;

  constructor(
    private readonly client: ApiClient,
    private readonly name: string,
    private readonly reportIntervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.post(), this.reportIntervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** The node as the watch delivers it. */
  observe(node: Node): void {
    this.last = node;
    if (!isReady(node)) this.post();
  }

  private post(): void {
    if (this.stopped) return;
    if (this.inflight) {
      this.again = true;
      return;
    }
    this.inflight = true;
    void postReady(this.client, this.name, this.last?.status.conditions)
      .then(
        () => this.log.debug('posted node status', { node: this.name }),
        (err: unknown) => {
          this.log.warn('could not post node status; retrying', { node: this.name, error: errorMessage(err) });
          this.again = true;
        },
      )
      .finally(() => {
        this.inflight = false;
        if (this.again && !this.stopped) {
          this.again = false;
          setTimeout(() => this.post(), 1000).unref();
        }
      });
  }
}
