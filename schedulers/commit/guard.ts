// Filters that belong to the commit protocol rather than to any policy, run before the profile's
// filters: do not decide against a node whose ledger this scheduler knows to be stale.
//   - After a 409 on a node the scheduler's copy of its ledger is behind; it waits for the watch
//     to deliver the newer version instead of racing again on old numbers.
//   - In coarse mode a decision must name the ledger version it was made on; while this
//     scheduler's own commit to a node is in flight, that version is not known yet.
import type { NodeInfo } from '../cache/node-info.js';
import { unresolvable, type Plugin } from '../framework/plugin.js';

const STALE = unresolvable("node(s) had a newer allocation than this scheduler's cache (awaiting the watch)");
const IN_FLIGHT = unresolvable('node(s) had a commit of this scheduler in flight (coarse conflict mode)');
const NO_LEDGER = unresolvable('node(s) had no NodeAllocation yet');

/** What the guard may ask the cache: whether any node is marked stale at all. */
export interface StaleNodes {
  hasStaleNodes(): boolean;
}

/** `cache` lets the fine-mode guard sit out the cycles in which no node is stale (its filter could only pass). */
export function commitGuard(mode: 'fine' | 'coarse', cache?: StaleNodes): Plugin {
  return {
    name: 'CommitGuard',
    ...(mode === 'fine' && cache ? { preFilter: () => (cache.hasStaleNodes() ? undefined : 'skip') } : {}),
    filter(_ctx, node: NodeInfo) {
      if (node.staleVersion !== undefined && node.staleVersion === node.allocationResourceVersion) return STALE;
      if (mode === 'coarse') {
        if (node.allocationResourceVersion === undefined) return NO_LEDGER;
        if (node.commitsInFlight > 0) return IN_FLIGHT;
      }
      return undefined;
    },
  };
}
