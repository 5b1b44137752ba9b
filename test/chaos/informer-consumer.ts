// The chaos run's second watch consumer: the official @kubernetes/client-node informer
// (makeInformer), unchanged, on one API server, restarted on error as its documentation says (it
// then resumes from its own last resourceVersion). Its add/update/delete callbacks are recorded
// and compared with etcd's history at the end, like the project's own consumer (watch.ts): every
// change exactly once, in order — which it only manages if every write has a resourceVersion of
// its own, since it resumes "after" the last one it saw.
import { CoreV1Api, KubeConfig, makeInformer, type Informer, type ObjectCache, type V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../../shared/errors.js';
import type { SeenEvent } from './watch.js';

export class InformerConsumer {
  readonly seen: SeenEvent[] = [];
  /** Errors the informer reported (each followed by a restart). */
  readonly errors: string[] = [];
  restarts = 0;
  private informer: (Informer<V1Pod> & ObjectCache<V1Pod>) | undefined;
  private stopped = false;
  private lastRv = 0;

  constructor(
    private readonly server: string,
    private readonly namespace: string,
  ) {}

  get resourceVersion(): number {
    return this.lastRv;
  }

  async start(): Promise<void> {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'chaos', server: this.server, skipTLSVerify: true }],
      users: [{ name: 'chaos' }],
      contexts: [{ name: 'chaos', cluster: 'chaos', user: 'chaos' }],
      currentContext: 'chaos',
    });
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1Pod>(kc, `/api/v1/namespaces/${this.namespace}/pods`, () => core.listNamespacedPod({ namespace: this.namespace }));
    const record = (type: SeenEvent['type']) => (pod: V1Pod) => {
      const rv = Number(pod.metadata?.resourceVersion ?? 0);
      this.seen.push({ key: `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, rv, type });
      if (rv > this.lastRv) this.lastRv = rv;
    };
    informer.on('add', record('ADDED'));
    informer.on('update', record('MODIFIED'));
    informer.on('delete', record('DELETED'));
    informer.on('error', (err: unknown) => {
      if (this.errors.length < 50) this.errors.push(errorMessage(err));
      if (this.stopped) return;
      this.restarts++;
      setTimeout(() => this.restart(), 200);
    });
    this.informer = informer;
    await informer.start();
  }

  private restart(): void {
    if (this.stopped || !this.informer) return;
    // A failed restart (the API server is down) reports another error, which schedules the next.
    this.informer.start().catch((err: unknown) => {
      if (this.errors.length < 50) this.errors.push(`restart: ${errorMessage(err)}`);
      if (!this.stopped) setTimeout(() => this.restart(), 500);
    });
  }

  /** Wait until the informer has handled everything up to `version`. */
  async caughtUp(version: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.lastRv < version) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
  }
}
