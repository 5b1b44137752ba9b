// `cellctl version`: this client's version and the API server's (`/version`, the same document
// kubectl reads). The client line is printed even when the server cannot be reached.
import type { Cli } from '../context.js';
import { clientVersion } from '../context.js';
import { parseOutputFormat, toJson, toYaml } from '../output/printers.js';

interface ServerVersion {
  gitVersion?: string;
  major?: string;
  minor?: string;
  platform?: string;
  [k: string]: unknown;
}

export async function runVersion(cli: Cli, o: { client?: boolean; output?: string }): Promise<number> {
  const format = parseOutputFormat(o.output, ['table', 'json', 'yaml']);
  const client = { gitVersion: clientVersion(), nodeVersion: process.version, platform: `${process.platform}/${process.arch}` };
  if (format.kind === 'table') cli.print(`Client Version: ${client.gitVersion}\n`);
  if (o.client) {
    if (format.kind === 'json') cli.print(toJson({ clientVersion: client }));
    if (format.kind === 'yaml') cli.print(toYaml({ clientVersion: client }));
    return 0;
  }
  const server = await cli.client.request<ServerVersion>('GET', '/version');
  if (format.kind === 'json') cli.print(toJson({ clientVersion: client, serverVersion: server }));
  else if (format.kind === 'yaml') cli.print(toYaml({ clientVersion: client, serverVersion: server }));
  else cli.print(`Server Version: ${server.gitVersion ?? 'unknown'}\n`);
  return 0;
}
