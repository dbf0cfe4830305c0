// The server's address, and the host permission for exactly that server.
import { useEffect, useState } from 'preact/hooks';
import { serverPattern } from '../api.js';
import { browser } from '../platform.js';
import { normalizeServerUrl, patternCovers } from '../serverUrl.js';
import { saveSettings } from '../settings.js';
import { Note, type NoteValue } from './Note.js';
import { useGrantedOrigins } from './useGrantedOrigins.js';
import type { SectionProps } from './sections.js';

export function ServerSection({ settings, initial }: SectionProps) {
  const [address, setAddress] = useState(initial.serverUrl ?? '');
  const granted = useGrantedOrigins();
  const [note, setNote] = useState<NoteValue>(null);
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
      setNote({ tone: 'error', text: check.message });
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
          setNote({ tone: 'error', text: `Access to ${check.origin} was not granted, so Vigil cannot reach the server.` });
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
        setNote({ tone: 'ok', text: `Saved. Vigil may reach ${check.origin}.` });
      },
      (error: unknown) => setNote({ tone: 'error', text: `Could not ask for access: ${String(error)}` }),
    );
  };

  return (
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
      {note && <Note note={note} id="server-note" />}
    </section>
  );
}
