// A Store whose watches can be held back: events that arrive while held are delivered only on
// release, so a test can make a watch cache lag behind the store deterministically (rather than
// hoping the machine is slow) and check what this server answers from its own writes meanwhile.
// It also counts transactions and point reads, to show which write paths cost a round trip.
import type { StoreWatch, TxnRequest, WatchEvent, WatchHandlers, WatchOptions } from '../../apiserver/storage/store.js';
import { InterceptingStore } from '../harness/intercepting-store.js';

export class HeldWatchStore extends InterceptingStore {
  txns = 0;
  gets = 0;
  /** What is held: nothing, every watch, or the watches of prefixes containing this string. */
  private held: boolean | string = false;
  private readonly waiting: { handlers: WatchHandlers; events: WatchEvent[] }[] = [];

  /** Watch events stop reaching the watchers until release(); only those of prefixes containing `only`, when given. */
  hold(only?: string): void {
    this.held = only ?? true;
  }

  /** Deliver what was held, in order, and stop holding. */
  release(): void {
    this.held = false;
    for (const w of this.waiting.splice(0)) if (w.events.length > 0) w.handlers.onEvents(w.events);
  }

  override txn(req: TxnRequest) {
    this.txns++;
    return super.txn(req);
  }

  override get(key: string) {
    this.gets++;
    return super.get(key);
  }

  override watch(prefix: string, after: number, handlers: WatchHandlers, opts?: WatchOptions): StoreWatch {
    const slot = { handlers, events: [] as WatchEvent[] };
    return super.watch(prefix, after, {
      onEvents: (events) => {
        if (this.held === false || (typeof this.held === 'string' && !prefix.includes(this.held))) return handlers.onEvents(events);
        if (!this.waiting.includes(slot)) this.waiting.push(slot);
        slot.events.push(...events);
      },
      onError: (err) => handlers.onError(err),
    }, opts);
  }
}
