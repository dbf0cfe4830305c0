// The detail pane's proof that the event shown is in the history this browser verified
// (an RFC 9162 inclusion proof against the held tree head). A failed proof is a
// "History changed" alarm like any other the witness raises.
import { useEffect, useState } from 'preact/hooks';
import type { AuditEvent } from '../../../shared/event.js';
import type { Settings } from '../settings.js';
import { checkInclusion, type InclusionOutcome } from '../witness.js';
import { loadWitness, raiseInclusionAlarm, treeApiOf } from '../witnessSync.js';

type Shown = InclusionOutcome | { kind: 'checking' } | { kind: 'noHead' } | { kind: 'failed'; message: string };

export function InclusionCheck({ event, settings }: { event: AuditEvent; settings: Settings }) {
  const [shown, setShown] = useState<Shown>({ kind: 'checking' });
  useEffect(() => {
    let live = true;
    setShown({ kind: 'checking' });
    void (async () => {
      const witness = await loadWitness();
      const head = witness && witness.serverUrl === settings.serverUrl ? witness.state.head : undefined;
      if (!head || !settings.serverUrl) return live && setShown({ kind: 'noHead' });
      const outcome = await checkInclusion(event, head, treeApiOf(settings));
      if (outcome.kind === 'notIncluded') await raiseInclusionAlarm(settings, event.id, outcome.proof);
      if (live) setShown(outcome);
    })().catch((error: unknown) => live && setShown({ kind: 'failed', message: error instanceof Error ? error.message : String(error) }));
    return () => {
      live = false;
    };
  }, [event.id, settings.serverUrl, settings.token]);
  const text: Record<Shown['kind'], string> = {
    checking: 'Checking this event against the history this browser verified…',
    included: 'Verified: this event, exactly as shown, is in the server history this browser verified.',
    pending: 'Newer than the history this browser verified last; it is checked again at the next sync.',
    removed: 'Removed by retention since it was listed: its place in the verified history stays, the event itself is no longer stored.',
    notIncluded: 'History changed: this event, as shown, is NOT in the history this browser verified.',
    noHead: 'This browser holds no verified history of this server yet.',
    failed: 'Could not check this event against the verified history.',
  };
  return (
    <p class={`inclusion ${shown.kind === 'notIncluded' ? 'note error' : 'hint'}`} data-inclusion={shown.kind} role={shown.kind === 'notIncluded' ? 'alert' : 'status'}>
      {text[shown.kind]}
      {shown.kind === 'included' ? ` (leaf ${shown.leafIndex + 1})` : ''}
    </p>
  );
}
