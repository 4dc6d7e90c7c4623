import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorNote } from '../components';

/** The admin token in, a session cookie out (HttpOnly: the page never keeps the token). */
export function LoginPage({ onLoggedIn }: { onLoggedIn: (session: { expiresAt: string }) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      onLoggedIn(await api<{ expiresAt: string }>('POST', '/session', { token }));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="login">
      <h1>Sluice console</h1>
      <form onSubmit={submit}>
        <label for="admin-token">Admin token</label>
        <input id="admin-token" name="token" type="password" autocomplete="current-password" required value={token} onInput={(e) => setToken(e.currentTarget.value)} aria-describedby="admin-token-hint" />
        <p id="admin-token-hint" class="hint">
          SLUICE_ADMIN_TOKEN, or the token <code>sluice start</code> printed on its first run.
        </p>
        <ErrorNote error={error} />
        <button type="submit" disabled={busy}>Log in</button>
      </form>
    </main>
  );
}
