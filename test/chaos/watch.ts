// The watch consumer of the chaos run: one pod watch on the workload's namespace, through both API
// servers (the client fails over when one is down), resumed from the last resourceVersion it
// received after every break. What it saw is compared with etcd's own history at the end. A 410
// is recorded as a violation (history is never compacted during the run, so a resume must work);
// the consumer then re-lists to keep going, and the comparison shows what it missed.
// Every write has a resourceVersion of its own, so it resumes exactly from the last one it got,
// as Kubernetes clients do; anything lost or doubled at a break shows in the comparison.
import type { Pod } from '../../shared/api/core.js';
import { ApiClient, errorFromStatus, isStatus, type WatchEvent } from '../../shared/client/http-client.js';
import { ExpiredError, InternalError, errorMessage } from '../../shared/errors.js';

export interface SeenEvent {
  key: string;
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class WatchConsumer {
  readonly seen: SeenEvent[] = [];
  /** Streams that ended or broke and were resumed. */
  resumes = 0;
  /** 410 Expired answers (each one a violation). */
  readonly expired: string[] = [];
  /** Other ERROR events and failed (re)opens, for the report. */
  readonly errors: string[] = [];
  private lastRv: number;
  private running = false;
  private abort: AbortController | undefined;
  private loopDone: Promise<void> | undefined;
  private readonly client: ApiClient;

  constructor(
    servers: string[],
    private readonly namespace: string,
    startRevision: number,
    private readonly onPod: (type: string, pod: Pod) => void,
  ) {
    this.lastRv = startRevision;
    // Its own client: its failover position is its own.
    this.client = new ApiClient({ servers, timeoutMs: 5_000, retries: 1 });
  }

  get resourceVersion(): number {
    return this.lastRv;
  }

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort();
    await this.loopDone;
    this.client.close();
  }

  /** Wait until the consumer has received everything up to `revision`. */
  async caughtUp(revision: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.lastRv < revision) {
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
    return true;
  }

  private apply(ev: WatchEvent<Pod>): void {
    if (ev.type === 'ERROR') {
      const status: unknown = ev.object;
      throw isStatus(status) ? errorFromStatus(status) : new InternalError(`watch ERROR event: ${JSON.stringify(status).slice(0, 200)}`);
    }
    const rv = Number(ev.object.metadata.resourceVersion);
    if (ev.type === 'BOOKMARK') {
      if (rv > this.lastRv) this.lastRv = rv;
      return;
    }
    const key = `${ev.object.metadata.namespace ?? ''}/${ev.object.metadata.name ?? ''}`;
    this.seen.push({ key, rv, type: ev.type });
    // An event at or below lastRv is out of order or a repeat; it stays in `seen` for the
    // comparison and does not move the resume point back.
    if (rv > this.lastRv) this.lastRv = rv;
    this.onPod(ev.type, ev.object);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.abort = new AbortController();
      try {
        await this.client.watch<Pod>(
          { namespace: this.namespace, resource: 'pods' },
          // Short server timeouts: the consumer also resumes regularly when nothing fails.
          { resourceVersion: String(this.lastRv), allowWatchBookmarks: 'true', timeoutSeconds: 20 + Math.floor(Math.random() * 20) },
          (ev) => this.apply(ev),
          this.abort.signal,
        );
      } catch (err) {
        if (!this.running) break;
        if (err instanceof ExpiredError) {
          this.expired.push(`410 resuming at ${this.lastRv}: ${err.message}`);
          await this.relist();
          continue;
        }
        if (this.errors.length < 50) this.errors.push(errorMessage(err));
        await sleep(100);
      }
      if (this.running) this.resumes++;
    }
  }

  /** After a 410: carry on from a fresh list (what was missed shows in the comparison). */
  private async relist(): Promise<void> {
    for (;;) {
      try {
        const list = await this.client.list<{ metadata: { resourceVersion: string } }>({ namespace: this.namespace, resource: 'pods' }, { limit: 1 });
        this.lastRv = Number(list.metadata.resourceVersion);
        return;
      } catch (err) {
        if (!this.running) return;
        if (this.errors.length < 50) this.errors.push(`re-list: ${errorMessage(err)}`);
        await sleep(200);
      }
    }
  }
}
