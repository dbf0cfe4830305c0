// Whether these settings can read the audit log now, and the way out when they cannot.
// What it finds, the background hears too (it repaints the toolbar badge).
import { useEffect, useState } from 'preact/hooks';
import { SYNC_MESSAGE, tellBackground } from '../messages.js';
import { formatCount } from '../present.js';
import { probe, type Probe } from '../status.js';
import { StateNotice } from '../ui/StateNotice.js';
import type { SectionProps } from './sections.js';

export function StatusSection({ settings }: SectionProps) {
  const [status, setStatus] = useState<Probe | null>(null);

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

  return (
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
  );
}
