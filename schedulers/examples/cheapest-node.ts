// An example plugin: place pods on the cheapest nodes. Nodes carry their price as a label
// (`example.cell.dev/cost-per-hour: "12"`); nodes labelled `example.cell.dev/maintenance=true`
// take no new pods. Run it as its own scheduler:
//   cell-scheduler --scheduler-name=cheapest --profile=schedulers/examples/cheapest.yaml
import { MAX_NODE_SCORE, unresolvable, type Plugin, type PluginFactory } from '../sdk.js';

const IN_MAINTENANCE = unresolvable('node(s) were in maintenance');

const create: PluginFactory = (args): Plugin => {
  const label = typeof args.costLabel === 'string' ? args.costLabel : 'example.cell.dev/cost-per-hour';
  return {
    name: 'CheapestNode',
    filter: (_ctx, node) => (node.labels['example.cell.dev/maintenance'] === 'true' ? IN_MAINTENANCE : undefined),
    // Raw score: the price, or -1 for an unpriced node.
    score: (_ctx, node) => Number(node.labels[label] ?? -1),
    // Cheapest = 100, dearest = 0, unpriced = 0.
    normalizeScore(_ctx, scores) {
      const prices = [...scores].filter((s) => s >= 0);
      const min = Math.min(...prices);
      const max = Math.max(...prices);
      for (let i = 0; i < scores.length; i++) {
        const s = scores[i]!;
        scores[i] = s < 0 ? 0 : max === min ? MAX_NODE_SCORE : Math.round(((max - s) * MAX_NODE_SCORE) / (max - min));
      }
    },
  };
};
export default create;
