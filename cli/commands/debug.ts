// `cellctl debug POD --image=IMAGE [-c NAME] [-i] [-t] [--target=C] [-- COMMAND [ARG…]]`: adds an
// ephemeral container to a running pod through its `ephemeralcontainers` subresource, as kubectl
// debug does, and with -i attaches to it once it runs (unless --attach=false). The container runs once, beside the pod's
// own, and stays in the pod's spec (never restarted; `cellctl describe pod` lists it).
import { randomBytes } from 'node:crypto';
import type { ContainerStatus, EphemeralContainer, Pod } from '../../shared/api/core.js';
import { podsResource } from '../../shared/api/registry.js';
import type { Cli } from '../context.js';
import { UsageError, WaitTimeoutError } from '../errors.js';
import { podNameOf } from '../pod-container.js';
import { refFor } from '../resources.js';
import { attachTo } from './attach.js';
import { runLogs } from './logs.js';

export interface DebugOptions {
  image?: string;
  container?: string;
  stdin?: boolean;
  tty?: boolean;
  target?: string;
  /** With -i: attach once it runs (the default), or leave it for `cellctl attach`. */
  attach?: boolean;
}

/** How long the container is waited for before attaching, as kubectl's --pod-running-timeout. */
const RUNNING_TIMEOUT_MS = 60_000;
const POLL_MS = 200;

/** `debugger-` and five random letters or digits, as kubectl names a debug container. */
function generatedName(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return `debugger-${[...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

export async function runDebug(cli: Cli, args: string[], o: DebugOptions): Promise<number> {
  const [target, ...command] = args;
  if (target === undefined) throw new UsageError('expected POD: cellctl debug POD --image=IMAGE [-c NAME] [-i] [-t] [-- COMMAND [ARG...]]');
  if (!o.image) throw new UsageError('--image is required');
  const name = await podNameOf(cli, target, 'debug');
  const ref = refFor(podsResource, cli.namespace, name);
  const pod = await cli.client.get<Pod>(ref);
  if (o.target !== undefined && !pod.spec.containers.some((c) => c.name === o.target)) {
    throw new UsageError(`container ${o.target} is not valid for pod ${name} (choose one of: ${pod.spec.containers.map((c) => c.name).join(', ')})`);
  }
  const container = o.container ?? generatedName();
  if (o.container === undefined) cli.note(`Defaulting debug container name to ${container}.`);
  const added: EphemeralContainer = {
    name: container,
    image: o.image,
    ...(command.length > 0 ? { command } : {}),
    ...(o.stdin ? { stdin: true } : {}),
    ...(o.tty ? { tty: true } : {}),
    ...(o.target !== undefined ? { targetContainerName: o.target } : {}),
    resources: {},
  };
  // A strategic merge patch: the list merges by name, so debug sessions started together all land.
  await cli.client.patch({ ...ref, subresource: 'ephemeralcontainers' }, { spec: { ephemeralContainers: [added] } }, 'strategic');
  if (!o.stdin || o.attach === false) return 0;
  const state = await waitStarted(cli, ref, container);
  if (state.terminated) {
    // Over before it could be attached to: what it wrote is all there is.
    await runLogs(cli, [name, container], {});
    return 0;
  }
  const code = await attachTo(cli, name, container, o);
  cli.note(`Session ended, the ephemeral container will not be restarted but may be reattached using 'cellctl attach ${name} -c ${container} -i${o.tty ? ' -t' : ''}' if it is still running`);
  return code;
}

/** The container's state once it runs or has finished. */
async function waitStarted(cli: Cli, ref: ReturnType<typeof refFor>, container: string): Promise<NonNullable<ContainerStatus['state']>> {
  const deadline = Date.now() + RUNNING_TIMEOUT_MS;
  for (;;) {
    const pod = await cli.client.get<Pod>(ref);
    const state = pod.status.ephemeralContainerStatuses?.find((s) => s.name === container)?.state;
    if (state?.running || state?.terminated) return state;
    if (Date.now() > deadline) throw new WaitTimeoutError(`timed out waiting for the ephemeral container ${container} to start${state?.waiting?.reason ? ` (${state.waiting.reason})` : ''}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
