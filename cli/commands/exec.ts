// `cellctl exec POD [-c C] [-i] [-t] -- COMMAND [ARG…]`: runs a command in a running container
// through the pod's `exec` subresource (the API server forwards it to the node's agent), as
// kubectl exec does: output to stdout and stderr as it comes, stdin with -i (its end is passed on),
// a terminal with -t that follows this one's size, and cellctl exits with the command's exit code.
import type { Pod } from '../../shared/api/core.js';
import { podsResource } from '../../shared/api/registry.js';
import { resourceUrlPath } from '../../shared/client/http-client.js';
import { CHANNEL_PROTOCOLS, carryStreams, exitCodeOf, usableTty } from '../channel-streams.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { containerOf, podNameOf } from '../pod-container.js';
import { refFor } from '../resources.js';

export interface ExecOptions {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
}

export async function runExec(cli: Cli, args: string[], o: ExecOptions): Promise<number> {
  const [target, ...command] = args;
  if (target === undefined || command.length === 0) throw new UsageError('expected POD and a command: cellctl exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]');
  const name = await podNameOf(cli, target, 'exec into');
  const pod = await cli.client.get<Pod>(refFor(podsResource, cli.namespace, name));
  const container = containerOf(cli, pod, o.container);
  const tty = usableTty(cli, o);
  const query: [string, string][] = [
    ...command.map((c): [string, string] => ['command', c]),
    ['container', container],
    ['stdout', 'true'],
    // With a terminal, stderr comes with stdout.
    ['stderr', tty ? 'false' : 'true'],
  ];
  if (o.stdin) query.push(['stdin', 'true']);
  if (tty) query.push(['tty', 'true']);
  const ws = await cli.client.connect(resourceUrlPath(refFor(podsResource, cli.namespace, name, 'exec')), query, CHANNEL_PROTOCOLS);
  return exitCodeOf(cli, await carryStreams(ws, { stdin: o.stdin === true, tty }));
}
