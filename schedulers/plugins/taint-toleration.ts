// TaintToleration: a node's NoSchedule and NoExecute taints keep out pods that do not tolerate
// them; PreferNoSchedule taints only lower the node's score (fewer untolerated ones score higher).
import type { Taint } from '../../shared/api/core.js';
import { tolerates } from '../../shared/tolerations.js';
import { MAX_NODE_SCORE, unresolvable, type Plugin, type PluginFactory, type Rejection } from '../framework/plugin.js';

export const NAME = 'TaintToleration';

export const create: PluginFactory = (_args, handle): Plugin => {
  // One rejection per distinct taint, built once: the message names the taint, as Kubernetes' does.
  const rejections = new Map<string, Rejection>();
  const rejectionFor = (taint: Taint): Rejection => {
    const text = `{${taint.key}: ${taint.value ?? ''}}`;
    let r = rejections.get(text);
    if (!r) {
      r = unresolvable(`node(s) had untolerated taint ${text}`);
      rejections.set(text, r);
    }
    return r;
  };
  return {
    name: NAME,
    events: ['NodeAdded', 'NodeChanged'],
    preFilter() {
      // No node has a NoSchedule/NoExecute taint: the filter could only pass.
      return handle.cluster.nodeCounts?.().tainted === 0 ? 'skip' : undefined;
    },
    filter(ctx, node) {
      if (node.taints.length === 0) return undefined;
      const tolerations = ctx.pod.pod.spec.tolerations;
      for (const taint of node.taints) {
        if (taint.effect === 'PreferNoSchedule') continue;
        if (!tolerates(tolerations, taint)) return rejectionFor(taint);
      }
      return undefined;
    },
    preScore(_ctx, nodes) {
      // Untainted nodes all score 100 after normalising: a constant that moves no node ahead of
      // another, so when no candidate has a taint the per-node scoring is skipped.
      for (let i = 0; i < nodes.length; i++) if (nodes[i]!.taints.length > 0) return undefined;
      return 'skip';
    },
    score(ctx, node) {
      if (node.taints.length === 0) return 0;
      const tolerations = ctx.pod.pod.spec.tolerations;
      let untolerated = 0;
      for (const taint of node.taints) {
        if (taint.effect === 'PreferNoSchedule' && !tolerates(tolerations, taint)) untolerated++;
      }
      return untolerated;
    },
    normalizeScore(_ctx, scores) {
      // Raw scores count untolerated taints: invert so the node with fewest scores 100.
      let max = 0;
      for (const s of scores) if (s > max) max = s;
      for (let i = 0; i < scores.length; i++) scores[i] = max === 0 ? MAX_NODE_SCORE : MAX_NODE_SCORE - Math.floor((scores[i]! * MAX_NODE_SCORE) / max);
    },
  };
};
