// An example plugin: pack GPU pods onto GPU nodes that are already partly used, so that whole
// GPU nodes stay free for the jobs that need all of a node's GPUs, and keep pods that want no
// GPU off GPU nodes while other nodes have room. Run it as its own scheduler:
//   cell-scheduler --scheduler-name=gpu-packing --profile=schedulers/examples/gpu-packing.yaml
import { MAX_NODE_SCORE, StateKey, type Plugin, type PluginFactory } from '../sdk.js';

/** The GPUs the cycle's pod asks for (milli-units), computed once per pod in preScore. */
const WANT = new StateKey<number>('GpuPacking/want');

const create: PluginFactory = (args): Plugin => {
  const resource = args.resource ?? 'nvidia.com/gpu';
  if (typeof resource !== 'string' || resource === '') throw new Error('args.resource must be a resource name, e.g. nvidia.com/gpu');
  return {
    name: 'GpuPacking',
    preScore(ctx) {
      ctx.write(WANT, ctx.pod.requests.get(resource));
      return undefined;
    },
    score(ctx, node) {
      const total = node.allocatable.get(resource);
      // A pod without GPUs: anywhere but a GPU node.
      if ((ctx.read(WANT) ?? 0) === 0) return total > 0 ? 0 : MAX_NODE_SCORE;
      if (total <= 0) return 0;
      // A GPU pod: the fuller the node's GPUs already are, the better (the filter checked it fits).
      return Math.round((node.requested.get(resource) * MAX_NODE_SCORE) / total);
    },
  };
};
export default create;
