// Authentication by bearer token from a Kubernetes static token file (`--token-auth-file`):
// CSV lines `token,user,uid,"group1,group2"`.
import { readFileSync } from 'node:fs';
import { BadRequestError, UnauthorizedError } from '../../shared/errors.js';

export interface UserInfo {
  name: string;
  uid: string;
  groups: string[];
  /** What else the authenticator knows (a service account token's pod), as SelfSubjectReview shows it. */
  extra?: Record<string, string[]>;
}

/** Used when the server runs without a token file (loopback only). */
export const ANONYMOUS_ADMIN: UserInfo = { name: 'system:admin', uid: '', groups: ['system:masters'] };

/** Split one CSV line, honouring double quotes (`"a,b"`) and doubled quotes inside them. */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new BadRequestError('unterminated quote');
  fields.push(cur);
  return fields.map((f) => f.trim());
}

export class TokenAuthenticator {
  private readonly users = new Map<string, UserInfo>();

  static fromFile(path: string): TokenAuthenticator {
    return TokenAuthenticator.fromCsv(readFileSync(path, 'utf8'), path);
  }

  static fromCsv(text: string, source = 'token file'): TokenAuthenticator {
    const auth = new TokenAuthenticator();
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      let fields: string[];
      try {
        fields = splitCsvLine(line);
      } catch {
        throw new BadRequestError(`${source}:${i + 1}: unterminated quote`);
      }
      const [token, name, uid, groups] = fields;
      if (!token || !name) throw new BadRequestError(`${source}:${i + 1}: need at least token,user`);
      const listed = (groups ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '');
      auth.users.set(token, {
        name,
        uid: uid ?? '',
        // Every authenticated user is in system:authenticated, as in Kubernetes (RBAC binds discovery to it).
        groups: listed.includes('system:authenticated') ? listed : [...listed, 'system:authenticated'],
      });
    });
    return auth;
  }

  /** The user a token stands for; undefined when the file does not list it. */
  lookup(token: string): UserInfo | undefined {
    return this.users.get(token);
  }
}

/** The token of an `Authorization: Bearer <token>` header; 401 for any other header. */
export function bearerToken(header: string): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new UnauthorizedError('Unauthorized');
  return match[1]!;
}
