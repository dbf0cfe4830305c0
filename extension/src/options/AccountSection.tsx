// Logging in or pasting a token, who is logged in, logging out (once a server is set).
import { useState } from 'preact/hooks';
import { login, logout, serverPattern, whoAmI } from '../api.js';
import { errorCode } from '../connectionState.js';
import { browser } from '../platform.js';
import { patternCovers } from '../serverUrl.js';
import { saveSettings } from '../settings.js';
import { roleName } from '../states.js';
import { Note, type NoteValue } from './Note.js';
import { useGrantedOrigins } from './useGrantedOrigins.js';
import type { SectionProps } from './sections.js';

function loginFailure(error: unknown): string {
  switch (errorCode(error)) {
    case 'UNAUTHORIZED':
      return 'Wrong user name or password.';
    case 'TOO_MANY_REQUESTS':
      return 'Too many attempts. Wait a minute and try again.';
    case 'NOT_FOUND':
      return 'This server does not offer password login. Paste a token instead.';
    case 'BAD_REQUEST':
      return error instanceof Error ? error.message : 'The server refused the request.';
    case undefined:
      return 'The server did not answer. Check the address and that the server is running.';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

export function AccountSection({ settings }: SectionProps) {
  const [loginNote, setLoginNote] = useState<NoteValue>(null);
  const [tokenNote, setTokenNote] = useState<NoteValue>(null);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const granted = useGrantedOrigins();
  if (!settings.serverUrl) return null;

  const submitLogin = (e: Event) => {
    e.preventDefault();
    const serverUrl = settings.serverUrl;
    if (!serverUrl) return;
    // An address set by policy was never saved here, so access to it may not be granted
    // yet: ask in the click itself, before any await.
    const pattern = serverPattern(serverUrl);
    const asked = granted.some((g) => patternCovers(g, pattern)) ? Promise.resolve(true) : browser.permissions.request({ origins: [pattern] });
    void asked.then(
      (ok) => {
        if (ok) return loginTo(serverUrl);
        setLoginNote({ tone: 'error', text: `Access to ${new URL(serverUrl).origin} was not granted, so Vigil cannot reach the server.` });
      },
      (error: unknown) => setLoginNote({ tone: 'error', text: `Could not ask for access: ${String(error)}` }),
    );
  };

  const loginTo = async (serverUrl: string) => {
    setBusy(true);
    setLoginNote(null);
    try {
      const answer = await login(serverUrl, username.trim(), password);
      await saveSettings({ token: answer.token, session: { kind: 'user', user: answer.user, expiresAt: answer.expiresAt } });
      setPassword('');
      setLoginNote({ tone: 'ok', text: `Logged in as ${answer.user.username}.` });
    } catch (error) {
      setLoginNote({ tone: 'error', text: loginFailure(error) });
    } finally {
      setBusy(false);
    }
  };

  const submitToken = async (e: Event) => {
    e.preventDefault();
    if (!settings.serverUrl) return;
    const value = token.trim();
    if (!value) {
      setTokenNote({ tone: 'error', text: 'Paste a token first.' });
      return;
    }
    setBusy(true);
    setTokenNote(null);
    try {
      const session = await whoAmI(settings.serverUrl, value);
      await saveSettings({ token: value, session });
      setToken('');
      setTokenNote({ tone: 'ok', text: 'Token saved.' });
    } catch (error) {
      setTokenNote({
        tone: 'error',
        text: errorCode(error) === 'UNAUTHORIZED' ? 'The server rejected this token.' : loginFailure(error),
      });
    } finally {
      setBusy(false);
    }
  };

  const doLogout = async () => {
    setBusy(true);
    if (settings.serverUrl && settings.token) await logout(settings.serverUrl, settings.token).catch(() => {});
    await saveSettings({ token: undefined, session: undefined });
    setLoginNote(null);
    setTokenNote(null);
    setBusy(false);
  };

  const session = settings.session;
  return (
    <section aria-labelledby="account-h">
      <h2 id="account-h">Account</h2>
      {settings.token ? (
        <div class="row" data-session>
          <p class="who">
            {session?.kind === 'user' ? (
              <>
                Logged in as <strong data-username>{session.user.username}</strong>
                {session.user.email ? ` (${session.user.email})` : ''} with the{' '}
                <strong data-role>{roleName(session.user.role)}</strong> role
                {session.expiresAt ? `, until ${new Date(session.expiresAt).toLocaleString()}` : ''}.
              </>
            ) : (
              <>
                Using a pasted <strong data-role>service token</strong>
                {session?.kind === 'service' && session.name ? ` (${session.name})` : ''}.
              </>
            )}
          </p>
          <button class="button" type="button" onClick={doLogout} disabled={busy}>
            Log out
          </button>
        </div>
      ) : (
        <>
          <form onSubmit={submitLogin} class="stack" aria-label="Log in">
            <label for="username">User name</label>
            <input id="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
            <label for="password">Password</label>
            <input
              id="password"
              type="password"
              autocomplete="current-password"
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
              required
            />
            <button class="button primary" type="submit" disabled={busy}>
              Log in
            </button>
            {loginNote && <Note note={loginNote} id="login-note" />}
          </form>
          <form onSubmit={submitToken} class="stack" aria-label="Use a token">
            <label for="token">Or paste a token</label>
            <input id="token" type="password" autocomplete="off" spellcheck={false} value={token} onInput={(e) => setToken(e.currentTarget.value)} />
            <button class="button" type="submit" disabled={busy}>
              Use token
            </button>
            {tokenNote && <Note note={tokenNote} id="token-note" />}
          </form>
        </>
      )}
    </section>
  );
}
