// `cellctl logs POD [-c C] [-f] [--tail=N] [--previous]`: the pod's `log` subresource (the API
// server fetches it from the node's agent), copied to stdout as it arrives. The pod is read
// first so a wrong container name, or a pod with several containers and no -c, gets a clear
// answer instead of a bare 400.
import type { Pod } from '../../shared/api/core.js';
import { podsResource } from '../../shared/api/registry.js';
import { resourceUrlPath } from '../../shared/client/http-client.js';
import { parseDuration } from '../../shared/duration.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { containerOf, podNameOf } from '../pod-container.js';
import { refFor } from '../resources.js';

export interface LogsOptions {
  container?: string;
  follow?: boolean;
  tail?: string;
  previous?: boolean;
  timestamps?: boolean;
  since?: string;
}

export async function runLogs(cli: Cli, args: string[], o: LogsOptions): Promise<number> {
  const [target, containerArg, ...extra] = args;
  if (target === undefined) throw new UsageError('expected POD (and optionally CONTAINER): cellctl logs POD [-c CONTAINER]');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (containerArg !== undefined && o.container !== undefined) throw new UsageError('give the container either as an argument or with -c, not both');
  const name = await podNameOf(cli, target, 'get logs from');
  const pod = await cli.client.get<Pod>(refFor(podsResource, cli.namespace, name));
  const container = containerOf(cli, pod, o.container ?? containerArg);
  let tail: number | undefined;
  if (o.tail !== undefined) {
    if (!/^-?\d+$/.test(o.tail)) throw new UsageError(`invalid --tail "${o.tail}": must be a number of lines (-1 for all)`);
    tail = Number(o.tail);
  }
  const query: Record<string, string | undefined> = {
    container,
    follow: o.follow ? 'true' : undefined,
    previous: o.previous ? 'true' : undefined,
    tailLines: tail !== undefined && tail >= 0 ? String(tail) : undefined,
    timestamps: o.timestamps ? 'true' : undefined,
    sinceSeconds: o.since ? String(Math.ceil(parseDuration(o.since) / 1000)) : undefined,
  };
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const body = await cli.client.stream(resourceUrlPath(refFor(podsResource, cli.namespace, name, 'log')), { query, signal: ac.signal });
    // A streaming decoder: a chunk may end in the middle of a multi-byte character.
    const decoder = new TextDecoder();
    for await (const chunk of body) cli.print(decoder.decode(chunk, { stream: true }));
    cli.print(decoder.decode());
  } catch (err) {
    // Ctrl-C during -f is how a follow ends.
    if (!ac.signal.aborted) throw err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}
