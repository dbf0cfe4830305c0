// Options: the server's history as this browser witnessed it — the pinned key's
// fingerprint, the newest verified tree head, and a standing "History changed" alarm with
// its evidence (for export) and the explicit acknowledgement that clears it.
import { useEffect, useState } from 'preact/hooks';
import { browser } from '../platform.js';
import { keyFingerprint } from '../witness.js';
import { acknowledgeHistoryAlarm, loadWitness, type StoredWitness } from '../witnessSync.js';
import type { SectionProps } from './sections.js';

export function WitnessSection({ settings }: SectionProps) {
  const [witness, setWitness] = useState<StoredWitness | undefined>(undefined);
  useEffect(() => {
    const refresh = () => void loadWitness().then(setWitness);
    refresh();
    const listener = (changes: Record<string, unknown>, area: string) => {
      if (area === 'local' && 'witness' in changes) refresh();
    };
    browser.storage.onChanged.addListener(listener);
    return () => browser.storage.onChanged.removeListener(listener);
  }, []);
  if (!witness || witness.serverUrl !== settings.serverUrl) return null;
  const { state } = witness;
  const alarm = state.alarm;
  const evidenceUrl = alarm
    ? `data:application/json;charset=utf-8,${encodeURIComponent(JSON.stringify({ serverUrl: witness.serverUrl, pinnedKey: state.pinnedKey, alarm }, null, 2))}`
    : null;
  return (
    <section aria-labelledby="witness-h" data-witness={alarm ? 'alarm' : 'ok'}>
      <h2 id="witness-h">Server history</h2>
      {state.pinnedKey && (
        <p class="hint">
          This browser checks that the server never rewrites its history. Signing key: <code data-key-fingerprint>{keyFingerprint(state.pinnedKey)}</code>
          {state.head ? (
            <>
              ; verified up to <strong data-verified-size>{state.head.treeSize}</strong> events.
            </>
          ) : (
            '.'
          )}
        </p>
      )}
      {alarm && (
        <div class="note error" role="alert" data-history-alarm={alarm.reason}>
          <p>
            <strong>History changed.</strong> {alarm.message} (seen {new Date(alarm.at).toLocaleString()})
          </p>
          <p class="row">
            <a class="button" href={evidenceUrl!} download="vigil-history-evidence.json">
              Export evidence
            </a>
            <button class="button" type="button" onClick={() => void acknowledgeHistoryAlarm(settings)}>
              {alarm.reason === 'keyChanged' ? 'Trust the new key' : 'Acknowledge'}
            </button>
          </p>
        </div>
      )}
    </section>
  );
}
