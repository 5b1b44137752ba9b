// `cellctl attach POD [-c C] [-i] [-t]`: joins a running container's own process through the pod's
// `attach` subresource, as kubectl attach does: what it writes from now on comes here, stdin (-i)
// goes to it (a container with `stdin: true`), and with -t this terminal drives the container's.
// Ends when the container does, or on Ctrl-C (the container runs on).
import type { Pod } from '../../shared/api/core.js';
import { podsResource } from '../../shared/api/registry.js';
import { resourceUrlPath } from '../../shared/client/http-client.js';
import { CHANNEL_PROTOCOLS, carryStreams, exitCodeOf, usableTty } from '../channel-streams.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { containerOf, podNameOf } from '../pod-container.js';
import { refFor } from '../resources.js';

export interface AttachOptions {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
}

export async function runAttach(cli: Cli, args: string[], o: AttachOptions): Promise<number> {
  const [target, ...extra] = args;
  if (target === undefined || extra.length > 0) throw new UsageError('expected one POD: cellctl attach POD [-c CONTAINER] [-i] [-t]');
  const name = await podNameOf(cli, target, 'attach to');
  const pod = await cli.client.get<Pod>(refFor(podsResource, cli.namespace, name));
  return attachTo(cli, name, containerOf(cli, pod, o.container), o);
}

/** Attaches to `container` of pod `name` (attach, debug): its exit code is 0 once the stream ends well. */
export async function attachTo(cli: Cli, name: string, container: string, o: { stdin?: boolean; tty?: boolean }): Promise<number> {
  const tty = usableTty(cli, o);
  const query: [string, string][] = [
    ['container', container],
    ['stdout', 'true'],
    ['stderr', tty ? 'false' : 'true'],
  ];
  if (o.stdin) query.push(['stdin', 'true']);
  if (tty) query.push(['tty', 'true']);
  const ws = await cli.client.connect(resourceUrlPath(refFor(podsResource, cli.namespace, name, 'attach')), query, CHANNEL_PROTOCOLS);
  // A shell's prompt was written before this client came: Enter brings a new one.
  if (tty) cli.note("If you don't see a command prompt, try pressing enter.");
  return exitCodeOf(cli, await carryStreams(ws, { stdin: o.stdin === true, tty }));
}
