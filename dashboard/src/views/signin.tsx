// The only page served without a token: paste one, it is checked with a SelfSubjectReview and
// kept for this tab only.
import { useState } from 'preact/hooks';
import { ApiError, whoAmI, type WhoAmI } from '../api.js';

export function SignIn(props: { notice?: string; onSignedIn(token: string, who: WhoAmI): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const signIn = async (t: string) => {
    setBusy(true);
    setError(undefined);
    try {
      props.onSignedIn(t, await whoAmI(t));
    } catch (err) {
      setError(err instanceof ApiError && err.code === 401 ? 'The API server did not accept that token.' : `Could not sign in: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <h1>cell</h1>
      <p>Sign in with a bearer token from the API server's token file (<code>--token-auth-file</code>). On a cluster started with <code>npm start</code>, use the admin token it prints. The token is kept in this tab only.</p>
      {props.notice && <p class="notice" role="status">{props.notice}</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void signIn(token.trim());
        }}
      >
        <label for="token">Bearer token</label>
        <input id="token" name="token" type="password" autocomplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>Sign in</button>
      </form>
      <p class="hint">
        A server started without authentication (loopback only) needs none:{' '}
        <button type="button" class="linkish" disabled={busy} onClick={() => void signIn('')}>continue without a token</button>.
      </p>
      {error && <p class="error" role="alert">{error}</p>}
    </main>
  );
}
