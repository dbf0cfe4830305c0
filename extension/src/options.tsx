// Options: the server's address (and the host permission for exactly that server),
// logging in or pasting a token, who is logged in, logging out, and the rules for
// desktop notifications (with a test notification).
import './jitless.js';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ACTION_DESCRIPTIONS, RESOURCE_TYPES, type AuditAction, type ResourceType } from '../../shared/vocabulary.js';
import { login, logout, serverPattern, whoAmI } from './api.js';
import { showTestNotification } from './notify.js';
import { browser } from './platform.js';
import { ACTION_GROUPS, GROUP_LABELS, formatCount, resourceTypeName, type ActionGroup } from './present.js';
import { composeRules, DEFAULT_RULES, normalizeRules, type NotificationRules } from './rules.js';
import { normalizeServerUrl, patternCovers } from './serverUrl.js';
import { loadSettings, saveSettings, type Settings } from './settings.js';
import { SYNC_MESSAGE, tellBackground } from './messages.js';
import { probe, type Probe } from './status.js';
import { errorCode } from './connectionState.js';
import { roleName } from './states.js';
import { RULE_TEXT } from './wording.js';
import { useSettings } from './ui/hooks.js';
import { StateNotice } from './ui/StateNotice.js';
import './style.css';

type Note = { tone: 'ok' | 'error'; text: string } | null;

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

function Options({ initial }: { initial: Settings }) {
  const settings = useSettings(initial);
  const [address, setAddress] = useState(initial.serverUrl ?? '');
  const [granted, setGranted] = useState<string[]>([]);
  const [serverNote, setServerNote] = useState<Note>(null);
  const [loginNote, setLoginNote] = useState<Note>(null);
  const [tokenNote, setTokenNote] = useState<Note>(null);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<Probe | null>(null);

  // Known grants, so the click handler can decide synchronously whether to prompt.
  useEffect(() => {
    const refresh = () => void browser.permissions.getAll().then((p) => setGranted(p.origins ?? []));
    refresh();
    browser.permissions.onAdded.addListener(refresh);
    browser.permissions.onRemoved.addListener(refresh);
    return () => {
      browser.permissions.onAdded.removeListener(refresh);
      browser.permissions.onRemoved.removeListener(refresh);
    };
  }, []);

  useEffect(() => {
    let live = true;
    setStatus(null);
    void probe(settings).then((p) => {
      if (!live) return;
      setStatus(p);
      void tellBackground({ type: SYNC_MESSAGE }).catch((error: unknown) => console.warn('vigil: background', error));
    });
    return () => {
      live = false;
    };
  }, [settings.serverUrl, settings.token]);

  const policy = settings.managed;
  const addressLocked = Boolean(policy?.lockServerUrl);
  // A locked address follows the policy live.
  useEffect(() => {
    if (addressLocked && settings.serverUrl) setAddress(settings.serverUrl);
  }, [addressLocked, settings.serverUrl]);

  const saveServer = (e: Event) => {
    e.preventDefault();
    const check = normalizeServerUrl(address);
    if (!check.ok) {
      setServerNote({ tone: 'error', text: check.message });
      return;
    }
    const pattern = serverPattern(check.url);
    // permissions.request must run in the click itself, before any await.
    const asked = granted.some((g) => patternCovers(g, pattern))
      ? Promise.resolve(true)
      : browser.permissions.request({ origins: [pattern] });
    void asked.then(
      async (ok) => {
        if (!ok) {
          setServerNote({ tone: 'error', text: `Access to ${check.origin} was not granted, so Vigil cannot reach the server.` });
          return;
        }
        const previous = settings.serverUrl;
        const changed = previous !== check.url;
        await saveSettings({ serverUrl: check.url, ...(changed ? { token: undefined, session: undefined } : {}) });
        if (changed && previous) {
          const old = serverPattern(previous);
          if (old !== pattern) await browser.permissions.remove({ origins: [old] }).catch(() => false);
        }
        setAddress(check.url);
        setServerNote({ tone: 'ok', text: `Saved. Vigil may reach ${check.origin}.` });
      },
      (error: unknown) => setServerNote({ tone: 'error', text: `Could not ask for access: ${String(error)}` }),
    );
  };

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
    <main class="options">
      <h1 class="brand">Vigil options</h1>

      <section aria-labelledby="server-h">
        <h2 id="server-h">Server</h2>
        <form onSubmit={saveServer} class="row">
          <label for="server">Address</label>
          <input
            id="server"
            type="url"
            inputMode="url"
            placeholder="https://vigil.example.com"
            value={address}
            onInput={(e) => setAddress(e.currentTarget.value)}
            autocomplete="url"
            spellcheck={false}
            readOnly={addressLocked}
            aria-describedby={policy?.serverUrl ? 'server-managed' : undefined}
          />
          {!addressLocked && (
            <button class="button primary" type="submit">
              Save
            </button>
          )}
        </form>
        {policy?.serverUrl && (
          <p class="hint" id="server-managed" data-managed={addressLocked ? 'locked' : 'suggested'}>
            {addressLocked ? 'Set by your organization.' : `Your organization suggests ${policy.serverUrl}.`}
          </p>
        )}
        {policy?.notices.map((notice) => (
          <p class="note error" role="alert" data-policy-notice key={notice}>
            {notice}
          </p>
        ))}
        <p class="hint">Vigil asks the browser for access to this server only.</p>
        {serverNote && <Note note={serverNote} id="server-note" />}
      </section>

      {settings.serverUrl && (
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
      )}

      <NotificationRulesSection initial={normalizeRules(initial.notifyRules)} locked={Boolean(policy?.lockNotificationRules)} />

      <section aria-labelledby="status-h">
        <h2 id="status-h">Status</h2>
        <div data-status={status?.state.id ?? 'loading'}>
          {!status ? (
            <p class="hint">Checking…</p>
          ) : status.state.id === 'ready' || status.state.id === 'empty' ? (
            <p class="ok-line" role="status">
              Connected to {settings.serverUrl}: {status.count ? formatCount(status.count) : 'no events'} in the audit log.
            </p>
          ) : (
            <StateNotice
              state={status.state}
              labels={{ options: 'Go to the form above' }}
              onFix={(fix) => {
                if (fix === 'retry') void probe(settings).then(setStatus);
                else document.getElementById(settings.serverUrl ? 'username' : 'server')?.focus();
              }}
            />
          )}
        </div>
      </section>
    </main>
  );
}

function toggled<T>(list: readonly T[], value: T): T[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

/** Which events raise a desktop notification: actions, resource types, an extra query. */
function NotificationRulesSection({ initial, locked }: { initial: NotificationRules; locked: boolean }) {
  const [rules, setRules] = useState(initial);
  const [note, setNote] = useState<Note>(null);
  const check = composeRules(rules);
  const edit = (patch: Partial<NotificationRules>) => {
    setRules({ ...rules, ...patch });
    setNote(null);
  };

  const save = async (e: Event) => {
    e.preventDefault();
    if (!check.ok) {
      setNote({ tone: 'error', text: check.message });
      return;
    }
    await saveSettings({ notifyRules: { ...rules, query: rules.query.trim() } });
    setNote({ tone: 'ok', text: check.q === null ? RULE_TEXT.savedOff : RULE_TEXT.saved });
  };

  const sendTest = async () => {
    try {
      await showTestNotification(check.ok ? check.q : null);
      setNote({ tone: 'ok', text: RULE_TEXT.testSent });
    } catch (error) {
      setNote({ tone: 'error', text: RULE_TEXT.testFailed(error instanceof Error ? error.message : String(error)) });
    }
  };

  return (
    <section aria-labelledby="notify-h">
      <h2 id="notify-h">Notifications</h2>
      <p class="hint">
        A desktop notification for each new event matching these rules (more than 5 at once make one summary). The toolbar badge
        counts them until you open the popup.
      </p>
      {locked && (
        <p class="hint" data-managed="locked">
          Set by your organization.
        </p>
      )}
      <form onSubmit={save} class="rules" aria-label="Notification rules">
        <fieldset disabled={locked}>
          <legend>Actions</legend>
          {(Object.keys(ACTION_GROUPS) as ActionGroup[]).map((group) => (
            <div class="check-row" key={group}>
              <span class="check-group">{GROUP_LABELS[group]}</span>
              {ACTION_GROUPS[group].map((action: AuditAction) => (
                <label class="check" key={action} title={ACTION_DESCRIPTIONS[action]}>
                  <input
                    type="checkbox"
                    data-notify-action={action}
                    checked={rules.actions.includes(action)}
                    onChange={() => edit({ actions: toggled(rules.actions, action) })}
                  />
                  {action.replace(/_/g, ' ')}
                </label>
              ))}
            </div>
          ))}
        </fieldset>
        <fieldset disabled={locked}>
          <legend>Resource types (none ticked: any)</legend>
          <div class="check-row">
            {RESOURCE_TYPES.map((type: ResourceType) => (
              <label class="check" key={type}>
                <input
                  type="checkbox"
                  data-notify-type={type}
                  checked={rules.resourceTypes.includes(type)}
                  onChange={() => edit({ resourceTypes: toggled(rules.resourceTypes, type) })}
                />
                {resourceTypeName(type)}
              </label>
            ))}
          </div>
        </fieldset>
        <label for="notify-query">Only events also matching (optional)</label>
        <input
          id="notify-query"
          placeholder="e.g. -username:deploy-bot"
          spellcheck={false}
          autocomplete="off"
          value={rules.query}
          readOnly={locked}
          aria-invalid={check.ok ? 'false' : 'true'}
          aria-describedby="notify-query-error"
          onInput={(e) => edit({ query: e.currentTarget.value })}
        />
        {!check.ok && (
          <p class="note error" id="notify-query-error" role="alert" data-rules-error>
            {check.message}
          </p>
        )}
        {check.ok && check.q === null && <p class="note error" data-rules-off>{RULE_TEXT.off}</p>}
        <p class="hint">
          The server is asked for: <code data-rules-query>{check.ok && check.q !== null ? check.q : '—'}</code>
        </p>
        <div class="row">
          <button class="button primary" type="submit" id="notify-save" disabled={locked}>
            Save rules
          </button>
          <button class="button" type="button" id="notify-test" onClick={sendTest}>
            Send test notification
          </button>
          <button class="button subtle" type="button" disabled={locked} onClick={() => edit({ ...DEFAULT_RULES, actions: [...DEFAULT_RULES.actions] })}>
            Defaults
          </button>
        </div>
        {note && <Note note={note} id="notify-note" />}
      </form>
    </section>
  );
}

function Note({ note, id }: { note: NonNullable<Note>; id: string }) {
  return (
    <p class={`note ${note.tone}`} id={id} role={note.tone === 'error' ? 'alert' : 'status'}>
      {note.text}
    </p>
  );
}

void loadSettings().then((settings) => render(<Options initial={settings} />, document.getElementById('app')!));
