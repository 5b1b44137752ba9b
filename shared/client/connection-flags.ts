// How a daemon that is an API client (cell-scheduler, cell-controller-manager) is told where the API
// is and who it is: `--server=URL[,URL...]`, `--token=T`, `--kubeconfig=FILE`. Explicit --server and
// --token win over the file's, as kubectl's flags do.
import type { ParseArgsConfig } from 'node:util';
import { errorMessage } from '../errors.js';
import type { Flags } from '../flags.js';
import { loadKubeconfig, type KubeconfigConnection } from './kubeconfig.js';

/** The parseFlags options of the three connection flags. */
export const CONNECTION_FLAGS: NonNullable<ParseArgsConfig['options']> = {
  server: { type: 'string' },
  token: { type: 'string' },
  kubeconfig: { type: 'string' },
};

/** The usage lines of the connection flags; `tokenUser` says whose token is expected. */
export function connectionUsage(tokenUser: string): string {
  return `  --server=URL[,URL...]            API server URL(s); requests fail over between them
  --token=TOKEN                    bearer token (${tokenUser})
  --kubeconfig=FILE                kubeconfig: current-context's cluster server, CA and user token
`;
}

/** The servers, token and TLS settings the flags name; a missing server or unreadable file fails the flags (exit 2). */
export function connectionFromFlags(flags: Flags): Pick<KubeconfigConnection, 'servers' | 'token' | 'tls'> {
  let servers = (flags.str('server') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  let token = flags.str('token');
  let tls: KubeconfigConnection['tls'];
  const kubeconfig = flags.str('kubeconfig');
  if (kubeconfig !== undefined) {
    try {
      const kc = loadKubeconfig(kubeconfig);
      if (servers.length === 0) servers = kc.servers;
      token ??= kc.token;
      tls = kc.tls;
    } catch (err) {
      flags.fail(errorMessage(err));
    }
  }
  if (servers.length === 0) flags.fail('--server or --kubeconfig is required');
  return { servers, ...(token !== undefined ? { token } : {}), ...(tls !== undefined ? { tls } : {}) };
}
