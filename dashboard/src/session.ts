// The signed-in user's bearer token, kept in sessionStorage: it lives as long as the tab and is
// never written to disk by the page. Signing out (or any 401) clears it.
const KEY = 'cell.dashboard.token';

/** '' = signed in without a token (a server without authentication); undefined = signed out. */
export function loadToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}
