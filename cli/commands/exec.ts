// `cellctl exec POD [-c C] [-i] [-t] -- COMMAND [ARG…]`: runs a command in a running container
// through the pod's `exec` subresource (the API server forwards it to the node's agent), as
// kubectl exec does: output to stdout and stderr as it comes, stdin with -i (its end is passed on),
// a terminal with -t that follows this one's size, and cellctl exits with the command's exit code.
import type WebSocket from 'ws';
import type { Pod } from '../../shared/api/core.js';
import { podsResource } from '../../shared/api/registry.js';
import { resourceUrlPath } from '../../shared/client/http-client.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { containerOf, podNameOf } from '../pod-container.js';
import { refFor } from '../resources.js';

export interface ExecOptions {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
}

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const STREAM = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

interface FinalStatus {
  status?: string;
  message?: string;
  reason?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

export async function runExec(cli: Cli, args: string[], o: ExecOptions): Promise<number> {
  const [target, ...command] = args;
  if (target === undefined || command.length === 0) throw new UsageError('expected POD and a command: cellctl exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]');
  const name = podNameOf(target, 'exec into');
  const pod = await cli.client.get<Pod>(refFor(podsResource, cli.namespace, name));
  const container = containerOf(cli, pod, o.container);
  let tty = o.tty === true;
  if (tty && !(o.stdin && process.stdin.isTTY)) {
    cli.note('Unable to use a TTY - input is not a terminal or the right kind of file');
    tty = false;
  }
  const query: [string, string][] = [
    ...command.map((c): [string, string] => ['command', c]),
    ['container', container],
    ['stdout', 'true'],
    // With a terminal, stderr comes with stdout.
    ['stderr', tty ? 'false' : 'true'],
  ];
  if (o.stdin) query.push(['stdin', 'true']);
  if (tty) query.push(['tty', 'true']);
  const ws = await cli.client.connect(resourceUrlPath(refFor(podsResource, cli.namespace, name, 'exec')), query, PROTOCOLS);
  const status = await stream(ws, { stdin: o.stdin === true, tty });
  return exitCodeOf(cli, status);
}

/** Carries the streams until the server closes the connection; resolves with the final Status. */
function stream(ws: WebSocket, o: { stdin: boolean; tty: boolean }): Promise<FinalStatus | undefined> {
  return new Promise((resolve, reject) => {
    let status: FinalStatus | undefined;
    const stdin = process.stdin;
    const send = (channel: number, data: Buffer) => ws.send(Buffer.concat([Buffer.from([channel]), data]));
    const onInput = (chunk: Buffer) => send(STREAM.stdin, chunk);
    const onInputEnd = () => {
      // v5 can say stdin ended (the command sees EOF); v4 cannot.
      if (ws.protocol === 'v5.channel.k8s.io' && ws.readyState === ws.OPEN) ws.send(Buffer.from([STREAM.close, STREAM.stdin]));
    };
    const onResize = () => send(STREAM.resize, Buffer.from(JSON.stringify({ Width: process.stdout.columns, Height: process.stdout.rows })));
    const cleanUp = () => {
      stdin.off('data', onInput);
      stdin.off('end', onInputEnd);
      process.stdout.off('resize', onResize);
      if (o.tty) stdin.setRawMode(false);
      stdin.pause();
    };

    ws.on('message', (data: Buffer) => {
      const payload = data.subarray(1);
      if (data[0] === STREAM.stdout || data[0] === STREAM.stderr) {
        const out = data[0] === STREAM.stdout ? process.stdout : process.stderr;
        // Stop reading the server while this terminal or pipe is slow to take the output.
        if (!out.write(payload)) {
          ws.pause();
          out.once('drain', () => ws.resume());
        }
      } else if (data[0] === STREAM.error && payload.length > 0) {
        status = JSON.parse(payload.toString('utf8')) as FinalStatus;
      }
    });
    ws.on('close', () => {
      cleanUp();
      resolve(status);
    });
    ws.on('error', (err) => {
      cleanUp();
      reject(err);
    });
    if (o.stdin) {
      if (o.tty) {
        // Keys go to the command as typed (Ctrl-C included); the terminal follows this one's size.
        stdin.setRawMode(true);
        onResize();
        process.stdout.on('resize', onResize);
      }
      stdin.on('data', onInput);
      stdin.on('end', onInputEnd);
      stdin.resume();
    }
  });
}

/** The command's exit code, saying why when it is not 0 (kubectl's words). */
function exitCodeOf(cli: Cli, status: FinalStatus | undefined): number {
  // No Status at all: the stream ended without one (v4 servers may send none for success).
  if (status === undefined || status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code) && code >= 0 && code <= 255) {
      cli.note(`command terminated with exit code ${code}`);
      return code;
    }
  }
  cli.error(status.message ?? 'the command failed');
  return 1;
}
