// Every field of one event.
import type { AuditEvent } from '../../../shared/event.js';
import { ACTION_DESCRIPTIONS } from '../../../shared/vocabulary.js';
import { absoluteTime, eventSentence, groupOf, sentenceText } from '../present.js';
import { OUTCOME_WORDS } from '../wording.js';
import type { Settings } from '../settings.js';
import { DiffTable } from './DiffTable.js';
import { InclusionCheck } from './InclusionCheck.js';

function Field({ name, children }: { name: string; children: preact.ComponentChildren }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{children ?? <span class="none">—</span>}</dd>
    </>
  );
}

export function Detail({ event, settings, onClose }: { event: AuditEvent; settings: Settings; onClose(): void }) {
  const diff = Object.keys(event.diff ?? {}).length;
  const metadata = Object.keys(event.metadata ?? {}).length;
  const sentence = eventSentence(event);
  return (
    <aside class="detail" aria-label="Event detail" data-detail-id={event.id}>
      <div class="detail-head">
        <h2>
          <span class={`tag group-${groupOf(event.action)} outcome-${sentence.outcome}`}>{event.action}</span>{' '}
          <span class={`detail-sentence outcome-${sentence.outcome}`} data-outcome={sentence.outcome}>
            {sentenceText(sentence)}
          </span>
        </h2>
        <button type="button" class="button subtle icon" aria-label="Close detail" onClick={onClose}>
          ✕
        </button>
      </div>
      <InclusionCheck event={event} settings={settings} />
      <dl class="fields">
        <Field name="time">
          <time dateTime={event.time}>{absoluteTime(event.time)}</time> <code>{event.time}</code>
        </Field>
        <Field name="recorded">
          <code>{event.recordedAt}</code>
        </Field>
        <Field name="action">
          {event.action} — {ACTION_DESCRIPTIONS[event.action]}
        </Field>
        <Field name="resource type">{event.resourceType}</Field>
        <Field name="resource target">{event.resourceTarget}</Field>
        <Field name="resource id">{event.resourceId && <code>{event.resourceId}</code>}</Field>
        <Field name="actor">{event.actor ? event.actor.username : 'system'}</Field>
        <Field name="actor email">{event.actor?.email}</Field>
        <Field name="actor id">{event.actor?.id && <code>{event.actor.id}</code>}</Field>
        <Field name="ip">{event.ip && <code>{event.ip}</code>}</Field>
        <Field name="user agent">{event.userAgent}</Field>
        <Field name="outcome">
          <span class={OUTCOME_WORDS[sentence.outcome].done ? undefined : 'outcome'}>{OUTCOME_WORDS[sentence.outcome].status(event.statusCode)}</span>
        </Field>
        <Field name="request id">{event.requestId && <code>{event.requestId}</code>}</Field>
        <Field name="event id">
          <code>{event.id}</code>
        </Field>
        <Field name="sequence">{event.seq}</Field>
      </dl>
      <h3>Changes</h3>
      {diff ? <DiffTable diff={event.diff} /> : <p class="none">No field changes recorded.</p>}
      <h3>Metadata</h3>
      {metadata ? <pre class="metadata">{JSON.stringify(event.metadata, null, 2)}</pre> : <p class="none">None.</p>}
    </aside>
  );
}
