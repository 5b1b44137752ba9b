// NodeAffinity: spec.nodeSelector and required node affinity decide where a pod may go
// (shared/node-affinity.ts); preferred node affinity adds each matching term's weight to a
// node's score.
import { compileTerm, RequiredNodeAffinity, termMatches, type CompiledTerm } from '../../shared/node-affinity.js';
import { StateKey } from '../framework/cycle.js';
import { MAX_NODE_SCORE, unresolvable, type Plugin, type PluginFactory } from '../framework/plugin.js';

export const NAME = 'NodeAffinity';
const MISMATCH = unresolvable("node(s) didn't match Pod's node affinity/selector");

const REQUIRED = new StateKey<RequiredNodeAffinity>('NodeAffinity/required');
const PREFERRED = new StateKey<{ weight: number; term: CompiledTerm }[]>('NodeAffinity/preferred');

export const create: PluginFactory = (): Plugin => ({
  name: NAME,
  events: ['NodeAdded', 'NodeChanged'],
  preFilter(ctx) {
    const required = new RequiredNodeAffinity(ctx.pod.pod.spec);
    if (required.isEmpty) return 'skip';
    ctx.write(REQUIRED, required);
    return undefined;
  },
  filter(ctx, node) {
    return ctx.read(REQUIRED)?.matches(node) === false ? MISMATCH : undefined;
  },
  preScore(ctx) {
    const preferred = ctx.pod.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    if (preferred.length === 0) return 'skip';
    ctx.write(PREFERRED, preferred.map((p) => ({ weight: p.weight, term: compileTerm(p.preference) })));
    return undefined;
  },
  score(ctx, node) {
    let sum = 0;
    for (const p of ctx.read(PREFERRED) ?? []) if (termMatches(p.term, node)) sum += p.weight;
    return sum;
  },
  normalizeScore(_ctx, scores) {
    let max = 0;
    for (const s of scores) if (s > max) max = s;
    if (max > 0) for (let i = 0; i < scores.length; i++) scores[i] = Math.floor((scores[i]! * MAX_NODE_SCORE) / max);
  },
});
