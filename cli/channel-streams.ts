// The client end of Kubernetes' channel protocol (v5/v4.channel.k8s.io), as `cellctl exec`,
// `attach` and `debug` speak it over the WebSocket the API server hands to the node's agent: every
// binary message starts with its stream's number; output goes to stdout and stderr as it comes,
// stdin (with -i) to the server, and with -t this terminal goes raw and its size follows along.
import type WebSocket from 'ws';
import type { Cli } from './context.js';

/** The channel protocols cellctl speaks, preferred first. */
export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const STREAM = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

interface FinalStatus {
  status?: string;
  message?: string;
  reason?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

/** Carries the streams until the server closes the connection; resolves with the final Status. */
export function carryStreams(ws: WebSocket, o: { stdin: boolean; tty: boolean }): Promise<FinalStatus | undefined> {
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
export function exitCodeOf(cli: Cli, status: FinalStatus | undefined): number {
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

/** -t needs -i from a terminal; otherwise it is dropped, with kubectl's note. */
export function usableTty(cli: Cli, o: { stdin?: boolean; tty?: boolean }): boolean {
  if (o.tty !== true) return false;
  if (o.stdin && process.stdin.isTTY) return true;
  cli.note('Unable to use a TTY - input is not a terminal or the right kind of file');
  return false;
}
