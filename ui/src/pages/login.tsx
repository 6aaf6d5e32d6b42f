/**
 * Log in: a one-time code from `codex-sm open` (in the URL fragment, taken and removed at
 * start) or a token pasted once. Either is exchanged for an HttpOnly session cookie; the token
 * is never stored by the page.
 */
import { useState } from 'preact/hooks';
import { login, message } from '../api';
import { Button, ErrorLine } from '../ui';

export function LoginPage(props: { error?: string | null }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(props.error ?? null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login({ token: token.trim() });
      setToken('');
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <h1>codex-sm</h1>
      <form class="card" onSubmit={(e) => void submit(e)}>
        <label class="field">
          <span>Token</span>
          <input
            name="token"
            type="password"
            autoComplete="off"
            autoFocus
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            placeholder="paste a token"
          />
        </label>
        <Button type="submit" kind="primary" disabled={busy || !token.trim()}>
          Log in
        </Button>
        <ErrorLine error={error} />
        <p class="muted">
          Or run <code>codex-sm open --qr</code> on the box and scan the code: it logs this browser
          in once, without a token.
        </p>
      </form>
    </main>
  );
}
