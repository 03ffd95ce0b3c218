import { useState } from 'preact/hooks';
import { api, errorMessage, setSession } from '../../api';
import { Button, ErrorBox, Field } from '../../components/ui';
import { useTitle } from '../../hooks';
import type { Me } from '../../lib/types';

export function LoginPage({ onLogin }: { onLogin: (me: Me) => void }) {
  useTitle('Sign in');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const me = await api.post<Me>('/login', { user, password });
      setSession(me);
      onLogin(me);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div class="brand brand-big">
          <svg viewBox="0 0 32 32" width="40" height="40" aria-hidden="true"><circle cx="16" cy="16" r="14" class="brand-c" /><circle cx="12" cy="14" r="5" class="brand-i" /><circle cx="21" cy="18" r="3.5" class="brand-i2" /></svg>
          <span>tracehound</span>
        </div>
        <h1 id="login-title">Sign in</h1>
        <Field label="User">
          <input name="user" autocomplete="username" required value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} autoFocus />
        </Field>
        <Field label="Password">
          <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </Field>
        <ErrorBox error={error} />
        <Button kind="primary" type="submit" busy={busy}>Sign in</Button>
        <p class="muted small">The first start printed the admin's one-time password. Lost it? Run <code>tracehound users passwd admin</code> on the server.</p>
      </form>
    </div>
  );
}

/** PasswordChange asks a user signed in with a one-time password for their own. */
export function PasswordChange({ me, onDone }: { me: Me; onDone: () => void }) {
  useTitle('Choose a password');
  const [pw, setPw] = useState('');
  const [pw2, setPw2] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (pw !== pw2) {
      setError('The two passwords differ.');
      return;
    }
    setBusy(true);
    try {
      await api.put(`/users/${encodeURIComponent(me.user || me.name)}/password`, { password: pw });
      onDone();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login">
      <form class="login-card" onSubmit={submit}>
        <h1>Choose your password</h1>
        <p>You signed in with a one-time password. Set your own to continue.</p>
        <Field label="New password"><input type="password" autocomplete="new-password" required minLength={8} value={pw} onInput={(e) => setPw((e.target as HTMLInputElement).value)} /></Field>
        <Field label="Repeat it"><input type="password" autocomplete="new-password" required value={pw2} onInput={(e) => setPw2((e.target as HTMLInputElement).value)} /></Field>
        <ErrorBox error={error} />
        <Button kind="primary" type="submit" busy={busy}>Save and continue</Button>
      </form>
    </div>
  );
}
