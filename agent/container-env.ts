// What a container process sees: its environment and argv. There is no image, so the command line
// is `command` followed by `args`, and the environment is a small base (PATH, HOME, HOSTNAME) plus
// the container's `env` — never the agent's own environment, which may hold its credentials.
// `$(VAR)` references in env values, command and args expand as Kubernetes expands them.
import type { Container, Pod } from '../shared/api/core.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Kubernetes' expansion: `$(NAME)` becomes NAME's value when NAME is defined and stays as written
 * otherwise; `$$` is an escaped `$` (so `$$(NAME)` is the literal text `$(NAME)`).
 */
export function expandVars(text: string, env: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '$' || i + 1 >= text.length) {
      out += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = text.indexOf(')', i + 2);
      if (close < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, close);
      out += Object.prototype.hasOwnProperty.call(env, name) ? env[name] : text.slice(i, close + 1);
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

/** The environment of one container: the base, then `env` in order (each may refer to earlier ones). */
export function containerEnv(pod: Pick<Pod, 'metadata'>, container: Container, workDir: string): Record<string, string> {
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  env.PATH = process.env.PATH || DEFAULT_PATH;
  env.HOME = workDir;
  env.HOSTNAME = pod.metadata.name ?? '';
  for (const v of container.env ?? []) env[v.name] = expandVars(v.value ?? '', env);
  return { ...env };
}

/** `command` + `args`, expanded against the container's environment. */
export function containerArgv(container: Container, env: Readonly<Record<string, string>>): string[] {
  return [...(container.command ?? []), ...(container.args ?? [])].map((a) => expandVars(a, env));
}
