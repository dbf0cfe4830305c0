// A secret the server answers once (a service token) or the page chose once (a password):
// shown with a copy button until dismissed, then gone from the page.
import { useState } from 'preact/hooks';
import { ADMIN_TEXT } from '../../wording.js';

export function OnceSecret(props: { label: string; secret: string; onDone(): void }) {
  const [copied, setCopied] = useState(false);
  const copy = () =>
    navigator.clipboard.writeText(props.secret).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return (
    <div class="once-secret" role="status">
      <p>{props.label}</p>
      <div class="once-row">
        <code data-secret>{props.secret}</code>
        <button type="button" class="button" onClick={copy}>
          {copied ? ADMIN_TEXT.copied : ADMIN_TEXT.copy}
        </button>
        <button type="button" class="button subtle" onClick={props.onDone}>
          {ADMIN_TEXT.dismiss}
        </button>
      </div>
    </div>
  );
}

/** The line under a form: what was done, or the server's refusal. */
export function OutcomeLine({ outcome }: { outcome: { ok: boolean; text: string } | null }) {
  if (!outcome) return null;
  return (
    <p class={outcome.ok ? 'admin-outcome ok-line' : 'admin-outcome refused'} role={outcome.ok ? 'status' : 'alert'} data-outcome={outcome.ok ? 'ok' : 'refused'}>
      {outcome.text}
    </p>
  );
}
